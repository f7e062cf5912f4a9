/**
 * SEC-04 (RELIABILITY §6) through a real shared cache: Debian nginx with `proxy_cache`, `proxy_cache_valid
 * 200 10m` and the default cache key (`$scheme$proxy_host$request_uri`, which ignores HX-Request) in front
 * of the examples built with the `nex` preset in production. `X-Cache-Status: $upstream_cache_status`
 * says whether nginx answered from its cache.
 *
 * For every page URL of sec-04-hx-request-cache.test.ts (the auth dashboard logged in through the proxy)
 * and an unknown URL, an htmx partial request goes first, then navigations and htmx requests alternate:
 * every navigation gets the full document, every htmx request its fragment, and no answer ever comes from
 * the cache (`private`/`no-store` pages and fragments are never stored, so never HIT). After the logged-in
 * requests, an anonymous navigation to /dashboard still gets the login redirect.
 *
 * Controls, so the assertions above can fail: a small Fastify app answering `Cache-Control: public,
 * max-age=60` with a fragment or a document depending on HX-Request. Without `Vary` the fragment cached for
 * an htmx request is served (HIT) to the next navigation: the poisoning reproduces. With `Vary: HX-Request`
 * nginx keeps the two variants apart and serves each from the cache. Static files: the fingerprinted htmx
 * asset (`immutable`) is stored and served (HIT) with the same bytes and ETag to both kinds of request;
 * the example's own public/ files say `max-age=0, must-revalidate`, so nginx passes them through unstored.
 *
 * Nothing is scaled (about 40 requests per example, one nginx per test); run time ~5 s.
 */
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { serve } from '../helpers/browser.ts'
import { buildExample, EXAMPLE_PAGES } from './fixtures/sec-obs/apps.ts'
import { logInToAuthExample } from './fixtures/sec-obs/http.ts'
import { startNginx } from './helpers/nginx.ts'

/** nginx caching every cacheable 200 of the app at `base` for 10 minutes; returns the proxy's base URL. */
async function cachingProxy (t: Test, base: string): Promise<string> {
  const nginx = await startNginx(t, (port, dir) => `
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=nex:1m max_size=16m inactive=10m use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${base};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache nex;
      proxy_cache_valid 200 10m;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }`)
  return nginx.url
}

interface Seen { status: number, cacheStatus: string, cacheControl: string, etag: string | null, location: string | null, body: string, isDocument: boolean }

async function get (base: string, path: string, headers: Record<string, string> = {}): Promise<Seen> {
  const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' })
  const body = await response.text()
  return {
    status: response.status,
    cacheStatus: response.headers.get('x-cache-status') ?? '',
    cacheControl: response.headers.get('cache-control') ?? '',
    etag: response.headers.get('etag'),
    location: response.headers.get('location'),
    body,
    isDocument: /^\s*<!doctype html>/i.test(body)
  }
}

const NAVIGATION: Record<string, string> = {}
const PARTIAL = { 'hx-request': 'true', 'hx-request-type': 'partial' }
const HTMX2 = { 'hx-request': 'true' }
/** htmx first, so a cache keyed on the URL alone would hold the fragment when the navigation comes. */
const SEQUENCE = [
  { name: 'htmx partial', headers: PARTIAL, document: false },
  { name: 'navigation', headers: NAVIGATION, document: true },
  { name: 'navigation again', headers: NAVIGATION, document: true },
  { name: 'htmx partial again', headers: PARTIAL, document: false },
  { name: 'htmx 2 (bare HX-Request)', headers: HTMX2, document: false },
  { name: 'navigation after htmx', headers: NAVIGATION, document: true }
]

for (const { example, paths, login } of EXAMPLE_PAGES) {
  t.test(`${example} through nginx proxy_cache: navigations get the document, htmx the fragment, nothing served from the cache`, async (t) => {
    const proxy = await cachingProxy(t, await serve(t, await buildExample(example)))
    let cookie = ''
    if (login === true) {
      const loggedIn = await logInToAuthExample(proxy)
      t.equal(loggedIn.status, 303, 'logged in through the proxy (the dashboard is session-dependent)')
      cookie = loggedIn.cookie
    }
    for (const path of [...paths, '/no/such/page']) {
      const expected = path === '/no/such/page' ? 404 : 200
      for (const { name, headers, document } of SEQUENCE) {
        const answer = await get(proxy, path, cookie === '' ? headers : { ...headers, cookie })
        t.equal(answer.status, expected, `${path}, ${name}: ${expected}`)
        t.equal(answer.isDocument, document, `${path}, ${name}: ${document ? 'the full document' : 'a fragment'}`)
        t.equal(answer.cacheStatus, 'MISS', `${path}, ${name}: answered by the app, not the cache (X-Cache-Status ${answer.cacheStatus})`)
        t.match(answer.cacheControl, /\b(private|no-store)\b/, `${path}, ${name}: Cache-Control "${answer.cacheControl}"`)
      }
    }
    if (login === true) {
      const anonymous = await get(proxy, '/dashboard')
      t.equal(anonymous.status, 303, 'after the logged-in requests, an anonymous /dashboard is still redirected')
      t.equal(anonymous.location, '/login', 'to the login page, not served the user\'s dashboard')
      t.not(anonymous.cacheStatus, 'HIT', 'not from the cache')
    }
  })
}

const DOCUMENT = '<!doctype html><html><head><title>news</title></head><body><main><p id="news">today</p></main></body></html>'
const FRAGMENT = '<p id="news">today</p>'

/** Control app: a page that a shared cache may store (`public, max-age=60`), with or without Vary. */
async function publicPages (t: Test): Promise<{ proxy: string, handled: Record<string, number> }> {
  const app = Fastify()
  const handled: Record<string, number> = { '/no-vary': 0, '/vary': 0 }
  for (const path of ['/no-vary', '/vary']) {
    app.get(path, async (request, reply) => {
      handled[path] = (handled[path] ?? 0) + 1
      reply.type('text/html; charset=utf-8').header('cache-control', 'public, max-age=60')
      if (path === '/vary') reply.header('vary', 'HX-Request')
      return request.headers['hx-request'] === 'true' ? FRAGMENT : DOCUMENT
    })
  }
  return { proxy: await cachingProxy(t, await serve(t, app)), handled }
}

t.test('control without Vary: the cached htmx fragment is served to a navigation (the poisoning reproduces)', async (t) => {
  const { proxy, handled } = await publicPages(t)
  const htmx = await get(proxy, '/no-vary', PARTIAL)
  t.same([htmx.cacheStatus, htmx.body], ['MISS', FRAGMENT], 'the htmx request stores the fragment')
  const navigation = await get(proxy, '/no-vary')
  t.equal(navigation.cacheStatus, 'HIT', 'the navigation is answered from the cache')
  t.equal(navigation.body, FRAGMENT, 'and gets the fragment instead of the page: poisoned')
  t.equal(handled['/no-vary'], 1, 'the app saw only the htmx request')
})

t.test('control with Vary: HX-Request: nginx caches both variants and keeps them apart', async (t) => {
  const { proxy, handled } = await publicPages(t)
  const steps = [
    { name: 'htmx partial', headers: PARTIAL, cache: 'MISS', body: FRAGMENT },
    { name: 'navigation', headers: NAVIGATION, cache: 'MISS', body: DOCUMENT },
    { name: 'navigation again', headers: NAVIGATION, cache: 'HIT', body: DOCUMENT },
    { name: 'htmx partial again', headers: PARTIAL, cache: 'HIT', body: FRAGMENT }
  ]
  for (const { name, headers, cache, body } of steps) {
    const answer = await get(proxy, '/vary', headers)
    t.same([answer.cacheStatus, answer.body === DOCUMENT ? 'document' : 'fragment'], [cache, body === DOCUMENT ? 'document' : 'fragment'], `${name}: ${cache}, the ${body === DOCUMENT ? 'document' : 'fragment'}`)
  }
  t.equal(handled['/vary'], 2, 'the app answered once per variant')
})

t.test('static files through the cache: the same bytes for both kinds of request', async (t) => {
  const base = await serve(t, await buildExample('counter'))
  const proxy = await cachingProxy(t, base)
  const page = await get(base, '/')
  const asset = /src="(\/_nex\/htmx@[^"]+\.js)"/.exec(page.body)?.[1]
  if (asset === undefined) throw new Error('the counter page names no fingerprinted htmx asset')

  const htmx = await get(proxy, asset, PARTIAL)
  const plain = await get(proxy, asset)
  const again = await get(proxy, asset, PARTIAL)
  t.match(htmx.cacheControl, /\bimmutable\b/, `${asset}: "${htmx.cacheControl}"`)
  t.same([htmx.cacheStatus, plain.cacheStatus, again.cacheStatus], ['MISS', 'HIT', 'HIT'], `${asset}: stored by the first request, then served from the cache to both kinds`)
  t.ok(plain.body === htmx.body && again.body === htmx.body && htmx.body.length > 0, 'same bytes')
  t.equal(plain.etag, htmx.etag, 'same ETag')

  const styles = [await get(proxy, '/styles.css', PARTIAL), await get(proxy, '/styles.css'), await get(proxy, '/styles.css', PARTIAL)]
  t.match(styles[0]?.cacheControl, /max-age=0, must-revalidate/, `/styles.css: "${styles[0]?.cacheControl}"`)
  t.same(styles.map(({ cacheStatus }) => cacheStatus), ['MISS', 'MISS', 'MISS'], '/styles.css: max-age=0, so nginx never stores it')
  t.ok(styles.every(({ status, body }) => status === 200 && body === styles[0]?.body), '/styles.css: same bytes either way')
  t.equal(new Set(styles.map(({ etag }) => etag)).size, 1, '/styles.css: same ETag')
})
