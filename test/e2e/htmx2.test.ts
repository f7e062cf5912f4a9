// htmx 2 keeps working: the counter example, built by its own build() on the nex preset (CSP with nonces,
// CSRF, …) with @nex/routes' `htmx: 'htmx2'` option, in Chromium. Page state, actions and CSRF: the Nex
// client sends the page id and the CSRF token on htmx 2's requests too.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../../examples/counter/app.js'
import { afterSwap, byTestId, launchBrowser, newSession, serve, waitForHtmx, waitForText } from '../helpers/browser.ts'
import { pageCsrfToken, REFUSED } from '../helpers/csrf.ts'

const app = await build({ logger: false }, { routes: { htmx: 'htmx2' } })
const browser = await launchBrowser(t)
const base = await serve(t, app)

async function press (page: Page, button: 'increment' | 'decrement', expected: number): Promise<void> {
  await afterSwap(page, '#counter-display', () => byTestId(page, `counter-${button}`).click())
  await waitForText(page, 'counter-value', String(expected))
}

t.test('the counter works under htmx 2: page id and CSRF token carried, actions swapped in place', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const actionRequests: Array<{ url: string, pageId: string | undefined, htmx: string | undefined, csrf: string | undefined }> = []
  page.on('request', request => {
    if (request.method() !== 'POST') return
    const headers = request.headers()
    actionRequests.push({ url: new URL(request.url()).search, pageId: headers['x-nex-page-id'], htmx: headers['hx-request'], csrf: headers['x-csrf-token'] })
  })

  const response = await page.goto(`${base}/`)
  await waitForHtmx(page)
  t.match(await page.locator('script[src*="/_nex/htmx@"]').getAttribute('src'), /^\/_nex\/htmx@2\.0\.11\/htmx\.min\.js$/, 'the page loads htmx 2')
  t.match(await page.evaluate('window.htmx.version'), /^2\./, 'and htmx 2 is what runs')
  const csp = response?.headers()['content-security-policy'] ?? ''
  t.match(csp, /script-src 'self' 'nonce-[^']+'; script-src-attr 'none'; style-src 'self' 'nonce-[^']+'/, 'under the preset\'s strict CSP')
  // htmx 2 injects a <style> for its indicators: without the style nonce the CSP blocks it (a console error).
  const styleNonce = /style-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1]
  t.equal(await page.evaluate('[...document.head.querySelectorAll("style")].map(style => style.nonce).join(" ")'), styleNonce, 'its indicator <style> carries the reply\'s style nonce')
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  const token = await pageCsrfToken(page)
  t.ok(token, 'the page has a CSRF token')
  await page.evaluate('window.__marker = 1')

  for (const n of [1, 2, 3]) await press(page, 'increment', n)
  await press(page, 'decrement', 2)

  t.equal(await page.evaluate('window.__marker'), 1, 'updated in place, no page load')
  t.equal(actionRequests.length, 4, 'four action requests')
  t.same(actionRequests.map(r => r.url), ['?/increment', '?/increment', '?/increment', '?/decrement'])
  t.ok(actionRequests.every(r => r.htmx === 'true' && r.pageId === pageId), 'all made by htmx, carrying the page id header')
  t.ok(actionRequests.every(r => r.csrf === token), 'and the X-CSRF-Token header from the meta tag (the Nex client, under htmx 2)')

  t.same(session.errors, [], 'no console or page errors (no CSP violation either)')

  // The server needs that header: the same post from the page without it is refused and changes nothing.
  const refused = await page.evaluate(`fetch('/?/increment', { method: 'POST', headers: { 'HX-Request': 'true', 'X-Nex-Page-Id': ${JSON.stringify(pageId)} } })
    .then(async response => ({ status: response.status, body: await response.text() }))`) as { status: number, body: string }
  t.equal(refused.status, 403, 'without the token: 403')
  t.match(refused.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  await press(page, 'increment', 3)
  t.pass('and it did not count')

  // A second page view counts on its own, so the state really is per page id.
  const other = await session.newPage()
  await other.goto(`${base}/`)
  await waitForHtmx(other)
  await press(other, 'increment', 1)
  await page.bringToFront()
  await press(page, 'increment', 4)
  t.equal(session.errors.length, 1, 'one console error since:')
  t.match(session.errors[0], /^console: Failed to load resource: .* status of 403 /, 'Chromium logging the refused fetch')
})
