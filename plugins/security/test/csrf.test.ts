// CSRF tokens on unsafe methods (RELIABILITY SEC-01): the attack cases get 403 with our codes, valid
// header and form tokens pass, safe methods and opted-out routes are never checked, a header token is
// checked before the body is read, and one cookie's tokens keep working across requests.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import { createTestClient } from '@nex/testing'
import nexSecurity, { errors } from '../src/index.js'
import { build, cookieHeader, json, SECRET } from './helpers.js'

/** `GET /form` renders a token (as @nex/routes does: meta and hidden field); unsafe routes answer `{ ok }`. */
async function routes (app: FastifyInstance): Promise<void> {
  await app.register(fastifyFormbody)
  app.get('/form', async (_request, reply) => {
    reply.type('text/html')
    const meta = `<meta name="csrf-token" content="${reply.csrfToken()}">`
    const field = `<input type="hidden" name="_csrf" value="${reply.csrfToken()}">`
    return `${meta}<form method="post">${field}</form>`
  })
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) app.route({ method, url: '/action', handler: async () => ({ ok: true }) })
  app.post('/api/hook', { config: { csrf: false } }, async () => ({ ok: true }))
  app.route({ method: ['GET', 'POST'], url: '/both', handler: async (request) => ({ method: request.method }) })
}

/** A browser's first visit: the token of the page and the cookie it got. */
async function visit (app: FastifyInstance, cookie?: string): Promise<{ token: string, cookie: string, setCookie: boolean }> {
  const response = await app.inject({ url: '/form', headers: cookie === undefined ? {} : { cookie } })
  const token = /content="([^"]+)"/.exec(response.body)?.[1] ?? ''
  return { token, cookie: cookie ?? cookieHeader(response), setCookie: response.cookies.length > 0 }
}

t.test('SEC-01: a POST without a token is refused with 403 CSRF_MISSING', async (t) => {
  const app = await build(t, {}, { routes })
  const { cookie } = await visit(app)
  for (const headers of [{}, { cookie }]) {
    const response = await app.inject({ method: 'POST', url: '/action', headers, payload: { a: 1 } })
    t.equal(response.statusCode, 403)
    t.equal(json(response).code, 'FST_NEX_SECURITY_CSRF_MISSING')
  }
  const form = await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' })
  t.equal(json(form).code, 'FST_NEX_SECURITY_CSRF_MISSING', 'a form without the field')
})

t.test('SEC-01: a token from another cookie secret, or another app secret, is refused with 403 CSRF_INVALID', async (t) => {
  const app = await build(t, {}, { routes })
  const alice = await visit(app)
  const mallory = await visit(app)
  t.not(alice.cookie, mallory.cookie)
  const crossed = await app.inject({ method: 'POST', url: '/action', headers: { cookie: alice.cookie, 'x-csrf-token': mallory.token } })
  t.equal(crossed.statusCode, 403)
  t.equal(json(crossed).code, 'FST_NEX_SECURITY_CSRF_INVALID')
  const noCookie = await app.inject({ method: 'POST', url: '/action', headers: { 'x-csrf-token': alice.token } })
  t.equal(json(noCookie).code, 'FST_NEX_SECURITY_CSRF_INVALID', 'a token without its cookie')
  const garbage = await app.inject({ method: 'POST', url: '/action', headers: { cookie: alice.cookie, 'x-csrf-token': 'abc-def' } })
  t.equal(json(garbage).code, 'FST_NEX_SECURITY_CSRF_INVALID')
  // Same cookie secret, but the token was signed by an app with another secret.
  const other = await build(t, { secret: 'another-secret-0123456789abcdef-0123456789' }, { routes })
  const foreign = await visit(other, alice.cookie)
  t.not(foreign.token, alice.token)
  const signedElsewhere = await app.inject({ method: 'POST', url: '/action', headers: { cookie: alice.cookie, 'x-csrf-token': foreign.token } })
  t.equal(json(signedElsewhere).code, 'FST_NEX_SECURITY_CSRF_INVALID', 'tokens are HMAC-signed with the app secret')
})

t.test('SEC-01: a cross-site form post is refused with 403 CROSS_SITE, even with a valid token', async (t) => {
  const app = await build(t, {}, { routes })
  const { token, cookie } = await visit(app)
  const response = await app.inject({
    method: 'POST',
    url: '/action',
    headers: { cookie, origin: 'http://evil', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(token)}`
  })
  t.equal(response.statusCode, 403)
  t.equal(json(response).code, 'FST_NEX_SECURITY_CROSS_SITE')
})

t.test('SEC-01: a valid header token passes (htmx), on every unsafe method', async (t) => {
  const app = await build(t, {}, { routes })
  const { token, cookie } = await visit(app)
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const response = await app.inject({ method, url: '/action', headers: { cookie, 'x-csrf-token': token, 'sec-fetch-site': 'same-origin', 'hx-request': 'true' } })
    t.equal(response.statusCode, 200, method)
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const response = await app.inject({ method, url: '/action', headers: { cookie } })
    t.equal(response.statusCode, 403, `${method} without a token`)
  }
})

t.test('SEC-01: a valid _csrf form field passes (urlencoded, and JSON bodies too)', async (t) => {
  const app = await build(t, {}, { routes })
  const { token, cookie } = await visit(app)
  const form = await app.inject({
    method: 'POST',
    url: '/action',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80', host: 'localhost' },
    payload: `title=milk&_csrf=${encodeURIComponent(token)}`
  })
  t.equal(form.statusCode, 200)
  const body = await app.inject({ method: 'POST', url: '/action', headers: { cookie }, payload: { _csrf: token } })
  t.equal(body.statusCode, 200)
  const wrong = await app.inject({
    method: 'POST', url: '/action', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: '_csrf=nope'
  })
  t.equal(json(wrong).code, 'FST_NEX_SECURITY_CSRF_INVALID')
  const header = await app.inject({
    method: 'POST', url: '/action', headers: { cookie, 'x-csrf-token': 'nope', 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(token)}`
  })
  t.equal(json(header).code, 'FST_NEX_SECURITY_CSRF_INVALID', 'the header wins over the field')
})

t.test('an opted-out route (config.csrf: false) and safe methods are never checked', async (t) => {
  const app = await build(t, {}, { routes })
  const hook = await app.inject({ method: 'POST', url: '/api/hook', headers: { origin: 'https://partner.example', 'sec-fetch-site': 'cross-site' }, payload: {} })
  t.equal(hook.statusCode, 200, 'no token and no Fetch-Metadata check')
  for (const method of ['GET', 'HEAD', 'OPTIONS'] as const) {
    const response = await app.inject({ method, url: '/both', headers: { origin: 'http://evil', 'sec-fetch-site': 'cross-site' } })
    t.not(response.statusCode, 403, method)
  }
  t.equal((await app.inject({ method: 'POST', url: '/both' })).statusCode, 403, 'the POST of a GET+POST route is checked')
})

t.test('one cookie, many requests: its tokens keep working, and the cookie is set once', async (t) => {
  const app = await build(t, {}, { routes })
  const first = await visit(app)
  t.ok(first.setCookie, 'the first visit sets the secret cookie')
  for (let i = 0; i < 25; i++) {
    const response = await app.inject({ method: 'POST', url: '/action', headers: { cookie: first.cookie, 'x-csrf-token': first.token } })
    t.equal(response.statusCode, 200, `request ${i}`)
  }
  const later = await visit(app, first.cookie)
  t.notOk(later.setCookie, 'a browser with the cookie keeps it')
  t.not(later.token, first.token, 'each page gets a fresh token…')
  for (const token of [first.token, later.token]) {
    t.equal((await app.inject({ method: 'POST', url: '/action', headers: { cookie: first.cookie, 'x-csrf-token': token } })).statusCode, 200, '…and all of them stay valid (other tabs keep working)')
  }
})

t.test('reply.csrfToken() is generated once per reply, with one Set-Cookie', async (t) => {
  const app = await build(t, {}, { routes })
  const response = await app.inject('/form')
  const tokens = [...response.body.matchAll(/(?:content|value)="([^"]+)"/g)].map(match => match[1])
  t.equal(tokens.length, 2)
  t.equal(tokens[0], tokens[1], 'the meta and the hidden field carry the same token')
  t.equal(response.cookies.length, 1)
  const [cookie] = response.cookies
  t.match(cookie, { name: '_csrf', path: '/', httpOnly: true, sameSite: 'Lax' })
  t.notOk(cookie?.secure, 'development over http: not Secure (secure: auto)')
  t.match(String(response.headers['set-cookie']), /SameSite=Lax/)
})

t.test('production: the cookie is Secure; no secret is a startup error; a short one too', async (t) => {
  const app = await build(t, { dev: false }, { routes })
  const [cookie] = (await app.inject('/form')).cookies
  t.equal(cookie?.secure, true)
  const saved = process.env.NEX_SECRET
  delete process.env.NEX_SECRET
  t.teardown(() => { if (saved !== undefined) process.env.NEX_SECRET = saved })
  await t.rejects(build(t, { dev: false, secret: undefined }), errors.FST_NEX_SECURITY_MISSING_SECRET)
  await t.rejects(build(t, { secret: 'short' }), { code: 'FST_NEX_SECURITY_WEAK_SECRET', message: /has 5 characters/ })
  const withoutCsrf = await build(t, { dev: false, secret: undefined, csrf: false }, { routes: (app) => { app.post('/x', async () => 'ok') } })
  t.equal((await withoutCsrf.inject({ method: 'POST', url: '/x' })).statusCode, 200, 'no secret needed without CSRF')
})

t.test('development without a secret: a per-process secret and a warning', async (t) => {
  const saved = process.env.NEX_SECRET
  delete process.env.NEX_SECRET
  t.teardown(() => { if (saved !== undefined) process.env.NEX_SECRET = saved })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } } })
  t.teardown(async () => await app.close())
  await app.register(nexSecurity, { dev: true, rateLimit: false })
  await routes(app)
  const { token, cookie } = await visit(app)
  t.equal((await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'x-csrf-token': token } })).statusCode, 200)
  t.match(lines.join(''), /random per-process secret/)
})

t.test('a bad header token is refused in onRequest, before the body is read', async (t) => {
  let parsed = 0
  const app = await build(t, {}, {
    routes: async (app) => {
      await routes(app)
      app.addHook('preParsing', async (request) => { if (request.method === 'POST') parsed++ })
    }
  })
  const { token, cookie } = await visit(app)
  const bad = await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'x-csrf-token': `${token}x` }, payload: { big: 'x'.repeat(1000) } })
  t.equal(json(bad).code, 'FST_NEX_SECURITY_CSRF_INVALID')
  const crossSite = await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'sec-fetch-site': 'cross-site' }, payload: { a: 1 } })
  t.equal(json(crossSite).code, 'FST_NEX_SECURITY_CROSS_SITE')
  t.equal(parsed, 0, 'no body was parsed')
  await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'x-csrf-token': token }, payload: { a: 1 } })
  t.equal(parsed, 1)
})

t.test('routes registered before the plugin are protected too', async (t) => {
  const app = await build(t, {}, {
    before: (app) => {
      app.post('/early', async () => ({ ok: true }))
      app.post('/early-api', { config: { csrf: false } }, async () => ({ ok: true }))
      app.register(async (child) => { child.delete('/early/child', async () => ({ ok: true })) })
    },
    routes
  })
  const { token, cookie } = await visit(app)
  t.equal(json(await app.inject({ method: 'POST', url: '/early' })).code, 'FST_NEX_SECURITY_CSRF_MISSING')
  t.equal(json(await app.inject({ method: 'DELETE', url: '/early/child', headers: { cookie } })).code, 'FST_NEX_SECURITY_CSRF_MISSING')
  t.equal(json(await app.inject({ method: 'POST', url: '/early', headers: { 'sec-fetch-site': 'cross-site' } })).code, 'FST_NEX_SECURITY_CROSS_SITE')
  t.equal((await app.inject({ method: 'POST', url: '/early', headers: { cookie, 'x-csrf-token': token } })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/early/child', headers: { cookie, 'x-csrf-token': token } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/early-api' })).statusCode, 200)
})

t.test('app.nexSecurity.csrf tells @nex/routes where tokens go; a browser-like client round-trips them', async (t) => {
  const app = await build(t, { csrf: { header: 'X-Token', field: 'token', cookieName: 'csrf_secret' } }, {
    routes: async (app) => {
      await app.register(fastifyFormbody)
      app.get('/', async (_request, reply) => reply.type('text/html').send(`<meta name="csrf-token" content="${reply.csrfToken()}">`))
      app.post('/', async () => 'done')
    }
  })
  t.same(app.nexSecurity.csrf, { field: 'token', header: 'x-token', cookieName: 'csrf_secret' })
  t.ok(Object.isFrozen(app.nexSecurity) && Object.isFrozen(app.nexSecurity.csrf))
  t.throws(() => { (app as unknown as { nexSecurity: unknown }).nexSecurity = null }, TypeError, 'read-only')
  const client = createTestClient(app, { csrfHeader: 'x-token', csrfField: 'token' })
  await client.get('/')
  t.ok(client.cookies.has('csrf_secret'))
  t.equal((await client.post('/', { htmx: true })).statusCode, 200, 'header token')
  t.equal((await client.post('/', { form: { a: '1' } })).statusCode, 200, 'form field')
})

t.test('csrf: false: no checks, app.nexSecurity.csrf is null, reply.csrfToken() throws a coded error', async (t) => {
  const app = await build(t, { csrf: false }, {
    routes: (app) => {
      app.post('/', async () => 'ok')
      app.get('/token', async (_request, reply) => reply.csrfToken())
    }
  })
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200)
  t.equal(json(await app.inject({ method: 'POST', url: '/', headers: { 'sec-fetch-site': 'cross-site' } })).code, 'FST_NEX_SECURITY_CROSS_SITE', 'Fetch-Metadata still on')
  t.equal(app.nexSecurity.csrf, null)
  t.equal(json(await app.inject('/token')).code, 'FST_NEX_SECURITY_CSRF_DISABLED')
})

t.test('@fastify/cookie registered before (by @nex/session) is reused', async (t) => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(fastifyCookie)
  await app.register(nexSecurity, { secret: SECRET, rateLimit: false })
  await routes(app)
  const { token, cookie } = await visit(app)
  t.equal((await app.inject({ method: 'POST', url: '/action', headers: { cookie, 'x-csrf-token': token } })).statusCode, 200)
})

t.test('bad per-route config is a startup error naming the route (at the first request for earlier routes)', async (t) => {
  await t.rejects(build(t, {}, {
    routes: (app) => { app.post('/x', { config: { csrf: 'no' as unknown as boolean } }, async () => 'x') }
  }), { code: 'FST_NEX_SECURITY_INVALID_ROUTE_CONFIG', message: /POST \/x has config\.csrf "no"/ })
  const app = await build(t, {}, { before: (app) => { app.get('/early', { config: { csp: 1 as unknown as boolean } }, async () => 'x') } })
  const response = await app.inject('/early')
  t.equal(response.statusCode, 500)
  t.equal(json(response).code, 'FST_NEX_SECURITY_INVALID_ROUTE_CONFIG')
})

t.test('the rate limiter runs before the unsafe-method checks: refused attempts are counted', async (t) => {
  const app = await build(t, { rateLimit: { max: 3, timeWindow: 60_000 } }, { routes })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await app.inject({ method: 'POST', url: '/action', headers: i % 2 === 0 ? {} : { 'sec-fetch-site': 'cross-site' } })).statusCode)
  t.same(statuses, [403, 403, 403, 429, 429])
})
