// The dashboard in a real browser (Chromium through playwright-core) against the app on a real socket:
// htmx 4's SSE extension connects the panel and swaps each tick's out-of-band elements into two tabs, under
// the CSP of the `nex` preset (violations are recorded and must stay none).
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { byTestId, launchBrowser, newSession, onlyOwnScriptFiles, pageScripts, serve, waitForHtmx } from '../../../test/helpers/browser.ts'

const PRICE = /^\d+\.\d{2}$/
const TIME = /^\d{2}:\d{2}:\d{2} UTC$/
/** A tick comes every second; a few seconds is plenty even on a loaded machine. */
const TICK_WAIT_MS = 3_000

/**
 * The page's script elements, each as its `src` (`inline` when it has none), with ` nonce` added when it
 * carries a nonce attribute: under the strict CSP every one must be a bare `/_nex/…` file of this site.
 */

const browser = await launchBrowser(t)
const server = await build({ logger: false })
const base = await serve(t, server)

/**
 * Records, in every page of a context, the CSP violations the browser reports (`securitypolicyviolation`),
 * as `<directive> <blocked URI> <sample>`; Chromium logs them as console errors too. Init scripts are
 * injected by the browser itself, so the CSP does not apply to this one.
 */
const WATCH_CSP = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', event => {
  window.__cspViolations.push(event.effectiveDirective + ' ' + event.blockedURI + ' ' + event.sample)
}, true)`

/** Opens the dashboard; resolves with the page's Content-Security-Policy header. */
async function open (page: Page): Promise<string | undefined> {
  const response = await page.goto(`${base}/`)
  await waitForHtmx(page)
  return response?.headers()['content-security-policy']
}

async function text (page: Page, testId: string): Promise<string> {
  return (await byTestId(page, testId).textContent() ?? '').trim()
}

/** Data points and price of both tabs, read at (nearly) the same moment. */
async function sample (a: Page, b: Page): Promise<Array<{ points: string, price: string }>> {
  return await Promise.all([a, b].map(async page => {
    const [points, price] = await Promise.all([text(page, 'energy-data-points'), text(page, 'energy-price')])
    return { points, price }
  }))
}

t.test('two tabs: the price arrives, the time ticks, both show the same second', async t => {
  const session = await newSession(t, browser)
  await session.context.addInitScript(WATCH_CSP)
  const a = await session.newPage()
  const b = await session.newPage()
  for (const csp of await Promise.all([open(a), open(b)])) {
    t.match(csp, /script-src 'self'; script-src-attr 'none'/, 'the page is under the strict CSP: scripts from this site only')
    t.notMatch(csp, /'nonce-|'unsafe-/, 'with no nonce and nothing unsafe')
  }
  for (const [name, page] of [['a', a], ['b', b]] as const) {
    const scripts = await pageScripts(page)
    t.ok(onlyOwnScriptFiles(scripts), `tab ${name}: every script is a file of this site, none inline, none with a nonce: ${JSON.stringify(scripts)}`)
  }
  for (const page of [a, b]) await page.evaluate('window.__marker = 1')

  for (const [name, page] of [['a', a], ['b', b]] as const) {
    await byTestId(page, 'energy-price').filter({ hasText: PRICE }).waitFor({ timeout: TICK_WAIT_MS })
    t.match(await text(page, 'energy-price'), PRICE, `tab ${name}: a price, no longer "Loading..."`)
    const first = await text(page, 'energy-time')
    t.match(first, TIME, `tab ${name}: the time`)
    await byTestId(page, 'energy-time').filter({ hasNotText: first }).waitFor({ timeout: TICK_WAIT_MS })
    t.match(await text(page, 'energy-time'), TIME, `tab ${name}: the time ticks (${first} → ${await text(page, 'energy-time')})`)
  }
  t.equal(server.nexSse.streams, 2, 'one stream per tab')

  // Both tabs get each tick within milliseconds; a sample that straddles a second is taken again.
  let same: Array<{ points: string, price: string }> = []
  for (let attempt = 1; attempt <= 5; attempt++) {
    same = await sample(a, b)
    if (same[0]?.points === same[1]?.points) break
    await new Promise(resolve => setTimeout(resolve, 150))
  }
  t.match(same[0]?.points, /^\d+$/, `data points ${same[0]?.points}`)
  t.equal(same[1]?.points, same[0]?.points, 'both tabs show the same data points at the same moment')
  t.equal(same[1]?.price, same[0]?.price, 'and the same price')

  for (const [name, page] of [['a', a], ['b', b]] as const) {
    t.equal(await page.locator('#price[data-testid="energy-price"]').count(), 1, `tab ${name}: #price kept its id and test id`)
    t.equal(await page.locator('#time[data-testid="energy-time"][datetime]').count(), 1, `tab ${name}: so did #time`)
    t.equal(await page.locator('#data-points[data-testid="energy-data-points"]').count(), 1, `tab ${name}: and #data-points`)
    t.equal(await page.locator('[hx-swap-oob]').count(), 0, `tab ${name}: no hx-swap-oob left in the page`)
    t.equal(await byTestId(page, 'energy-panel').locator('h2, dl').count(), 2, `tab ${name}: the panel itself was not replaced by a tick`)
    t.equal(await page.evaluate('window.__marker'), 1, `tab ${name}: no page load happened`)
  }
  for (const [name, page] of [['a', a], ['b', b]] as const) {
    t.same(await page.evaluate('window.__cspViolations'), [], `tab ${name}: no CSP violation, by the SSE extension or the out-of-band swaps`)
  }
  t.same(session.errors, [], 'no console or page errors')
  t.same(session.dialogs, [], 'no dialogs')
})
