/**
 * SEC-01 (RELIABILITY §6, §4.1): CSRF end to end, over real sockets, against apps built with the `nex`
 * preset in production. plugins/security/test/csrf.test.ts proves the checks on a bare plugin; this file
 * proves the preset wires them in front of real page actions, and that browsers send the token.
 *
 * The counter example's `increment` action: no token → 403; a cookie without a token → 403; a token minted
 * for another browser's cookie → 403; a token without its cookie → 403; a cross-site post (`Origin:
 * http://evil` with `Sec-Fetch-Site: cross-site`, as an htmx request and as a plain form) → 403, also with
 * only one of the two headers or `same-site`; none of them changed the count. A valid header token → 200
 * and the count moves; a valid `_csrf` form field (no JavaScript) → 200.
 *
 * Chromium, the fixture app's /csrf page: a button nested under an ancestor with a plain (non-inherited)
 * `hx-headers` holding the token, the htmx 2 way. Under htmx 4 that header is not inherited (the marker
 * header next to the token does not arrive), yet the request carries the token (the Nex client adds it in
 * `htmx:config:request`) and passes; under htmx 2 (the `htmx2` devDependency, @nex/routes' `htmx` option)
 * it is carried as well. A top-level button and an `hx-post` form too, in both versions. The page runs
 * under the preset's enforced CSP with no violation in either version (htmx 2's injected indicator
 * `<style>` gets the style nonce through `<meta name="htmx-config">`: a regression test, it was blocked
 * before @nex/routes rendered that meta).
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { byTestId, launchBrowser, serve } from '../helpers/browser.ts'
import { buildExample, buildFixture } from './fixtures/sec-obs/apps.ts'
import { htmxHeaders, openPage, type PageSession } from './fixtures/sec-obs/http.ts'
import { cspSession, open, unexpectedErrors } from './fixtures/sec-obs/csp-walk.ts'

const COUNT = /data-testid="counter-value"[^>]*>(\d+)</

t.test('counter example: every forged or cross-site increment is 403, a real one passes', async (t) => {
  const base = await serve(t, await buildExample('counter'))
  const a = await openPage(base, '/')
  const b = await openPage(base, '/')
  t.not(a.token, b.token, 'two browsers, two tokens')
  const increment = async (headers: Record<string, string>, body?: string): Promise<{ status: number, body: string }> => {
    const response = await fetch(`${base}/?/increment`, {
      method: 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      ...(body === undefined ? {} : { body })
    })
    return { status: response.status, body: await response.text() }
  }
  const noCookie: PageSession = { ...a, cookie: '' }
  const attacks: Array<[string, Record<string, string>]> = [
    ['no token, no cookie', htmxHeaders(noCookie)],
    ['the cookie but no token', htmxHeaders(a)],
    ["another browser's token with this cookie", htmxHeaders(a, { 'x-csrf-token': b.token })],
    ['a token without its cookie', htmxHeaders(noCookie, { 'x-csrf-token': a.token })],
    ['a forged token', htmxHeaders(a, { 'x-csrf-token': `${a.token.slice(0, -4)}AAAA` })],
    ['cross-site: Origin http://evil + Sec-Fetch-Site cross-site, valid token', htmxHeaders(a, { 'x-csrf-token': a.token, origin: 'http://evil', 'sec-fetch-site': 'cross-site' })],
    ['cross-site: Origin http://evil only (no Fetch Metadata), valid token', { ...htmxHeaders(a, { 'x-csrf-token': a.token, origin: 'http://evil' }), 'sec-fetch-site': '' }],
    ['same-site (a sibling subdomain), valid token', htmxHeaders(a, { 'x-csrf-token': a.token, 'sec-fetch-site': 'same-site' })],
    ['Origin: null (a sandboxed frame), valid token', { ...htmxHeaders(a, { 'x-csrf-token': a.token, origin: 'null' }), 'sec-fetch-site': '' }]
  ]
  for (const [name, headers] of attacks) {
    const clean = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''))
    t.equal((await increment(clean)).status, 403, `${name}: 403`)
  }
  const form = `_nex_page=${encodeURIComponent(a.pageId)}&_csrf=${encodeURIComponent(a.token)}`
  const crossSiteForm = await increment({ cookie: a.cookie, origin: 'http://evil', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, form)
  t.equal(crossSiteForm.status, 403, 'a cross-site plain form post with the victim\'s cookie and a valid field token: 403')

  const valid = await increment(htmxHeaders(a, { 'x-csrf-token': a.token }))
  t.equal(valid.status, 200, 'a valid header token: 200')
  t.equal(COUNT.exec(valid.body)?.[1], '1', 'and the count is 1: none of the refused requests counted')
  const plain = await increment({ cookie: a.cookie, 'sec-fetch-site': 'same-origin', origin: base }, form)
  t.equal(plain.status, 200, 'a valid _csrf form field (plain form post, no JavaScript): 200')
  t.equal(COUNT.exec(plain.body)?.[1], '2', 'the page re-rendered with the count 2')
})

const browser = await launchBrowser(t)

for (const htmx of ['htmx.org', 'htmx2'] as const) {
  t.test(`Chromium, ${htmx === 'htmx2' ? 'htmx 2' : 'htmx 4'}: the token travels on every hx-post, also under a plain hx-headers ancestor`, async (t) => {
    const base = await serve(t, await buildFixture({ preset: { routes: { htmx } } }))
    const session = await cspSession(t, browser, 'content-security-policy')
    const page = await session.newPage()
    const sent: Array<{ path: string, token: string | undefined, inherited: string | undefined, status: number }> = []
    page.on('response', (response) => {
      const request = response.request()
      if (request.method() !== 'POST') return
      const url = new URL(request.url())
      sent.push({ path: url.pathname + url.search, token: request.headers()['x-csrf-token'], inherited: request.headers()['x-inherited'], status: response.status() })
    })
    await open(page, base, '/csrf')
    t.match(await page.evaluate('String(window.htmx.version)'), htmx === 'htmx2' ? /^2\./ : /^4\./, `htmx ${String(await page.evaluate('window.htmx.version'))} runs`)
    const token = await page.locator('meta[name="csrf-token"]').getAttribute('content')

    const press = async (page: Page, testId: string, text: string): Promise<void> => {
      await byTestId(page, testId).click()
      await byTestId(page, 'result').filter({ hasText: text }).waitFor()
    }
    await press(page, 'nested', htmx === 'htmx2' ? 'nested: token sent, inherited yes' : 'nested: token sent, inherited absent')
    await press(page, 'top', 'top: token sent, inherited absent')
    await press(page, 'form', 'form: token sent, inherited absent')

    t.same(sent.map((request) => request.path), ['/csrf?/nested', '/csrf?/top', '/csrf?/form'], 'three htmx posts')
    t.ok(sent.every((request) => request.token === token && request.status === 200), `each carried the page's token and got 200: ${JSON.stringify(sent.map((request) => [request.status, request.token === token]))}`)
    if (htmx === 'htmx2') {
      t.equal(sent[0]?.inherited, 'yes', 'htmx 2 inherits the plain hx-headers of the ancestor')
    } else {
      t.equal(sent[0]?.inherited, undefined, 'htmx 4 does not inherit the plain hx-headers (its token came from the Nex client)')
    }
    t.same(unexpectedErrors(session.errors, []), [], 'no console or page errors')
    // htmx 2 injects its indicator <style>: it needs the reply's style nonce (`inlineStyleNonce` in
    // <meta name="htmx-config">, which ctx.scripts() renders for htmx 2), or the policy blocks it.
    t.same(session.violations, [], 'no CSP violation on the page (htmx 2: its indicator <style> carries the nonce)')
    if (htmx === 'htmx2') {
      const config = await page.locator('meta[name="htmx-config"]').getAttribute('content')
      t.ok(config !== null && typeof (JSON.parse(config) as { inlineStyleNonce?: unknown }).inlineStyleNonce === 'string', 'htmx 2 is given the style nonce')
      t.equal(await page.evaluate('document.querySelectorAll("style").length'), 1, 'and its indicator <style> is in the page')
    }
  })
}
