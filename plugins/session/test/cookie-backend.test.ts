// The cookie backend's own rules: no server memory, the 4 KB cookie limit (checked exactly, at the write),
// expiry and sliding, key rotation.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createPageIdSigner } from '@nex/state'
import { createTestClient } from '@nex/testing'
import nexSession, { COOKIE_LIMIT, type SessionOptions } from '../src/index.js'
import { buildApp, clearsCookie, COOKIE, cookieValue, OTHER_SECRET, SECRET, setCookieOf } from './helpers.js'

const TTL = 3_600_000

/** The secure-session decorators, to make cookies with a chosen timestamp (no waiting in tests). */
interface Sealer {
  createSecureSession (data: Record<string, unknown>): unknown
  encodeSecureSession (session: unknown, name: string): string
  decodeSecureSession (cookie: string, log: undefined, name: string): { get (key: string): unknown } | null
}

async function build (t: Test, options: SessionOptions = {}): Promise<FastifyInstance & Sealer> {
  return await buildApp(t, { backend: 'cookie', ttl: TTL, ...options }) as FastifyInstance & Sealer
}

/** A session cookie value as the plugin sends it, issued `age` seconds ago. */
function sealed (app: FastifyInstance & Sealer, age: number, data: Record<string, unknown> = { user: 'admin' }): string {
  const session = app.createSecureSession({ __ts: Math.round(Date.now() / 1000) - age, id: 'planted-id', data })
  return app.encodeSecureSession(session, 'nexSealedSession').replace(';', '.')
}

function decode (app: FastifyInstance & Sealer, value: string): { get (key: string): unknown } | null {
  return app.decodeSecureSession(value.replace('.', ';'), undefined, 'nexSealedSession')
}

t.test('no server memory: no store', async (t) => {
  const app = await build(t)
  t.same(app.nexSession, { backend: 'cookie', store: null, cookieName: COOKIE })
})

t.test('the 4 KB limit is checked at the write, exactly, with a coded 413', async (t) => {
  const app = await build(t)
  const write = async (length: number) => await createTestClient(app).post('/set', { json: { key: 'blob', value: 'x'.repeat(length) } })
  let low = 1000
  let high = 5000
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if ((await write(middle)).statusCode === 200) low = middle
    else high = middle
  }
  const largest = await write(low)
  const cookie = (setCookieOf(largest) as string).split(';')[0] as string
  t.ok(cookie.length <= COOKIE_LIMIT, `the largest accepted cookie fits: ${cookie.length} bytes`)
  t.ok(cookie.length > COOKIE_LIMIT - 4, 'and is within one base64 quantum of the limit: the estimate is exact')

  const browser = createTestClient(app)
  await browser.post('/set', { json: { key: 'kept', value: 1 } })
  const refused = await browser.post('/set', { json: { key: 'blob', value: 'x'.repeat(low + 1) } })
  t.equal(refused.statusCode, 413)
  t.equal(JSON.parse(refused.body).code, 'FST_NEX_SESSION_COOKIE_TOO_LARGE')
  t.equal(refused.headers['set-cookie'], undefined, 'nothing sent')
  t.same(JSON.parse((await browser.get('/read')).body).data, { kept: 1 }, 'the session is as it was')
})

t.test('expiry and sliding', async (t) => {
  const app = await build(t)
  const fresh = await app.inject({ url: '/read', cookies: { [COOKIE]: sealed(app, 0) } })
  t.same(JSON.parse(fresh.body).data, { user: 'admin' }, 'a fresh cookie is read')
  t.equal(fresh.headers['set-cookie'], undefined, 'and not re-issued')

  const aged = sealed(app, 120)
  const used = await app.inject({ url: '/read', cookies: { [COOKIE]: aged } })
  t.same(JSON.parse(used.body).data, { user: 'admin' })
  const reissued = cookieValue(used)
  t.ok(reissued, 'a cookie older than a minute is re-issued when the session is used')
  const issuedAt = decode(app, reissued as string)?.get('__ts') as number
  t.ok(Math.abs(issuedAt - Date.now() / 1000) <= 2, 'with a new timestamp: the expiry slid')
  const unused = await app.inject({ url: '/untouched', cookies: { [COOKIE]: aged } })
  t.equal(unused.headers['set-cookie'], undefined, 'not by a request that does not use the session')

  const expired = await app.inject({ url: '/read', cookies: { [COOKIE]: sealed(app, TTL / 1000 + 10) } })
  t.same(JSON.parse(expired.body), { id: null, data: {} }, 'a cookie older than ttl is anonymous')
  t.ok(clearsCookie(expired), 'and cleared')
})

t.test('a store-backend session id is no cookie session', async (t) => {
  const app = await build(t)
  const response = await app.inject({ url: '/read', cookies: { [COOKIE]: createPageIdSigner([SECRET], 'session-id').issue() } })
  t.same(JSON.parse(response.body), { id: null, data: {} })
  t.ok(clearsCookie(response))
})

t.test('key rotation: cookies sealed with an older secret are read and re-sealed with the first', async (t) => {
  const old = await build(t)
  const browser = createTestClient(old)
  await browser.post('/login')
  const rotated = await build(t, { secret: [OTHER_SECRET, SECRET] })
  const response = await rotated.inject({ url: '/page', cookies: { [COOKIE]: browser.cookies.get(COOKIE) as string } })
  t.equal(JSON.parse(response.body).user, 'admin', 'read')
  const resealed = cookieValue(response) as string
  t.ok(resealed, 're-issued')
  const only = await build(t, { secret: OTHER_SECRET })
  t.equal(JSON.parse((await only.inject({ url: '/page', cookies: { [COOKIE]: resealed } })).body).user, 'admin', 'under the new key')
  t.equal(JSON.parse((await only.inject({ url: '/page', cookies: { [COOKIE]: browser.cookies.get(COOKIE) as string } })).body).user, null,
    'the old cookie is unreadable once the old secret is retired')
})

t.test('used before the cookie was decoded: a coded error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async (request) => {
    await request.session.get('user')
  })
  await app.register(nexSession, { secret: SECRET, backend: 'cookie' })
  app.get('/', async () => null)
  const response = await app.inject('/')
  t.equal(response.statusCode, 500)
  t.equal(JSON.parse(response.body).code, 'FST_NEX_SESSION_NOT_READY')
})
