// Options are checked once, at register time, with coded errors that name the option; registration rules.
import { Writable } from 'node:stream'
import t from 'tap'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import { createRequire } from 'node:module'
import { createTestClient } from '@nex/testing'
import nexSession, { DEFAULTS, type SessionOptions } from '../src/index.js'
import { normalizeOptions } from '../src/options.js'
import { COOKIE, cookieValue, SECRET } from './helpers.js'

async function register (options: SessionOptions): Promise<void> {
  const app = Fastify()
  try {
    await app.register(nexSession, { secret: SECRET, ...options })
    await app.ready()
  } finally {
    await app.close()
  }
}

t.test('defaults', async (t) => {
  t.same(DEFAULTS, {
    backend: 'store',
    ttl: 86_400_000,
    maxSessions: 100_000,
    maxSessionBytes: 16_384,
    maxBytes: 67_108_864,
    cookieName: 'nex_session',
    secure: 'auto'
  })
  const normalized = normalizeOptions({ secret: SECRET })
  t.equal(normalized.maxAge, undefined, 'no Max-Age: a browser-session cookie')
  t.ok(Object.isFrozen(normalized))
})

t.test('invalid options fail at register with FST_NEX_SESSION_INVALID_OPTION naming the option', async (t) => {
  const cases: Array<[SessionOptions, RegExp]> = [
    [{ backend: 'memory' as never }, /option "backend" must be "store" or "cookie", got "memory"/],
    [{ backend: 'cookie', store: memoryLike() as never }, /option "store" must be left out with backend "cookie"/],
    [{ store: {} as never }, /option "store" must be a PageStore instance .* got an object without get, getAll/],
    [{ store: 'redis://localhost' as never }, /option "store" must be a PageStore .* got "redis:\/\/localhost"/],
    [{ cookieName: 'my session' }, /option "cookieName" must be a cookie name .* got "my session"/],
    [{ cookieName: '' }, /option "cookieName"/],
    [{ secure: 'yes' as never }, /option "secure" must be "auto", true or false, got "yes"/],
    [{ maxAge: 0 }, /option "maxAge" must be a positive integer, got 0/],
    [{ maxAge: 1.5 }, /option "maxAge" must be a positive integer, got 1.5/],
    [{ ttl: -1 }, /option "ttl" must be a positive integer, got -1/],
    [{ ttl: '1h' as never }, /option "ttl" must be a positive integer, got "1h"/],
    [{ maxSessions: 0 }, /option "maxSessions"/],
    [{ maxSessionBytes: 2048, maxBytes: 1024 }, /option "maxSessionBytes" must be at most maxBytes \(1024\), got 2048/]
  ]
  for (const [options, message] of cases) {
    await t.rejects(register(options), { code: 'FST_NEX_SESSION_INVALID_OPTION', message }, JSON.stringify(options))
  }
})

t.test('secrets: the app secret rules of @nex/state', async (t) => {
  await t.rejects(register({ secret: 'short' }), { code: 'FST_NEX_STATE_WEAK_SECRET' })
  t.throws(() => normalizeOptions({}, { NODE_ENV: 'production' }), { code: 'FST_NEX_STATE_MISSING_SECRET' }, 'production needs one')
  t.equal(normalizeOptions({}, { NEX_SECRET: SECRET }).secrets[0], SECRET, 'NEX_SECRET')

  const { NEX_SECRET, NODE_ENV } = process.env
  delete process.env.NEX_SECRET
  delete process.env.NODE_ENV
  t.teardown(() => Object.assign(process.env, NEX_SECRET === undefined ? {} : { NEX_SECRET }, NODE_ENV === undefined ? {} : { NODE_ENV }))
  let logs = ''
  const stream = new Writable({ write (chunk, _encoding, done) { logs += String(chunk); done() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(nexSession)
  await app.ready()
  t.match(logs, /@nex\/session: no secret configured/, 'development without a secret: a warning')
})

t.test('registered once: a second session plugin on request.session is refused', async (t) => {
  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(nexSession, { secret: SECRET })
  await t.rejects(async () => {
    await twice.register(nexSession, { secret: SECRET })
  }, { code: 'FST_NEX_SESSION_ALREADY_REGISTERED' })

  const other = Fastify()
  t.teardown(() => other.close())
  const secureSession = createRequire(import.meta.url)('@fastify/secure-session')
  await other.register(secureSession, { key: Buffer.alloc(32, 1) })
  await t.rejects(async () => {
    await other.register(nexSession, { secret: SECRET })
  }, { code: 'FST_NEX_SESSION_ALREADY_REGISTERED' }, '@fastify/secure-session under its default name')
})

t.test('an @fastify/cookie registered by the app is used, not registered again', async (t) => {
  for (const backend of ['store', 'cookie'] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyCookie, { secret: 'cookie-signing-secret' })
    await app.register(nexSession, { secret: SECRET, backend })
    app.post('/', async (request) => {
      await request.session.set('a', 1)
      return { id: request.session.id }
    })
    app.get('/', async (request) => ({ a: await request.session.get('a') }))
    await app.ready()
    t.type(app.signCookie, 'function', `${backend}: the app's cookie plugin, with its options`)
    const browser = createTestClient(app)
    t.ok(cookieValue(await browser.post('/')), `${backend}: a session cookie`)
    t.same(JSON.parse((await browser.get('/')).body), { a: 1 }, `${backend}: read back`)
    t.ok(browser.cookies.has(COOKIE))
  }
})

function memoryLike (): Record<string, () => Promise<void>> {
  const noop = async (): Promise<void> => {}
  return { get: noop, getAll: noop, set: noop, update: noop, delete: noop, clear: noop, touch: noop, ping: noop, close: noop }
}
