// The counter through app.inject (with @nex/testing's browser-like client): markup, actions, page
// views, plain form posts, forged ids, CSRF, rate limits, concurrency.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createTestClient, type TestClient } from '@nex/testing'
import { build, type BuildConfig } from '../app.js'
import { forgePageId, pageFieldsOf, pageIdOf } from '../../../test/helpers/markup.ts'
import { csrfFieldsOf, csrfTokenOf, REFUSED } from '../../../test/helpers/csrf.ts'

/** Preset options for load tests: one client far over the default 120 page actions a minute. */
const LOAD: BuildConfig = { security: { rateLimit: { actions: { max: 10_000 } } } }

async function app (t: Test, config: BuildConfig = {}): Promise<FastifyInstance> {
  const instance = await build({ logger: false }, config)
  t.teardown(async () => await instance.close())
  await instance.ready()
  return instance
}

/** A browser tab showing the counter: a client that has loaded `/` (so it holds a page id). */
async function openTab (server: FastifyInstance): Promise<{ tab: TestClient, body: string }> {
  const tab = createTestClient(server)
  const response = await tab.get('/')
  if (response.statusCode !== 200) throw new Error(`GET / answered ${response.statusCode}`)
  return { tab, body: response.body }
}

/** The value shown by a `#counter-display` fragment, or null when the body is not exactly that fragment. */
function displayed (body: string): number | null {
  const match = /^<div id="counter-display" data-testid="counter-value" class="counter-value" aria-live="polite">(\d+)<\/div>$/.exec(body)
  return match === null ? null : Number(match[1])
}

/** The value a full page or the bare page shows. */
function valueIn (page: string): number {
  const match = /<div id="counter-display"[^>]*>(\d+)<\/div>/.exec(page)
  if (match === null) throw new Error(`no counter in: ${page.slice(0, 300)}`)
  return Number(match[1])
}

/** Clicks a button with htmx: the action's answer must be the replacement display. */
async function press (tab: TestClient, action: string): Promise<number | null> {
  const response = await tab.post(`/?/${action}`, { htmx: true })
  if (response.statusCode !== 200) throw new Error(`${action} answered ${response.statusCode}: ${response.body}`)
  return displayed(response.body)
}

t.test('building the app emits no warnings', async t => {
  const warnings: string[] = []
  const onWarning = (warning: Error & { code?: string }): void => { warnings.push(`${warning.code ?? warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  await app(t)
  await new Promise(resolve => setImmediate(resolve)) // warnings are emitted on the next tick
  // Regression: @nex/routes once passed `schema: { params: undefined, … }` for pages without a schema,
  // and Fastify warned FSTWRN001 six times per page.
  t.same(warnings, [], 'no process warnings')
})

t.test('the page: markup, test ids, forms that work with and without htmx', async t => {
  const server = await app(t)
  const tab = createTestClient(server)
  const response = await tab.get('/')
  const { body } = response
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.match(response.headers.vary, /HX-Request/, 'varies on the htmx headers')
  t.match(body, /^<!doctype html>/i, 'a whole document')
  t.match(body, '<title>Counter</title>', 'the page head reaches the layout')
  t.match(body, '<script src="/_nex/htmx@4.0.1/htmx.min.js"></script>', 'htmx 4 from the app itself, no nonce needed')
  t.match(body, /<script src="\/_nex\/client@[\w-]+\/nex-client\.js" defer><\/script>/, 'the Nex client, a file of this site too')
  const csp = String(response.headers['content-security-policy'])
  t.match(csp, "script-src 'self';", 'the CSP allows exactly those scripts: files of this site')
  t.match(csp, "script-src-attr 'none'", 'and no inline handlers')
  t.notMatch(csp, /'nonce-|'unsafe-/, 'no nonce and nothing unsafe: no inline script can run')
  t.notMatch(body, /<script(?![^>]*\bsrc="\/_nex\/)/, 'every script tag is a file of this site, none inline')
  t.notMatch(body, /\bnonce=/, 'and the page creates no nonce')
  t.match(body, 'data-testid="counter-page"')
  t.equal(valueIn(body), 0, 'starts at 0')
  for (const action of ['increment', 'decrement', 'reset']) {
    t.match(body, `<form method="post" action="?/${action}" hx-post="?/${action}" hx-target="#counter-display" hx-swap="outerHTML">`, `${action}: a real form that htmx enhances`)
    t.match(body, `data-testid="counter-${action}"`)
  }
  const id = pageIdOf(body)
  t.same(pageFieldsOf(body), [id, id, id], 'each form carries the page id for plain posts')
  const token = csrfTokenOf(body)
  t.same(csrfFieldsOf(body), [token, token, token], 'and the CSRF token of the page\'s <meta name="csrf-token">')
  t.match(response.headers['set-cookie'], /^_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/, 'whose secret is an HttpOnly cookie')

  const asset = await server.inject('/_nex/htmx@4.0.1/htmx.min.js')
  t.equal(asset.statusCode, 200, 'htmx is served')
  t.match(asset.body, /version\s*=\s*['"]4\.0\.1['"]/, 'and it is htmx 4.0.1')
  t.equal((await server.inject('/styles.css')).statusCode, 200, 'static files are served')
  t.equal((await server.inject('/favicon.ico')).statusCode, 200, 'and so is the icon browsers ask for')
})

t.test('increment, decrement (never below 0) and reset answer with the replacement display', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const seen: Array<number | null> = []
  for (const action of ['increment', 'increment', 'increment', 'decrement', 'decrement', 'decrement', 'decrement', 'decrement', 'increment', 'increment', 'reset', 'decrement']) {
    seen.push(await press(tab, action))
  }
  t.same(seen, [1, 2, 3, 2, 1, 0, 0, 0, 1, 2, 0, 0])

  const response = await tab.post('/?/increment', { htmx: true })
  t.equal(response.headers['content-type'], 'text/html; charset=utf-8')
  t.notMatch(response.body, '<html', 'a fragment, not a page')
  t.equal(response.headers['hx-trigger'], undefined, 'no extra htmx headers')
})

t.test('an htmx GET of the page gets the bare page for its own page view', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  await press(tab, 'increment')
  const response = await tab.get('/', { htmx: true })
  t.equal(response.statusCode, 200)
  t.notMatch(response.body, '<html', 'no layout')
  t.notMatch(response.body, 'data-nex-page-id', 'no new page view either')
  t.equal(valueIn(response.body), 1, 'the value of this page view')
})

t.test('two page views count on their own; a reload is a new view at 0', async t => {
  const server = await app(t)
  const { tab: a } = await openTab(server)
  const { tab: b } = await openTab(server)
  t.not(a.pageId, b.pageId, 'every full page load is a new page view')
  await press(a, 'increment')
  await press(a, 'increment')
  t.equal(await press(b, 'increment'), 1, 'b starts from its own 0')
  t.equal(await press(a, 'increment'), 3, 'a is not moved by b')
  t.equal(await press(b, 'decrement'), 0)

  const before = a.pageId
  const reloaded = await a.get('/')
  t.not(a.pageId, before, 'a reload gets a new page id')
  t.equal(valueIn(reloaded.body), 0, 'and starts at 0')
  t.equal(await press(a, 'increment'), 1, 'the reloaded tab counts from 0')
  a.pageId = before
  t.equal(await press(a, 'increment'), 4, 'while the old view kept its count')
})

t.test('without JavaScript a post re-renders the whole page for the same page view', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const id = tab.pageId as string
  for (const expected of [1, 2]) {
    const response = await tab.post('/?/increment', { form: {} })
    t.equal(response.statusCode, 200)
    t.match(response.body, /^<!doctype html>/i, 'a whole page')
    t.equal(pageIdOf(response.body), id, 'for the same page view')
    t.same(pageFieldsOf(response.body), [id, id, id], 'whose forms keep carrying it')
    t.equal(valueIn(response.body), expected, `showing ${expected}`)
  }
  t.equal(await press(tab, 'increment'), 3, 'htmx and plain posts share the page view')

  // A browser that has the page's CSRF token and cookie, but posts without the page-id field.
  const { tab: other } = await openTab(server)
  other.pageId = null
  const withoutField = await other.post('/?/increment', { form: {} })
  t.equal(withoutField.statusCode, 200, 'a post without the page-id field still works')
  t.not(pageIdOf(withoutField.body), id, 'as a new page view')
  t.equal(valueIn(withoutField.body), 1)
})

t.test('CSRF: an action needs this browser\'s token; without it, 403 and nothing counts', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const view = tab.pageId as string
  const token = tab.csrfToken as string
  t.ok(token, 'the page gave the tab a token')
  // A refused plain post answers with a whole (error) page, with a page view and a token of its own,
  // which the client adopts as a browser would: each post below is sent from the counter's page view.
  const fromView = (): void => { tab.pageId = view }

  tab.csrfToken = null
  for (const how of [{ htmx: true }, { form: {} }] as const) {
    fromView()
    tab.csrfToken = null
    const response = await tab.post('/?/increment', how)
    t.equal(response.statusCode, 403, `${'htmx' in how ? 'htmx' : 'plain form'} post without a token: 403`)
    t.match(response.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  }

  const { tab: otherBrowser } = await openTab(server)
  fromView()
  tab.csrfToken = otherBrowser.csrfToken
  const foreign = await tab.post('/?/increment', { htmx: true })
  t.equal(foreign.statusCode, 403, 'the token of another browser: 403')
  t.match(foreign.body, REFUSED.csrfInvalid, 'FST_NEX_SECURITY_CSRF_INVALID')

  tab.csrfToken = token
  const crossSite = await tab.post('/?/increment', { htmx: true, headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(crossSite.statusCode, 403, 'the right token, sent from another site: 403')
  t.match(crossSite.body, REFUSED.crossSite, 'FST_NEX_SECURITY_CROSS_SITE')
  const otherOrigin = await tab.post('/?/increment', { form: {}, headers: { origin: 'http://evil.example' } })
  t.equal(otherOrigin.statusCode, 403, 'or with the Origin of another site (browsers without Fetch-Metadata): 403')
  t.match(otherOrigin.body, REFUSED.crossSite)

  const cookieless = createTestClient(server)
  cookieless.pageId = view
  cookieless.csrfToken = token
  const noCookie = await cookieless.post('/?/increment', { htmx: true })
  t.equal(noCookie.statusCode, 403, 'the token without its cookie: 403')
  t.match(noCookie.body, REFUSED.csrfInvalid)

  fromView()
  tab.csrfToken = token
  t.equal(await press(tab, 'increment'), 1, 'with its own token the tab counts, from 0: no refused post counted')
  const plain = await tab.post('/?/increment', { form: {} })
  t.equal(pageIdOf(plain.body), view, 'a plain form post with the hidden fields, in the same page view,')
  t.equal(valueIn(plain.body), 2, 'counts too')
})

t.test('rate limit: a client gets 120 page actions a minute, then 429', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  for (let i = 1; i <= 120; i++) await press(tab, 'increment')
  const over = await tab.post('/?/increment', { htmx: true })
  t.equal(over.statusCode, 429, 'the 121st action within the minute: 429')
  t.match(over.body, REFUSED.rateLimited, 'FST_NEX_SECURITY_RATE_LIMITED')
  t.equal(over.headers['x-ratelimit-limit'], '120', 'the page actions\' own limit, not the general 600')
  t.ok(Number(over.headers['retry-after']) > 0, `with Retry-After (${String(over.headers['retry-after'])} s)`)
  const page = await tab.get('/', { htmx: true })
  t.equal(page.statusCode, 200, 'pages are still served: they have the general limit')
  t.equal(valueIn(page.body), 120, 'and the refused action did not count')
})

t.test('a page id the server never issued gets 410 and HX-Refresh, and changes nothing', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const id = tab.pageId as string
  await press(tab, 'increment')
  // A browser with a CSRF token of its own, so what is refused is the page id.
  const { tab: forger } = await openTab(server)

  forger.pageId = forgePageId(id)
  const viaHeader = await forger.post('/?/increment', { htmx: true })
  t.equal(viaHeader.statusCode, 410, 'header: 410 Gone')
  t.equal(viaHeader.headers['hx-refresh'], 'true', 'htmx reloads the page')

  const viaField = await forger.post('/?/increment', { form: {} })
  t.equal(viaField.statusCode, 410, 'form field: 410 Gone')

  forger.pageId = 'not-a-page-id'
  t.equal((await forger.post('/?/increment', { htmx: true })).statusCode, 410, 'garbage: 410 Gone')

  // Without a token too, in the order the checks run: the page-id header is verified in @nex/state's
  // onRequest hook, before the CSRF check; the page-id field only once the body is parsed, after it.
  forger.pageId = forgePageId(id)
  forger.csrfToken = null
  const headerNoToken = await forger.post('/?/increment', { htmx: true })
  t.equal(headerNoToken.statusCode, 410, 'header, no token: 410 (the page id is checked first)')
  t.equal(headerNoToken.headers['hx-refresh'], 'true')
  const fieldNoToken = await forger.post('/?/increment', { form: {} })
  t.equal(fieldNoToken.statusCode, 403, 'form field, no token: 403 (the CSRF check comes first)')
  t.match(fieldNoToken.body, REFUSED.csrfMissing)

  t.equal(await press(tab, 'increment'), 2, 'the real page view was not touched')
})

t.test('only the page\'s own actions can be called', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  for (const name of ['nope', 'toString', '__proto__', 'constructor']) {
    t.equal((await tab.post(`/?/${name}`, { htmx: true })).statusCode, 404, `?/${name}`)
  }
  t.equal((await tab.post('/', { htmx: true })).statusCode, 404, 'no default action')
})

t.test('200 concurrent increments of one page view all count', async t => {
  const server = await app(t, LOAD)
  const { tab } = await openTab(server)
  const values = await Promise.all(Array.from({ length: 200 }, async () => await press(tab, 'increment')))
  t.same([...values].sort((x, y) => (x ?? 0) - (y ?? 0)), Array.from({ length: 200 }, (_, i) => i + 1), 'each request saw its own value, 1 to 200')
  const page = await tab.get('/', { htmx: true })
  t.equal(valueIn(page.body), 200, 'and the page view holds 200')
})
