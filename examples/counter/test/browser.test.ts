// The counter in a real browser (Chromium through playwright-core) against the app on a real socket.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { afterNavigation, afterSwap, byTestId, launchBrowser, newSession, onlyOwnScriptFiles, pageScripts, serve, waitForHtmx, waitForText } from '../../../test/helpers/browser.ts'
import { pageCsrfToken, recordPosts, REFUSED } from '../../../test/helpers/csrf.ts'

const browser = await launchBrowser(t)
const base = await serve(t, await build({ logger: false }))

const DISPLAY = '#counter-display'

/**
 * The page's script elements, each as its `src` (`inline` when it has none), with ` nonce` added when it
 * carries a nonce attribute: under the strict CSP every one must be a bare `/_nex/…` file of this site.
 */

/**
 * Clicks a counter button and waits for the display htmx swaps in, then checks the value. The tab is
 * brought to the front first: Chromium throttles timers (htmx settles with one) in background tabs.
 */
async function press (page: Page, button: 'increment' | 'decrement' | 'reset', expected: number): Promise<void> {
  await page.bringToFront()
  await afterSwap(page, DISPLAY, () => byTestId(page, `counter-${button}`).click())
  await waitForText(page, 'counter-value', String(expected))
}

/** Opens the counter; resolves with the Content-Security-Policy the page was served with. */
async function open (page: Page): Promise<string | undefined> {
  await page.bringToFront()
  const response = await page.goto(`${base}/`)
  await waitForHtmx(page)
  await waitForText(page, 'counter-value', '0')
  return response?.headers()['content-security-policy']
}

t.test('the buttons count in place; decrement stops at 0', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const posts = recordPosts(page)
  const csp = await open(page)
  t.match(csp, /script-src 'self'; script-src-attr 'none'/, 'served under a strict CSP: scripts from this site only')
  t.notMatch(csp, /'nonce-|'unsafe-/, 'which allows no inline script: no nonce, nothing unsafe')
  const scripts = await pageScripts(page)
  t.ok(onlyOwnScriptFiles(scripts), `every script is a file of this site, none inline, none with a nonce: ${JSON.stringify(scripts)}`)
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  await page.evaluate('window.__marker = 1')

  for (const n of [1, 2, 3]) await press(page, 'increment', n)
  await press(page, 'decrement', 2)
  for (const n of [1, 0, 0, 0, 0]) await press(page, 'decrement', n)
  await press(page, 'increment', 1)
  await press(page, 'reset', 0)

  t.equal(await page.evaluate('window.__marker'), 1, 'no full page load happened')
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/', 'the URL did not change')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'same page view')
  const token = await pageCsrfToken(page)
  t.ok(token, 'the page has a CSRF token')
  t.equal(posts.length, 11, 'eleven action posts')
  t.ok(posts.every(post => post.htmx && post.header === token), 'each sent by htmx with the X-CSRF-Token header from the meta tag')
  t.same(session.errors, [], 'no console or page errors (no CSP violation either)')

  // The same post from the page without the header: the browser sends the cookies, but not the token.
  const refused = await page.evaluate(`fetch('/?/increment', { method: 'POST', headers: { 'HX-Request': 'true', 'X-Nex-Page-Id': ${JSON.stringify(pageId)} } })
    .then(async response => ({ status: response.status, body: await response.text() }))`) as { status: number, body: string }
  t.equal(refused.status, 403, 'a same-origin post without the token is refused')
  t.match(refused.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  await press(page, 'increment', 1)
  t.pass('and did not count: the next click shows 1')
})

t.test('two tabs count on their own; a reload starts at 0', async t => {
  const session = await newSession(t, browser)
  const a = await session.newPage()
  const b = await session.newPage()
  await open(a)
  await open(b)

  await press(a, 'increment', 1)
  await press(a, 'increment', 2)
  await press(b, 'increment', 1)
  await press(a, 'increment', 3)
  await press(b, 'decrement', 0)
  await waitForText(a, 'counter-value', '3')

  await a.reload()
  await waitForHtmx(a)
  await waitForText(a, 'counter-value', '0')
  await press(a, 'increment', 1)
  await press(b, 'increment', 1)
  t.same(session.errors, [], 'no console or page errors')
})

t.test('without JavaScript the buttons post forms and the page comes back for the same view', async t => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  const posts = recordPosts(page)
  await page.goto(`${base}/`)
  await waitForText(page, 'counter-value', '0')
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  t.ok(pageId, 'the page has a page id')
  const token = await pageCsrfToken(page)

  await afterNavigation(page, () => byTestId(page, 'counter-increment').click())
  await waitForText(page, 'counter-value', '1')
  t.equal(new URL(page.url()).search, '?/increment', 'the form posted to the action URL')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'same page view')

  await afterNavigation(page, () => byTestId(page, 'counter-increment').click())
  await waitForText(page, 'counter-value', '2')
  await afterNavigation(page, () => byTestId(page, 'counter-decrement').click())
  await waitForText(page, 'counter-value', '1')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'still the same page view')
  t.equal(posts.length, 3, 'three form posts')
  t.same(posts[0], { url: '/?/increment', htmx: false, header: undefined, field: token }, 'the browser sent the hidden _csrf field of the page, no header')
  t.ok(posts.every(post => !post.htmx && post.header === undefined && post.field !== null), 'so did every post, with the field of the page it came from')
  t.same(session.errors, [], 'no console or page errors')
})
