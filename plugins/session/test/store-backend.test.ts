// The store backend: what each request costs in store operations, the Redis layout and TTLs, sharing one
// Redis between app instances, store failures, and which stores the plugin closes.
import t from 'tap'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { createMemoryStore, createPageIdSigner, type PageStore } from '@nex/state'
import { createRedisStore, DEFAULT_CLIENT_OPTIONS } from '@nex/redis'
import { countingStore, createTestClient, startRedisServer } from '@nex/testing'
import nexSession from '../src/index.js'
import { buildApp, COOKIE, cookieValue, FLASH_COOKIE, OTHER_SECRET, SECRET } from './helpers.js'

const redis = await startRedisServer()
t.teardown(() => redis.stop())

async function connect (url = redis.url): Promise<Redis> {
  const client = new Redis(url, { ...DEFAULT_CLIENT_OPTIONS })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}

const client = await connect()

const stores: Array<{ name: string, create: () => Promise<PageStore> }> = [
  { name: 'memory', create: async () => createMemoryStore() },
  {
    name: 'Redis',
    create: async () => {
      await client.flushdb()
      return createRedisStore({ client, namespace: 'session' })
    }
  }
]

for (const { name, create } of stores) {
  t.test(`${name}: store operations per request`, async (t) => {
    const counted = countingStore(await create())
    const app = await buildApp(t, { store: counted.store })

    for (let i = 0; i < 50; i++) {
      for (const url of ['/read', '/page', '/untouched']) await createTestClient(app).get(url)
      await createTestClient(app).post('/delete', { json: { key: 'x' } })
      await createTestClient(app).post('/destroy')
      const flashed = createTestClient(app)
      await flashed.post('/protected')
      await flashed.get('/page')
    }
    t.equal(counted.total(), 0, 'anonymous requests, also a flash and the page showing it: none at all')

    const forged = [createPageIdSigner([SECRET]).issue(), createPageIdSigner([OTHER_SECRET], 'session-id').issue(), 'garbage']
    for (const value of forged) await app.inject({ url: '/read', cookies: { [COOKIE]: value } })
    t.equal(counted.total(), 0, 'forged cookies: refused before any lookup')

    const browser = createTestClient(app)
    await browser.post('/set', { json: { key: 'a', value: 1 } })
    t.same(counted.calls, { set: 1 }, 'the first write: one set, no touch (the write slid the TTL)')

    await browser.get('/read')
    t.same(counted.calls, { set: 1, getAll: 1, touch: 1 }, 'a read: the read and one touch')

    await browser.get('/untouched')
    t.same(counted.calls, { set: 1, getAll: 1, touch: 1 }, 'a request that does not use the session: nothing')

    await browser.get('/page')
    t.same(counted.calls, { set: 1, getAll: 1, touch: 2, get: 2 }, 'a page with no flash: two reads and one touch, no write')

    await browser.post('/protected')
    await browser.get('/page')
    t.same(counted.calls, { set: 1, getAll: 1, touch: 2, get: 4, update: 2 }, 'a flash, then a page taking it: no touch, the writes slid the TTL')
  })
}

t.test('Redis: one hash per session under nex:session:{id}, every key with a TTL, touch slides it', async (t) => {
  await client.flushdb()
  const ttl = 60_000
  const app = await buildApp(t, { store: createRedisStore({ client, namespace: 'session', ttl }) })
  const browser = createTestClient(app)
  const id = JSON.parse((await browser.post('/login')).body).id as string
  await createTestClient(app).post('/set', { json: { key: 'a', value: 1 } })
  await createTestClient(app).post('/protected')
  const keys = await client.keys('*')
  t.equal(keys.length, 2, 'two sessions, two keys (an anonymous flash stores nothing)')
  t.ok(keys.includes(`nex:session:{${id}}`), 'named nex:session:{<id>}')
  for (const key of keys) {
    const pttl = await client.pttl(key)
    t.ok(pttl > 0 && pttl <= ttl, `${key} expires (${pttl} ms)`)
  }

  await client.pexpire(`nex:session:{${id}}`, 5_000)
  await browser.get('/read')
  t.ok(await client.pttl(`nex:session:{${id}}`) > 5_000, 'a request using the session slid its TTL back up')
})

t.test('Redis: two app instances sharing one Redis behave as one', async (t) => {
  await client.flushdb()
  // Each instance with its own client and store, as two processes would have.
  const a = await buildApp(t, { store: createRedisStore({ client: await connect(), namespace: 'session' }) })
  const b = await buildApp(t, { store: createRedisStore({ client: await connect(), namespace: 'session' }) })
  const onA = createTestClient(a)
  await onA.post('/login')
  const onB = createTestClient(b)
  ;(onB.cookies as Map<string, string>).set(COOKIE, onA.cookies.get(COOKIE) as string)
  t.equal(JSON.parse((await onB.get('/page')).body).user, 'admin', 'logged in on A, seen on B')

  const results = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
    JSON.parse((await (i % 2 === 0 ? onA : onB).post('/increment')).body).n as number))
  t.same(results.sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), '200 concurrent increments over both: none lost')

  // One browser moving between the instances: after the logout on B it holds only the flash cookie.
  await onB.post('/logout')
  t.same([...onB.cookies.keys()], [FLASH_COOKIE], 'logged out on B: the flash cookie, no session')
  ;(onA.cookies as Map<string, string>).clear()
  ;(onA.cookies as Map<string, string>).set(FLASH_COOKIE, onB.cookies.get(FLASH_COOKIE) as string)
  t.same(JSON.parse((await onA.get('/page')).body), {
    id: null,
    user: null,
    flashes: { success: ['Logged out successfully.'] }
  }, 'the flash shown on A (the same secret signs and verifies it)')
  t.equal(onA.cookies.size, 0, 'and cleared there')
  t.equal(await client.dbsize(), 0, 'no session left in Redis')
})

t.test('store failures propagate unchanged (503 + Retry-After), nothing is created', async (t) => {
  const down = await startRedisServer()
  const downClient = await connect(down.url)
  const app = await buildApp(t, { store: createRedisStore({ client: downClient, namespace: 'session' }) })
  const browser = createTestClient(app)
  await browser.post('/login')
  await down.stop()
  const read = await browser.get('/read')
  t.equal(read.statusCode, 503)
  t.equal(JSON.parse(read.body).code, 'FST_NEX_STATE_STORE_UNAVAILABLE')
  t.equal(read.headers['retry-after'], '1', 'with Retry-After, also without @nex/state')
  const write = await createTestClient(app).post('/set', { json: { key: 'a', value: 1 } })
  t.equal(write.statusCode, 503)
  t.equal(write.headers['set-cookie'], undefined, 'a failed first write sends no cookie')
})

t.test('a session over maxSessionBytes is refused with 413 and stays as it was', async (t) => {
  const app = await buildApp(t, { maxSessionBytes: 1024 })
  const browser = createTestClient(app)
  await browser.post('/set', { json: { key: 'small', value: 'x' } })
  const big = await browser.post('/set', { json: { key: 'big', value: 'x'.repeat(2000) } })
  t.equal(big.statusCode, 413)
  t.equal(JSON.parse(big.body).code, 'FST_NEX_STATE_PAGE_TOO_LARGE')
  t.same(JSON.parse((await browser.get('/read')).body).data, { small: 'x' })
})

t.test('secret rotation: ids signed with an older secret still verify', async (t) => {
  const store = createMemoryStore()
  const before = await buildApp(t, { store })
  const browser = createTestClient(before)
  await browser.post('/login')
  const after = await buildApp(t, { store, secret: [OTHER_SECRET, SECRET] })
  const rotated = createTestClient(after)
  ;(rotated.cookies as Map<string, string>).set(COOKIE, browser.cookies.get(COOKIE) as string)
  t.equal(JSON.parse((await rotated.get('/page')).body).user, 'admin')
  const fresh = cookieValue(await createTestClient(after).post('/set', { json: { key: 'a', value: 1 } })) as string
  t.ok(createPageIdSigner([OTHER_SECRET], 'session-id').verify(fresh), 'new ids are signed with the first secret')
})

t.test('the plugin closes the memory store it created, never a store it was given', async (t) => {
  const given = createMemoryStore()
  const withGiven = await buildApp(t, { store: given })
  const own = await buildApp(t)
  const created = own.nexSession.store as PageStore
  t.equal(withGiven.nexSession.store, given)
  await withGiven.close()
  await own.close()
  await t.resolves(given.ping(), 'the given store is still open')
  await t.rejects(created.ping(), { code: 'FST_NEX_STATE_STORE_CLOSED' }, 'the created one is closed')
  await given.close()
})

t.test('a hook running before @fastify/cookie parsed the cookies still sees the session', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let seen: unknown = 'not run'
  app.addHook('onRequest', async (request) => {
    if (request.url === '/read') seen = await request.session.get('user', null)
  })
  await app.register(nexSession, { secret: SECRET })
  app.post('/login', async (request) => {
    await request.session.set('user', 'admin')
    return null
  })
  app.get('/read', async (request) => ({ id: request.session.id }))
  const browser = createTestClient(app)
  await browser.post('/login')
  const id = browser.cookies.get(COOKIE)
  const read = await browser.get('/read')
  t.equal(seen, 'admin', 'the hook read the logged-in session')
  t.same(JSON.parse(read.body), { id }, 'the same session for the handler')
  t.equal(read.headers['set-cookie'], undefined, 'no new session, no cookie change')
})
