import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { Redis } from 'ioredis'
import { testPageStore } from '../../testing/src/store-contract.js'
import { createRedisStore } from '../src/index.js'
import { redisTestKit, ready } from './helpers.js'

const server = await startRedisServer()
t.teardown(() => server.stop())
// Each store on its own prefix, so stores never see each other's pages.
const { connect, freshPrefix } = redisTestKit(t, server.url, { lazyConnect: false })

const shared = await ready(connect())

await testPageStore(t, 'createRedisStore', (options) => createRedisStore({ client: shared, prefix: freshPrefix(), ...options }))

t.test('200 concurrent updates from two store instances (two clients) end at exactly 200', async (t) => {
  const prefix = freshPrefix()
  const a = createRedisStore({ client: await ready(connect()), prefix })
  const b = createRedisStore({ client: await ready(connect()), prefix })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    (i % 2 === 0 ? a : b).update('page', 'n', 0, async (n) => {
      await new Promise((resolve) => setImmediate(resolve))
      return n + 1
    })))
  t.equal(await a.get('page', 'n'), 200)
  t.equal(await b.get('page', 'n'), 200)
  t.same([...results].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'each update saw exactly the previous one')

  // Every update is counted once, by the retries it needed; the conflicts between the two show up.
  const total = (counts: readonly number[]): number => counts.reduce((sum, n) => sum + n, 0)
  const retried = (counts: readonly number[]): number => counts.reduce((sum, n, retries) => sum + n * retries, 0)
  t.equal(total(a.updateRetries.byRetries), 100, 'a counted its 100 updates')
  t.equal(total(b.updateRetries.byRetries), 100, 'b counted its 100 updates')
  t.ok(retried(a.updateRetries.byRetries) + retried(b.updateRetries.byRetries) > 0, 'interleaved writes of two processes cost retries')
  t.equal(a.updateRetries.byRetries.length, 50, 'one slot per possible attempt (maxUpdateAttempts)')
  t.equal(a.updateRetries.gaveUp + b.updateRetries.gaveUp, 0, 'none gave up')
})

t.test('updateRetries: none without another writer; an update that runs out of attempts is counted as given up', async (t) => {
  const prefix = freshPrefix()
  const a = createRedisStore({ client: shared, prefix, maxUpdateAttempts: 3 })
  const b = createRedisStore({ client: await ready(connect()), prefix })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  for (let i = 0; i < 5; i++) await a.update('p', 'n', 0, (n) => n + 1)
  t.same(a.updateRetries.byRetries, [5, 0, 0], 'alone on the page: every update written at the first attempt')

  // Another process writes the page while each attempt of a's fn runs: a never wins its compare-and-set.
  let runs = 0
  await t.rejects(a.update('p', 'n', 0, async (n) => {
    runs++
    await b.set('p', 'n', 100 + runs)
    return n + 1
  }), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  t.equal(runs, 3, 'fn ran once per attempt')
  t.equal(a.updateRetries.gaveUp, 1, 'counted as given up')
  t.same(a.updateRetries.byRetries, [5, 0, 0], 'and not as written')
  t.equal(await a.get('p', 'n'), 103, 'the other process\'s last write stands')
})

t.test('an update after another process wrote the page redoes fn on the current value (no stale cache)', async (t) => {
  const prefix = freshPrefix()
  const a = createRedisStore({ client: shared, prefix })
  const b = createRedisStore({ client: await ready(connect()), prefix })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const seenByA: number[] = []
  const incrementOnA = (): Promise<number> => a.update('p', 'n', 0, (n) => {
    seenByA.push(n)
    return n + 1
  })
  t.equal(await incrementOnA(), 1)
  t.equal(await b.update('p', 'n', 0, (n) => n + 10), 11, 'b sees a\'s write')
  t.equal(await incrementOnA(), 12, 'a does not reuse what it remembered from its own write')
  t.same(seenByA, [0, 1, 11], 'a ran fn on its stale value once, then again on the value the script returned')
  await b.set('p', 'other', 'x')
  await b.delete('p', 'n')
  t.equal(await incrementOnA(), 1, 'a delete by another process is seen too')
  await a.clear('p')
  await b.set('p', 'n', 41)
  t.equal(await incrementOnA(), 42, 'after a clear and a write elsewhere')
  t.equal(await b.get('p', 'n'), 42)
})

t.test('fairness: an update racing another process\'s back-to-back updates of the page is not starved', async (t) => {
  const prefix = freshPrefix()
  const busy = createRedisStore({ client: shared, prefix })
  const other = createRedisStore({ client: await ready(connect()), prefix })
  t.teardown(() => Promise.all([busy.close(), other.close()]))
  await busy.set('hot', 'n', 0)
  // One process updates the page 300 times in a row (one round trip each); the other updates it 20 times,
  // one after the other, meanwhile. Without the lease, one update of the second kept losing until the
  // first was done (14–16 retries in CON-02).
  let busyDone = false
  const loop = (async () => {
    for (let i = 0; i < 300; i++) await busy.update('hot', 'n', 0, (n) => n + 1)
    busyDone = true
  })()
  let overlapped = 0
  for (let i = 0; i < 20; i++) {
    await other.update('hot', 'n', 0, (n) => n + 1000)
    if (!busyDone) overlapped++
  }
  await loop
  t.equal(await busy.get('hot', 'n'), 300 + 20 * 1000, 'no update lost')
  t.ok(overlapped > 0, `${overlapped} of the 20 updates ran while the other process was updating`)
  const worst = other.updateRetries.byRetries.findLastIndex((n) => n > 0)
  t.ok(worst < 5, `the worst of them needed ${worst} retries (< 5): ${JSON.stringify(other.updateRetries.byRetries.slice(0, worst + 1))}`)
  t.notOk(await shared.hexists(`${prefix}page:{hot}`, '__lease'), 'no lease left once the updates are done')
})

t.test('a lease left by a process that died expires: updates wait for it, never past it; set() ignores it', async (t) => {
  const prefix = freshPrefix()
  const store = createRedisStore({ client: shared, prefix })
  t.teardown(() => store.close())
  await store.set('p', 'n', 1)
  const key = `${prefix}page:{p}`
  const [seconds, micros] = await shared.time()
  const leaseMs = 30
  // What a process that lost its compare-and-set, then died before writing, leaves behind.
  await shared.hset(key, '__lease', `dead-process ${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + leaseMs}`)
  const started = performance.now()
  t.equal(await store.update('p', 'n', 0, (n) => n + 1), 2)
  const waited = performance.now() - started
  t.ok(waited >= leaseMs * 0.5 && waited < leaseMs + 500, `the update waited out the lease (${waited.toFixed(1)} ms for ${leaseMs} ms)`)
  t.notOk(await shared.hexists(key, '__lease'), 'the expired lease is gone with the write')
  t.same(await store.getAll('p'), { n: 2 }, 'a lease is never state')

  await shared.hset(key, '__lease', `dead-process ${Date.now() + 60_000}`)
  await store.set('p', 'n', 7)
  t.equal(await store.get('p', 'n'), 7, 'set() is unconditional: it does not wait for a lease')
  t.same(await store.getAll('p'), { n: 7 })
})

t.test('layout: one hash per page, every page key has a TTL after writes', async (t) => {
  const prefix = freshPrefix()
  const ttl = 60_000
  const store = createRedisStore({ client: shared, prefix, ttl })
  t.teardown(() => store.close())
  await store.set('p1', 'a', 1)
  await store.update('p2', 'n', 0, (n) => n + 1)
  await store.set('p3', 'a', 1)
  await store.set('p3', 'b', 2)
  await store.delete('p3', 'a')
  const keys = (await shared.keys(`${prefix}*`)).sort()
  t.same(keys, [`${prefix}page:{p1}`, `${prefix}page:{p2}`, `${prefix}page:{p3}`])
  for (const key of keys) {
    const pttl = await shared.pttl(key)
    t.ok(pttl > 0 && pttl <= ttl, `${key} has a TTL (${pttl} ms)`)
  }
  const raw = await shared.hgetall(`${prefix}page:{p3}`)
  t.same(Object.keys(raw).sort(), ['.b', '__v'], 'state keys as fields beside the __v version field')

  await store.delete('p1', 'a')
  t.equal(await shared.exists(`${prefix}page:{p1}`), 0, 'deleting the last key removes the hash')
  await shared.pexpire(`${prefix}page:{p2}`, 1000)
  await store.touch('p2')
  t.ok(await shared.pttl(`${prefix}page:{p2}`) > 1000, 'touch slides the TTL back to ttl')
})

t.test('a page over the byte limit writes nothing', async (t) => {
  const prefix = freshPrefix()
  const store = createRedisStore({ client: shared, prefix, maxPageBytes: 1024 })
  t.teardown(() => store.close())
  await t.rejects(store.set('fresh', 'big', 'x'.repeat(2000)), { code: 'FST_NEX_STATE_PAGE_TOO_LARGE', statusCode: 413 })
  t.equal(await shared.exists(`${prefix}page:{fresh}`), 0, 'no key created for a refused first write')
  await store.set('p', 'small', 'ok')
  const before = await shared.hgetall(`${prefix}page:{p}`)
  await t.rejects(store.update('p', 'big', '', () => 'y'.repeat(2000)), { code: 'FST_NEX_STATE_PAGE_TOO_LARGE' })
  t.same(await shared.hgetall(`${prefix}page:{p}`), before, 'hash unchanged, __v included')
})

t.test('close() does not close a user-passed client; a store from url closes its own', async (t) => {
  const client = await ready(connect())
  const store = createRedisStore({ client, prefix: freshPrefix() })
  await store.set('p', 'a', 1)
  await store.close()
  t.equal(client.status, 'ready', 'the passed client is still open')
  t.equal(await client.ping(), 'PONG')

  const own = createRedisStore({ url: server.url, prefix: freshPrefix() })
  await own.set('p', 'a', 1)
  t.equal(await own.get('p', 'a'), 1, 'a store from url works right away (waits for ready)')
  await own.close()
  await t.rejects(own.get('p', 'a'), { code: 'FST_NEX_STATE_STORE_CLOSED' })
})

t.test('options are checked', async (t) => {
  t.throws(() => createRedisStore({}), { code: 'FST_NEX_STATE_INVALID_OPTION' })
  t.throws(() => createRedisStore({ client: shared, url: server.url }), { code: 'FST_NEX_STATE_INVALID_OPTION' })
  t.throws(() => createRedisStore({ client: shared, ttl: 0 }), { code: 'FST_NEX_STATE_INVALID_OPTION' })
  t.throws(() => createRedisStore({ client: shared, maxPageBytes: 1.5 }), { code: 'FST_NEX_STATE_INVALID_OPTION' })
})

// Last: it stalls the shared server.
t.test('a paused (SIGSTOP) server gives FST_NEX_STATE_STORE_UNAVAILABLE within commandTimeout, then recovers', async (t) => {
  const commandTimeout = 300
  const client = await ready(connect({ commandTimeout }))
  const store = createRedisStore({ client, prefix: freshPrefix() })
  t.teardown(() => store.close())
  await store.set('p', 'n', 1)

  server.pause()
  let resumed = false
  const resume = (): void => {
    if (!resumed) server.resume()
    resumed = true
  }
  t.teardown(resume)
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['get', () => store.get('p', 'n')],
    ['update', () => store.update('p', 'n', 0, (n) => n + 1)],
    ['ping', () => store.ping()]
  ]
  for (const [label, call] of calls) {
    const started = Date.now()
    await t.rejects(call(), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE', statusCode: 503 }, `${label} rejects`)
    const elapsed = Date.now() - started
    t.ok(elapsed < commandTimeout + 400, `${label} rejected after ${elapsed} ms`)
  }
  resume()

  // Replies to the timed-out commands may still arrive; the store must work again regardless.
  const value = await retryUntil(5000, async () => await store.update('p', 'n', 0, (n) => n + 1))
  t.equal(value, 2, 'updates work again after resume, and the timed-out update wrote nothing')
  t.equal(await store.get('p', 'n'), 2)
})

t.test('during a stall, a burst of 100 calls on one page all fail within one timeout: nothing waits in line', async (t) => {
  const commandTimeout = 300
  const client = await ready(connect({ commandTimeout }))
  const store = createRedisStore({ client, prefix: freshPrefix(), probeInterval: 50 })
  t.teardown(() => store.close())
  await store.set('p', 'n', 0)

  server.pause()
  t.teardown(() => server.resume())
  const started = Date.now()
  const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => i % 2 === 0
    ? store.update('p', 'n', 0, (n) => n + 1)
    : store.get('p', 'n')))
  const elapsed = Date.now() - started
  t.ok(outcomes.every((outcome) => outcome.status === 'rejected' &&
    (outcome.reason as { code?: string }).code === 'FST_NEX_STATE_STORE_UNAVAILABLE'), 'every call is a 503')
  t.ok(elapsed < commandTimeout + 400, `all 100 settled after ${elapsed} ms (one timeout, not one per queued update)`)
  const quick = Date.now()
  await t.rejects(store.get('p', 'n'), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  t.ok(Date.now() - quick < 50, 'while Redis is known to be down, calls fail at once')

  server.resume()
  const resumedAt = Date.now()
  const value = await retryUntil(3000, async () => await store.get('p', 'n'))
  t.equal(value, 0, 'no update was applied: each one failed before it wrote')
  t.ok(Date.now() - resumedAt < 1500, `serving again ${Date.now() - resumedAt} ms after the stall ended`)
})

t.test('a user client without commandTimeout is still bounded by the store\'s timeout', async (t) => {
  const client = new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  await ready(client)
  const store = createRedisStore({ client, prefix: freshPrefix(), timeout: 250 })
  t.teardown(() => store.close())
  await store.set('p', 'n', 1)
  server.pause()
  t.teardown(() => server.resume())
  const started = Date.now()
  await t.rejects(store.get('p', 'n'), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  const elapsed = Date.now() - started
  t.ok(elapsed >= 200 && elapsed < 650, `rejected after ${elapsed} ms`)
  server.resume()
  t.equal(await retryUntil(3000, async () => await store.get('p', 'n')), 1)
})

t.test('after a redis-server restart (same port, data lost) the store recovers without a new client', async (t) => {
  const store = createRedisStore({ client: shared, prefix: freshPrefix() })
  t.teardown(() => store.close())
  await store.set('p', 'n', 1)
  const pid = server.pid
  await server.restart()
  t.not(server.pid, pid, 'a new process')
  const value = await retryUntil(8000, async () => await store.update('p', 'n', 0, (n) => n + 1), (err) => {
    t.match(err, { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' }, 'unavailable while reconnecting')
  })
  t.equal(value, 1, 'works again; the page started empty (persistence off)')
})

/** Calls `fn` every 50 ms until it resolves; rethrows its last error after `ms`. `onError` sees each failure. */
async function retryUntil<T> (ms: number, fn: () => Promise<T>, onError: (err: unknown) => void = () => {}): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      onError(err)
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
