// The session behaviour every backend shares, run against the memory store (created by the plugin), a
// Redis store on a real redis-server, and the encrypted-cookie backend.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createPageIdSigner, type JsonValue, type MemoryStore } from '@nex/state'
import { createRedisStore, DEFAULT_CLIENT_OPTIONS } from '@nex/redis'
import { createTestClient, startRedisServer, type TestClient } from '@nex/testing'
import { FLASH_COOKIE_LIMIT, type SessionOptions } from '../src/index.js'
import { createFlashCookieCodec } from '../src/lib/flash-cookie.js'
import { buildApp, clearsCookie, COOKIE, cookieValue, FLASH_COOKIE, OTHER_SECRET, SECRET, setCookieOf } from './helpers.js'

const DAY = 86_400_000
const SIGNED_ID = /^[\w-]{22}\.[\w-]{22}$/

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const client = new Redis(redis.url, { ...DEFAULT_CLIENT_OPTIONS })
client.on('error', () => {})
t.teardown(() => { client.disconnect() })
if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))

interface Variant {
  name: string
  backend: 'store' | 'cookie'
  options (): SessionOptions
  /** Sessions the store holds; null for the cookie backend. */
  size (app: FastifyInstance): Promise<number | null>
  /** What the store holds for a session id (the cookie backend has nothing server-side). */
  dataOf (app: FastifyInstance, id: string): Promise<Record<string, JsonValue> | null>
}

const variants: Variant[] = [
  {
    name: 'memory store',
    backend: 'store',
    options: () => ({}),
    size: async (app) => (app.nexSession.store as MemoryStore).size,
    dataOf: async (app, id) => await app.nexSession.store?.getAll(id) ?? null
  },
  {
    name: 'Redis store',
    backend: 'store',
    options: () => ({ store: createRedisStore({ client, namespace: 'session', ttl: DAY }) }),
    size: async () => (await client.keys('nex:session:*')).length,
    dataOf: async (app, id) => await app.nexSession.store?.getAll(id) ?? null
  },
  {
    name: 'cookie backend',
    backend: 'cookie',
    options: () => ({ backend: 'cookie' }),
    size: async () => null,
    dataOf: async () => null
  }
]

/** A browser (cookie jar) holding `cookie` as its session cookie, as if an attacker had planted it. */
function browserWith (app: FastifyInstance, cookie: string): TestClient {
  const browser = createTestClient(app)
  ;(browser.cookies as Map<string, string>).set(COOKIE, cookie)
  return browser
}

for (const variant of variants) {
  t.test(variant.name, async (t) => {
    const build = async (t: Test, options: SessionOptions = {}, extra: Parameters<typeof buildApp>[2] = {}): Promise<FastifyInstance> => {
      // Each Redis test starts from an empty database, so key counts are this test's own.
      await client.flushdb()
      return await buildApp(t, { ...variant.options(), ...options }, extra)
    }

    t.test('anonymous requests store nothing and send no cookie (MEM-04)', async (t) => {
      const app = await build(t)
      const before = await variant.size(app)
      const answers = new Set<string>()
      for (let i = 0; i < 100; i++) {
        const browser = createTestClient(app)
        for (const url of ['/read', '/page', '/untouched']) {
          const response = await browser.get(url)
          answers.add(`${url} ${response.statusCode} ${response.body} set-cookie: ${String(response.headers['set-cookie'])}`)
        }
      }
      t.same([...answers], [
        '/read 200 {"id":null,"data":{}} set-cookie: undefined',
        '/page 200 {"id":null,"user":null,"flashes":{}} set-cookie: undefined',
        '/untouched 200 {"ok":true} set-cookie: undefined'
      ], '300 requests: empty sessions, no Set-Cookie')
      t.equal(await variant.size(app), before, 'the store did not grow')
      if (before !== null) t.equal(before, 0, 'and holds nothing')
    })

    t.test('the first write creates the session and sends the cookie with safe flags', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      const first = await browser.post('/set', { json: { key: 'theme', value: 'dark' } })
      t.equal(first.statusCode, 200)
      const header = setCookieOf(first)
      t.ok(header, 'Set-Cookie')
      t.match(header, /^nex_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/, 'HttpOnly, SameSite=Lax, Path=/, a browser-session cookie')
      t.notMatch(header, /Secure/, 'no Secure over plain HTTP with secure: "auto"')
      const { id } = JSON.parse(first.body) as { id: string }
      t.type(id, 'string', 'the session has an id')
      if (variant.backend === 'store') {
        t.match(id, SIGNED_ID, 'a signed id')
        t.equal(cookieValue(first), id, 'which is the cookie')
        t.same(await variant.dataOf(app, id), { theme: 'dark' }, 'stored under it')
        t.equal(await variant.size(app), 1)
      }

      const read = await browser.get('/read')
      t.same(JSON.parse(read.body), { id, data: { theme: 'dark' } }, 'read back with the cookie')
      t.equal(read.headers['set-cookie'], undefined, 'reading sends no cookie')

      const second = await browser.post('/set', { json: { key: 'lang', value: 'fr' } })
      t.equal(JSON.parse(second.body).id, id, 'the same session')
      if (variant.backend === 'store') t.equal(second.headers['set-cookie'], undefined, 'the id did not change: no cookie')
      else t.ok(setCookieOf(second), 'the cookie holds the data: sent again')
      t.same(JSON.parse((await browser.get('/read')).body).data, { theme: 'dark', lang: 'fr' })
    })

    t.test('cookie options: name, Secure, Max-Age, Secure behind a trusted TLS proxy', async (t) => {
      const app = await build(t, { cookieName: 'sid', secure: true, maxAge: 3_600_000 })
      const response = await createTestClient(app).post('/set', { json: { key: 'a', value: 1 } })
      t.match(setCookieOf(response, 'sid'), /^sid=[^;]+; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
      t.equal(setCookieOf(response), undefined, 'no cookie under the default name')

      const proxied = await build(t, {}, { fastify: { trustProxy: '127.0.0.1' } })
      const https = await proxied.inject({ method: 'POST', url: '/set', payload: { key: 'a', value: 1 }, headers: { 'x-forwarded-proto': 'https' } })
      t.match(setCookieOf(https), /; Secure; /, 'secure: "auto" follows request.protocol (X-Forwarded-Proto from a trusted proxy)')
      const http = await proxied.inject({ method: 'POST', url: '/set', payload: { key: 'a', value: 1 } })
      t.notMatch(setCookieOf(http), /Secure/)
    })

    t.test('forged and foreign cookies are ignored (anonymous) and cleared', async (t) => {
      const app = await build(t)
      const owner = createTestClient(app)
      const real = cookieValue(await owner.post('/set', { json: { key: 'secret', value: 'mine' } })) as string
      const other = await buildApp(t, { ...variant.options(), secret: OTHER_SECRET })
      const foreign = cookieValue(await createTestClient(other).post('/set', { json: { key: 'x', value: 1 } })) as string
      const forged: Record<string, string> = {
        garbage: 'garbage',
        'a page id (same secret, page-id purpose)': createPageIdSigner([SECRET]).issue(),
        'a session id signed with another secret': createPageIdSigner([OTHER_SECRET], 'session-id').issue(),
        'a session cookie of an app with another secret': foreign,
        'the real cookie, tampered': real.slice(0, -2) + (real.endsWith('AA') ? 'BB' : 'AA'),
        'an empty value': ''
      }
      for (const [what, value] of Object.entries(forged)) {
        const browser = browserWith(app, value)
        const read = await browser.get('/read')
        t.same(JSON.parse(read.body), { id: null, data: {} }, `${what}: anonymous`)
        t.ok(clearsCookie(read), `${what}: the cookie is cleared`)
        const write = await browserWith(app, value).post('/set', { json: { key: 'k', value: 1 } })
        const id = JSON.parse(write.body).id as string
        t.ok(id !== null && cookieValue(write) !== value, `${what}: a write starts a new session`)
      }
      t.same(JSON.parse((await owner.get('/read')).body).data, { secret: 'mine' }, 'the real session is untouched')
    })

    t.test('regenerate: a new id, the data moved, the old id worth nothing (session fixation, SEC-07)', async (t) => {
      const app = await build(t)
      // The attacker gets a genuine session (any write makes one) and plants its cookie in the victim's browser.
      const attacker = createTestClient(app)
      const planted = await attacker.post('/set', { json: { key: 'cart', value: ['book'] } })
      const plantedId = JSON.parse(planted.body).id as string
      const victim = browserWith(app, cookieValue(planted) as string)

      const login = await victim.post('/login')
      const newId = JSON.parse(login.body).id as string
      t.not(newId, plantedId, 'a new id at login')
      t.ok(setCookieOf(login), 'and a new cookie')
      t.not(victim.cookies.get(COOKIE), cookieValue(planted), 'that replaces the planted one')
      t.same(JSON.parse((await victim.get('/read')).body), { id: newId, data: { cart: ['book'], user: 'admin' } }, 'the data moved along')
      t.equal(JSON.parse((await attacker.get('/page')).body).user, null, 'the attacker\'s cookie is not logged in')
      if (variant.backend === 'store') {
        t.same(await variant.dataOf(app, plantedId), {}, 'the old id\'s data is deleted')
        t.equal(await variant.size(app), 1, 'one session left')
        t.same(JSON.parse((await attacker.get('/read')).body).data, {}, 'the old id reads empty')
      }

      const anonymous = await createTestClient(app).post('/login')
      t.ok(JSON.parse(anonymous.body).id, 'regenerate on an anonymous session is a no-op; the write after it creates one')
    })

    t.test('destroy, then flash in the same request (logout): the flash needs no new session', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      const oldId = JSON.parse((await browser.post('/login')).body).id as string
      const oldCookie = browser.cookies.get(COOKIE) as string

      const logout = await browser.post('/logout')
      t.equal(logout.statusCode, 303)
      t.equal(logout.headers.location, '/page')
      t.ok(clearsCookie(logout), 'the session cookie is cleared')
      t.ok(cookieValue(logout, FLASH_COOKIE), 'the flash travels in the flash cookie')
      if (variant.backend === 'store') {
        t.same(await variant.dataOf(app, oldId), {}, 'the old session\'s data is deleted')
        t.equal(await variant.size(app), 0, 'and no new session was stored for the flash')
      }

      const shown = await browser.get('/page')
      const page = JSON.parse(shown.body)
      t.same(page.flashes, { success: ['Logged out successfully.'] }, 'the flash is shown after the redirect')
      t.equal(page.user, null, 'logged out')
      t.equal(page.id, null, 'anonymous')
      t.ok(clearsCookie(shown, FLASH_COOKIE), 'taking it clears the flash cookie')
      t.same(JSON.parse((await browser.get('/page')).body).flashes, {}, 'once')
      const replayed = JSON.parse((await browserWith(app, oldCookie).get('/page')).body).user
      if (variant.backend === 'store') t.equal(replayed, null, 'a copy of the old cookie is logged out too')
      else t.equal(replayed, 'admin', 'documented: a cookie session cannot be revoked, a copy of the old cookie stays valid until it expires')

      await browser.post('/login')
      const destroyed = await browser.post('/destroy')
      t.equal(JSON.parse(destroyed.body).id, null, 'destroy alone: anonymous')
      t.ok(clearsCookie(destroyed), 'and the cookie cleared')
      t.same(JSON.parse((await browser.get('/read')).body), { id: null, data: {} })
      const again = await browser.post('/destroy')
      t.equal(again.headers['set-cookie'], undefined, 'destroying an anonymous session sends nothing')
    })

    t.test('a flash survives a redirect and shows once, without a session (MEM-04)', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      const redirect = await browser.post('/protected')
      t.equal(redirect.statusCode, 303)
      t.equal(setCookieOf(redirect), undefined, 'no session cookie')
      t.match(setCookieOf(redirect, FLASH_COOKIE), /^nex_session_flash=[\w-]+\.[\w-]{22}; Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/,
        'a signed flash cookie: 60 s, HttpOnly, SameSite=Lax, Path=/')
      if (variant.backend === 'store') t.equal(await variant.size(app), 0, 'nothing stored')
      t.same(JSON.parse((await browser.get('/read')).body), { id: null, data: {} }, 'still anonymous')
      await browser.post('/protected')
      await browser.post('/flash', { json: { type: 'error', message: 'Second.' } })
      await browser.post('/flash', { json: { type: 'info', message: 'Note.' } })
      const page = JSON.parse((await browser.get('/page')).body)
      t.same(page.flashes, { error: ['Please log in to access that page.', 'Second.'], info: ['Note.'] }, 'all of them, in order, a repeated one once')
      t.same(JSON.parse((await browser.get('/page')).body).flashes, {}, 'shown once')
      t.equal(browser.cookies.size, 0, 'the browser holds no cookie at the end')

      const user = createTestClient(app)
      await user.post('/login')
      const inSession = await user.post('/protected')
      if (variant.backend === 'store') t.equal(inSession.headers['set-cookie'], undefined, 'with a session: no cookie at all')
      t.equal(setCookieOf(inSession, FLASH_COOKIE), undefined, 'no flash cookie: the flash lives in the session')
      t.same(JSON.parse((await user.get('/page')).body).flashes, { error: ['Please log in to access that page.'] })
    })

    t.test('1 000 anonymous flash-and-redirect requests: no session stored, no user evicted, each flash shown once', async (t) => {
      // maxSessions: the memory store's LRU bound (only for the store the plugin creates), so a session
      // created per flash would evict the logged-in user.
      const app = await build(t, { maxSessions: 500 })
      const user = createTestClient(app)
      await user.post('/login')
      const before = await variant.size(app)
      const outcomes = new Map<string, number>()
      const count = (what: string): void => { outcomes.set(what, (outcomes.get(what) ?? 0) + 1) }
      for (let i = 0; i < 1_000; i++) {
        const visitor = createTestClient(app)
        const redirect = await visitor.post('/protected')
        count(`${redirect.statusCode} session cookie: ${String(setCookieOf(redirect) !== undefined)}, flash cookie: ${String(cookieValue(redirect, FLASH_COOKIE) !== undefined)}`)
        count(`next: ${JSON.stringify(JSON.parse((await visitor.get('/page')).body))}`)
        count(`after: ${JSON.stringify(JSON.parse((await visitor.get('/page')).body).flashes)}`)
      }
      t.same(Object.fromEntries(outcomes), {
        '303 session cookie: false, flash cookie: true': 1_000,
        'next: {"id":null,"user":null,"flashes":{"error":["Please log in to access that page."]}}': 1_000,
        'after: {}': 1_000
      }, 'each: a redirect with a flash cookie and no session, the flash on the next request, then gone')
      t.equal(await variant.size(app), before, `the store did not grow (${String(before)})`)
      if (before !== null) t.equal(before, 1, 'it holds the user\'s session only')
      t.equal(JSON.parse((await user.get('/page')).body).user, 'admin', 'the logged-in user is still logged in')
    })

    t.test('a flash set just before login is shown once, with the session\'s own', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      await browser.post('/protected')
      const login = await browser.post('/login')
      t.ok(cookieValue(login), 'the login creates the session')
      t.equal(setCookieOf(login, FLASH_COOKIE), undefined, 'and leaves the flash cookie alone')
      await browser.post('/flash', { json: { type: 'success', message: 'Welcome back!' } })
      await browser.post('/flash', { json: { type: 'error', message: 'Disk almost full.' } })
      const page = JSON.parse((await browser.get('/page')).body)
      t.same(page.flashes, { error: ['Please log in to access that page.', 'Disk almost full.'], success: ['Welcome back!'] },
        'the flash cookie\'s first, then the session\'s')
      t.equal(page.user, 'admin')
      t.same(JSON.parse((await browser.get('/page')).body).flashes, {}, 'each once')
      t.notOk(browser.cookies.has(FLASH_COOKIE), 'the flash cookie is gone')
    })

    t.test('tampered, foreign and expired flash cookies are ignored and cleared', async (t) => {
      const app = await build(t)
      const real = cookieValue(await createTestClient(app).post('/protected'), FLASH_COOKIE) as string
      const [payload = '', tag = ''] = real.split('.')
      const other = await buildApp(t, { ...variant.options(), secret: OTHER_SECRET })
      const foreign = cookieValue(await createTestClient(other).post('/protected'), FLASH_COOKIE) as string
      const forgedPayload = Buffer.from(JSON.stringify([Math.floor(Date.now() / 1000) + 60, { error: ['You won a prize'] }])).toString('base64url')
      const expired = createFlashCookieCodec([SECRET]).encode(FLASH_COOKIE, { info: ['old'] }, { type: 'info', message: 'old' }, Date.now() - 61_000).value
      const tampered: Record<string, string> = {
        'another message under the real tag': `${forgedPayload}.${tag}`,
        'the real payload, tag changed': `${payload}.${tag.slice(0, -2)}${tag.endsWith('AA') ? 'BB' : 'AA'}`,
        'the payload alone': payload,
        'a flash cookie of an app with another secret': foreign,
        'a real one, 61 s old': expired,
        'a session id': createPageIdSigner([SECRET], 'session-id').issue(),
        garbage: 'garbage',
        'over 2 KiB': 'a'.repeat(3_000)
      }
      for (const [what, value] of Object.entries(tampered)) {
        const page = await app.inject({ url: '/page', cookies: { [FLASH_COOKIE]: value } })
        t.same(JSON.parse(page.body).flashes, {}, `${what}: no flashes`)
        t.ok(clearsCookie(page, FLASH_COOKIE), `${what}: cleared`)
        const untouched = await app.inject({ url: '/untouched', cookies: { [FLASH_COOKIE]: value } })
        t.ok(clearsCookie(untouched, FLASH_COOKIE), `${what}: cleared also by a request that does not use the session`)
      }
      const genuine = await app.inject({ url: '/page', cookies: { [FLASH_COOKIE]: real } })
      t.same(JSON.parse(genuine.body).flashes, { error: ['Please log in to access that page.'] }, 'the genuine one reads')
      const kept = await app.inject({ url: '/untouched', cookies: { [FLASH_COOKIE]: real } })
      t.equal(kept.headers['set-cookie'], undefined, 'and is left alone by a request that does not take flashes')
    })

    t.test('the flash cookie stays within 2 KiB: the oldest messages make room; one too long alone is refused', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      for (let i = 0; i < 60; i++) await browser.post('/flash', { json: { type: 'info', message: `Message number ${i} with some words.` } })
      const value = browser.cookies.get(FLASH_COOKIE) as string
      t.ok(FLASH_COOKIE.length + 1 + value.length <= FLASH_COOKIE_LIMIT, `name=value is ${FLASH_COOKIE.length + 1 + value.length} bytes`)
      const shown = JSON.parse((await browser.get('/page')).body).flashes.info as string[]
      t.ok(shown.length > 10 && shown.length < 60, `the newest ${shown.length} of 60 kept`)
      t.same(shown, Array.from({ length: shown.length }, (_, i) => `Message number ${60 - shown.length + i} with some words.`), 'the newest ones, in order')

      const long = await browser.post('/flash', { json: { type: 'info', message: 'x'.repeat(2_000) } })
      t.equal(long.statusCode, 500)
      t.equal(JSON.parse(long.body).code, 'FST_NEX_SESSION_FLASH_TOO_LARGE')
      t.equal(long.headers['set-cookie'], undefined, 'no cookie of either kind')
      if (variant.backend === 'store') t.equal(await variant.size(app), 0)
    })

    t.test('update and delete', async (t) => {
      const app = await build(t)
      const browser = createTestClient(app)
      t.equal(JSON.parse((await browser.post('/increment')).body).n, 1)
      t.equal(JSON.parse((await browser.post('/increment')).body).n, 2)
      const many = JSON.parse((await browser.post('/increment-many', { json: { count: 200 } })).body)
      t.equal(many.n, 202, '200 concurrent updates within one request all count')
      t.same([...many.results].sort((a: number, b: number) => a - b), Array.from({ length: 200 }, (_, i) => i + 3))
      await browser.post('/delete', { json: { key: 'n' } })
      t.same(JSON.parse((await browser.get('/read')).body).data, {}, 'deleted')

      const anonymous = await createTestClient(app).post('/delete', { json: { key: 'n' } })
      t.equal(JSON.parse(anonymous.body).id, null, 'a delete keeps an anonymous session anonymous')
      t.equal(anonymous.headers['set-cookie'], undefined)
    })

    if (variant.backend === 'store') {
      t.test('200 concurrent updates of one session end at 200', async (t) => {
        const app = await build(t)
        const browser = createTestClient(app)
        await browser.post('/login')
        const results = await Promise.all(Array.from({ length: 200 }, async () => JSON.parse((await browser.post('/increment')).body).n as number))
        t.same(results.sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1), 'each saw the one before')
        t.same(JSON.parse((await browser.get('/read')).body).data, { user: 'admin', n: 200 })
      })
    } else {
      t.test('concurrent requests: last writer wins (documented: each request carries its own copy)', async (t) => {
        const app = await build(t)
        const browser = createTestClient(app)
        await browser.post('/login')
        const results = await Promise.all([browser.post('/increment'), browser.post('/increment')])
        t.same(results.map((r) => JSON.parse(r.body).n), [1, 1], 'both started from the same cookie')
      })
    }

    t.test('values are JSON, reserved keys and flash arguments are refused with coded errors', async (t) => {
      const app = await build(t, {}, {
        routes (app) {
          app.post('/date', async (request) => {
            await request.session.set('when', new Date() as never)
            return null
          })
          app.get('/reserved', async (request) => await request.session.get('__nex_flash') ?? null)
          app.post('/bad-flash', async (request) => {
            const { type, message } = request.body as { type: never, message: never }
            await request.session.flash(type, message)
            return null
          })
        }
      })
      const browser = createTestClient(app)
      const date = await browser.post('/date')
      t.equal(date.statusCode, 500)
      t.equal(JSON.parse(date.body).code, 'FST_NEX_STATE_NOT_JSON')
      const reserved = await browser.post('/set', { json: { key: '__nex_flash', value: {} } })
      t.equal(JSON.parse(reserved.body).code, 'FST_NEX_SESSION_RESERVED_KEY')
      t.equal(JSON.parse((await browser.get('/reserved')).body).code, 'FST_NEX_SESSION_RESERVED_KEY', 'also for reads')
      for (const body of [{ type: 'not a type', message: 'x' }, { type: '__proto__', message: 'x' }, { type: 'info', message: 42 }]) {
        const response = await browser.post('/bad-flash', { json: body })
        t.equal(JSON.parse(response.body).code, 'FST_NEX_SESSION_INVALID_FLASH', JSON.stringify(body))
      }
      t.equal(browser.cookies.size, 0, 'no refused write created a session')
    })
  })
}
