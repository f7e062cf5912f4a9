// The Fetch-Metadata / Origin check on unsafe methods: Sec-Fetch-Site when the browser sends it, else
// Origin against Host (default ports canonicalised), Origin: null refused, non-browser requests let
// through to the token check, trusted origins, and the pure comparison in lib/origin.ts.
import t, { type Test } from 'tap'
import { canonicalOrigin, isSameOrigin } from '../src/index.js'
import { build, json, SECRET } from './helpers.js'

type Headers = Record<string, string>

async function app (t: Test, options = {}, fastify = {}): Promise<import('fastify').FastifyInstance> {
  return await build(t, { csrf: false, ...options }, {
    fastify,
    routes: (app) => {
      app.post('/action', async () => ({ ok: true }))
      app.get('/action', async () => ({ ok: true }))
    }
  })
}

async function post (instance: import('fastify').FastifyInstance, headers: Headers): Promise<number> {
  return (await instance.inject({ method: 'POST', url: '/action', headers })).statusCode
}

t.test('Sec-Fetch-Site: same-origin and none pass, same-site and cross-site get 403 CROSS_SITE', async (t) => {
  const instance = await app(t)
  t.equal(await post(instance, { 'sec-fetch-site': 'same-origin' }), 200)
  t.equal(await post(instance, { 'sec-fetch-site': 'none' }), 200, 'user-initiated (typed URL, bookmark)')
  for (const site of ['same-site', 'cross-site', 'something-new']) {
    const response = await instance.inject({ method: 'POST', url: '/action', headers: { 'sec-fetch-site': site } })
    t.equal(response.statusCode, 403, site)
    t.equal(json(response).code, 'FST_NEX_SECURITY_CROSS_SITE')
  }
  t.equal(await post(instance, { 'sec-fetch-site': 'same-origin', origin: 'null' }), 200,
    'Sec-Fetch-Site wins: a same-origin POST under Referrer-Policy no-referrer carries Origin: null')
  t.equal((await instance.inject({ url: '/action', headers: { 'sec-fetch-site': 'cross-site' } })).statusCode, 200, 'safe methods are not checked')
})

t.test('without Sec-Fetch-Site (older browsers): Origin must name the request\'s host and port', async (t) => {
  const instance = await app(t)
  const cases: Array<[host: string, origin: string, status: number]> = [
    ['example.com', 'https://example.com', 200],
    ['example.com', 'http://example.com', 200],
    ['example.com:443', 'https://example.com', 200],
    ['example.com:80', 'http://example.com', 200],
    ['localhost:3000', 'http://localhost:3000', 200],
    ['EXAMPLE.com', 'https://example.com', 200],
    ['[::1]:3000', 'http://[::1]:3000', 200],
    ['example.com', 'http://evil', 403],
    ['example.com', 'https://example.com.evil.net', 403],
    ['example.com', 'https://sub.example.com', 403],
    ['example.com:8443', 'https://example.com', 403],
    ['localhost:3000', 'http://localhost:3001', 403],
    ['example.com', 'https://example.com:8443', 403],
    ['example.com', 'null', 403],
    ['example.com', 'file://', 403],
    ['example.com', 'garbage', 403]
  ]
  for (const [host, origin, status] of cases) t.equal(await post(instance, { host, origin }), status, `Host ${host}, Origin ${origin}`)
  t.equal(await post(instance, { host: 'example.com' }), 200, 'neither header: not a browser, nothing to check')
})

t.test('behind a trusted proxy, the forwarded host is the one compared', async (t) => {
  const instance = await app(t, {}, { trustProxy: '127.0.0.1' })
  t.equal(await post(instance, { host: 'app:3000', 'x-forwarded-host': 'example.com', origin: 'https://example.com' }), 200)
  t.equal(await post(instance, { host: 'app:3000', 'x-forwarded-host': 'example.com', origin: 'http://app:3000' }), 403)
})

t.test('allowedOrigins lets trusted origins past the check, not past the token', async (t) => {
  const instance = await app(t, { allowedOrigins: ['https://partner.example', 'HTTPS://Admin.Example:443/'] })
  t.equal(await post(instance, { origin: 'https://partner.example', 'sec-fetch-site': 'cross-site' }), 200)
  t.equal(await post(instance, { origin: 'https://admin.example', 'sec-fetch-site': 'same-site' }), 200, 'entries are canonicalised')
  t.equal(await post(instance, { origin: 'https://partner.example:8443', 'sec-fetch-site': 'cross-site' }), 403)
  t.equal(await post(instance, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), 403)

  const withTokens = await build(t, { allowedOrigins: ['https://partner.example'] }, { routes: (app) => { app.post('/action', async () => 'ok') } })
  const response = await withTokens.inject({ method: 'POST', url: '/action', headers: { origin: 'https://partner.example', 'sec-fetch-site': 'cross-site' } })
  t.equal(json(response).code, 'FST_NEX_SECURITY_CSRF_MISSING', 'the token is still required')
})

t.test('tokenless same-origin requests still need the token: the check is a layer, not a replacement', async (t) => {
  const instance = await build(t, {}, { routes: (app) => { app.post('/action', async () => 'ok') } })
  for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { host: 'example.com', origin: 'https://example.com' }]) {
    const response = await instance.inject({ method: 'POST', url: '/action', headers })
    t.equal(json(response).code, 'FST_NEX_SECURITY_CSRF_MISSING')
  }
})

t.test('fetchMetadata: false leaves only the token check', async (t) => {
  const instance = await app(t, { fetchMetadata: false })
  t.equal(await post(instance, { origin: 'http://evil', 'sec-fetch-site': 'cross-site' }), 200)
  const both = await build(t, { fetchMetadata: false, csrf: false }, { routes: (app) => { app.post('/x', async () => 'ok') } })
  t.equal((await both.inject({ method: 'POST', url: '/x', headers: { 'sec-fetch-site': 'cross-site' } })).statusCode, 200)
  await t.rejects(build(t, { fetchMetadata: false, allowedOrigins: ['https://a.example'], secret: SECRET }), { code: 'FST_NEX_SECURITY_INVALID_OPTION', message: /allowedOrigins.*fetchMetadata is false/ })
})

t.test('allowedOrigins must be origins', async (t) => {
  for (const bad of ['https://a.example/path', 'ftp://a.example', 'a.example', 'https://user@a.example', 'https://a.example?x', 42]) {
    await t.rejects(build(t, { allowedOrigins: [bad as string] }), { code: 'FST_NEX_SECURITY_INVALID_OPTION', message: /allowedOrigins\[0\]/ }, String(bad))
  }
  await t.rejects(build(t, { allowedOrigins: 'https://a.example' as unknown as string[] }), { code: 'FST_NEX_SECURITY_INVALID_OPTION' })
})

t.test('isSameOrigin: host and port, default ports filled in', async (t) => {
  t.ok(isSameOrigin('https://example.com', 'example.com'))
  t.ok(isSameOrigin('https://example.com', 'example.com:443'))
  t.ok(isSameOrigin('http://example.com', 'example.com:80'))
  t.ok(isSameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080'))
  t.ok(isSameOrigin('http://[::1]', '[::1]:80'))
  t.ok(isSameOrigin('HTTPS://EXAMPLE.COM', 'example.com'))
  t.notOk(isSameOrigin('https://example.com', 'example.com:80'), 'https is 443')
  t.notOk(isSameOrigin('http://example.com:8080', 'example.com'))
  t.notOk(isSameOrigin('null', 'example.com'))
  t.notOk(isSameOrigin('https://example.com', 'example.com:99999'), 'a malformed Host never matches')
  t.notOk(isSameOrigin('https://a@example.com', 'example.com'), 'userinfo is not an origin')
  t.notOk(isSameOrigin('ws://example.com', 'example.com'))
})

t.test('canonicalOrigin: what allowedOrigins entries become', async (t) => {
  t.equal(canonicalOrigin('https://Example.com:443'), 'https://example.com')
  t.equal(canonicalOrigin('http://localhost:3000/'), 'http://localhost:3000')
  t.equal(canonicalOrigin('https://example.com/x'), null)
  t.equal(canonicalOrigin('https://example.com#'), null)
  t.equal(canonicalOrigin('javascript:alert(1)'), null)
  t.equal(canonicalOrigin('not a url'), null)
})
