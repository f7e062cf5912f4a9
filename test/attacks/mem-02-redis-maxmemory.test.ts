/**
 * MEM-02 (RELIABILITY §6), what test/redis/page-id-flood.test.ts does not cover: the Redis page store
 * under `--maxmemory 32mb --maxmemory-policy noeviction`, attacked over real sockets (autocannon) with
 * the counter example's pages in a child process (test-profile commandTimeout 500 ms).
 *
 * - A flood of navigations (each issues a page id) and forged ids creates no key; written pages create
 *   exactly one key each (no other growth), every one with PTTL > 0.
 * - Redis out of memory (filled up to maxmemory by the test, and separately an 8 MB Redis filled before
 *   the app starts): writes answer 503 + Retry-After (never 500), reads still answer 200 with the stored
 *   state, and once memory frees up writes succeed again by themselves (no restart).
 *
 * - Key count ≤ sessions × per-session cap: 10 signed-in sessions (@nex/session in the same Redis) each
 *   write 60 pages over autocannon: exactly 10 × 20 (the default `maxPagesPerSession`) page keys remain,
 *   each session's 20 most recent, every session's page set capped at 20 and expiring. Anonymous
 *   visitors have no session to count against: their written pages are bounded by the TTL, maxmemory and
 *   the rate limits, one key each (asserted above).
 * Scaled: 3 000 forged and 2 000 navigation requests, 2 000 written pages, 600-request OOM loads,
 * 10 sessions × 60 pages.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer, type RedisServer } from '@nex/testing'
import { startApp, type AppProcess } from './fixtures/mem-con-red/app-process.ts'
import { load, statusCounts, type LoadRequest } from './fixtures/mem-con-red/load.ts'

const SECRET = 'mem-02-secret-mem-02-secret-mem-02-secret-0123'
const PAGE_KEYS = 'nex:page:*'
const FILLER = 64 * 1024
const COMMAND_TIMEOUT = 500
// Latency allowance on a loaded 2-core CI machine (as in test/redis/outage.test.ts).
const MARGIN = 400

const forgedId = (): string => `${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}`
const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })
const write = (pageId: string): LoadRequest & { tag: string } => ({ method: 'POST', path: '/?/increment', headers: htmx(pageId), tag: `write ${pageId}` })
const read = (pageId: string): LoadRequest & { tag: string } => ({ method: 'GET', path: '/', headers: htmx(pageId), tag: `read ${pageId}` })

async function inspector (t: Test, redis: RedisServer): Promise<Redis> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  return client
}

async function pageKeys (client: Redis): Promise<string[]> {
  const keys: string[] = []
  for await (const batch of client.scanStream({ match: PAGE_KEYS, count: 1000 })) keys.push(...(batch as string[]))
  return keys
}

/**
 * Fills Redis past maxmemory: 64 KiB strings (no TTL) until one is refused with OOM, then one SETRANGE
 * that grows a string by 1 MiB. Plain SETs alone leave Redis just under the limit (the refused command's
 * own query buffer is what tipped it), so small writes would still pass; the SETRANGE is accepted (its
 * request is tiny) and leaves used_memory above maxmemory until something is deleted. Returns the keys.
 */
async function fillUp (client: Redis): Promise<string[]> {
  const value = Buffer.alloc(FILLER, 'f')
  const keys: string[] = []
  for (let i = 0; ; i++) {
    if (i >= 10_000) throw new Error('Redis never ran out of memory: is --maxmemory set?')
    const key = `filler:${i}`
    try {
      await client.set(key, value)
      keys.push(key)
    } catch (error) {
      if (/OOM/.test((error as Error).message)) break
      throw error
    }
  }
  await client.setrange('filler:over', 1024 * 1024, 'x')
  keys.push('filler:over')
  const memory = await client.info('memory')
  const used = Number(/used_memory:(\d+)/.exec(memory)?.[1])
  const max = Number(/maxmemory:(\d+)/.exec(memory)?.[1])
  if (!(used > max)) throw new Error(`Redis not over maxmemory after filling: used ${used}, max ${max}`)
  return keys
}

/** The count the page shows on an htmx read, or the status when it is not 200. */
async function shownCount (app: AppProcess, pageId: string): Promise<number> {
  const response = await fetch(`${app.origin}/`, { headers: htmx(pageId), signal: AbortSignal.timeout(5000) })
  const body = await response.text()
  if (response.status !== 200) throw new Error(`read answered ${response.status}: ${body.slice(0, 200)}`)
  return Number(/data-testid="counter-value"[^>]*>(\d+)</.exec(body)?.[1])
}

async function increment (app: AppProcess, pageId: string): Promise<{ status: number, body: string }> {
  const response = await fetch(`${app.origin}/?/increment`, { method: 'POST', headers: htmx(pageId), signal: AbortSignal.timeout(5000) })
  return { status: response.status, body: await response.text() }
}

/**
 * While Redis is out of memory: a mixed load of writes and reads on `pages` answers 503 + Retry-After to
 * every write and 200 to every read, with the count each page had.
 */
async function expectOomBehaviour (t: Test, app: AppProcess, pages: string[], counts: Map<string, number>): Promise<void> {
  let n = 0
  const result = await load({
    origin: app.origin,
    connections: 20,
    amount: 600,
    request: () => {
      const i = n++
      const pageId = pages[i % pages.length] as string
      return i % 2 === 0 ? write(pageId) : read(pageId)
    }
  })
  const writes = result.answers.filter((answer) => answer.tag?.startsWith('write') === true)
  const reads = result.answers.filter((answer) => answer.tag?.startsWith('read') === true)
  t.same(statusCounts(writes), { 503: writes.length }, `all ${writes.length} writes answered 503 (no 500)`)
  t.ok(writes.every((answer) => answer.ms < COMMAND_TIMEOUT + MARGIN), `each within the command timeout (slowest ${Math.max(...writes.map((answer) => answer.ms))} ms)`)
  t.ok(writes.every((answer) => answer.headers['retry-after'] !== undefined), 'every 503 carries Retry-After')
  t.ok(writes.every((answer) => /temporarily unavailable/.test(answer.body)), 'and says it is temporary')
  t.same(statusCounts(reads), { 200: reads.length }, `all ${reads.length} reads answered 200`)
  const wrong = reads.filter((answer) => {
    const pageId = answer.tag?.slice('read '.length) ?? ''
    return !answer.body.includes(`>${counts.get(pageId) ?? 0}</div>`)
  })
  t.equal(wrong.length, 0, 'each read shows the page\'s stored count')
}

/** Polls writes on `pageId` until one answers 200; resolves with how long that took. */
async function recovery (pageId: string, app: AppProcess, limitMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    const response = await increment(app, pageId)
    if (response.status === 200) return performance.now() - started
    if (response.status !== 503) throw new Error(`unexpected ${response.status} while memory frees up`)
    if (performance.now() - started > limitMs) throw new Error(`writes still 503 ${limitMs} ms after memory was freed`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('32 MB noeviction: floods of navigations and forged ids store nothing; written pages one key each, all expiring', async (t) => {
  const redis = await startRedisServer({ args: ['--maxmemory', '32mb', '--maxmemory-policy', 'noeviction'] })
  t.teardown(() => redis.stop())
  const client = await inspector(t, redis)
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })

  let n = 0
  const flood = await load({
    origin: app.origin,
    connections: 20,
    amount: 5_000,
    keepBodies: false,
    // 3 of 5: a forged id in a write; 2 of 5: a navigation, which issues a fresh page id each time.
    request: () => n++ % 5 < 3 ? write(forgedId()) : { method: 'GET', path: '/' }
  })
  const counts = statusCounts(flood.answers)
  t.same(counts, { 200: 2_000, 410: 3_000 }, 'navigations 200, forged ids 410')
  t.same(await pageKeys(client), [], 'no page key created')

  const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1])
  const memoryBefore = await usedMemory()
  const written = await app.issue(2_000)
  let next = 0
  const writes = await load({ origin: app.origin, connections: 20, amount: written.length, keepBodies: false, request: () => write(written[next++] as string) })
  t.same(statusCounts(writes.answers), { 200: written.length }, 'every issued page written once')
  const keys = await pageKeys(client)
  t.equal(keys.length, written.length, 'exactly one key per written page')
  t.equal(await client.dbsize(), written.length, 'and nothing else in Redis')
  const ttls = await Promise.all(keys.map(async (key) => await client.pttl(key)))
  t.ok(ttls.every((ttl) => ttl > 0), `every page key has PTTL > 0 (min ${Math.min(...ttls)} ms)`)
  const perPage = (await usedMemory() - memoryBefore) / written.length
  t.comment(`about ${Math.round(perPage)} bytes of Redis memory per written page: 32 MB hold about ${Math.round(32 * 1024 * 1024 / perPage)} pages`)
})

t.test('32 MB noeviction, filled up under the app: writes 503, reads 200, recovery when memory frees', async (t) => {
  const redis = await startRedisServer({ args: ['--maxmemory', '32mb', '--maxmemory-policy', 'noeviction'] })
  t.teardown(() => redis.stop())
  const client = await inspector(t, redis)
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })

  const pages = await app.issue(20)
  const counts = new Map<string, number>()
  const statuses = new Set<number>()
  for (const [i, pageId] of pages.entries()) {
    for (let k = 0; k <= i % 3; k++) statuses.add((await increment(app, pageId)).status)
    counts.set(pageId, i % 3 + 1)
  }
  t.same([...statuses], [200], 'before: 20 pages written 1 to 3 times each')

  const filler = await fillUp(client)
  t.comment(`Redis out of memory after ${filler.length} × 64 KiB`)
  await expectOomBehaviour(t, app, pages, counts)

  await client.del(...filler)
  const ms = await recovery(pages[0] as string, app, 1000)
  t.pass(`writes succeed again ${Math.round(ms)} ms after memory was freed, without a restart`)
  t.equal(await shownCount(app, pages[0] as string), (counts.get(pages[0] as string) ?? 0) + 1, 'the write that recovered counted once')
  const ttls = await Promise.all((await pageKeys(client)).map(async (key) => await client.pttl(key)))
  t.equal(ttls.length, pages.length, 'one key per page')
  t.ok(ttls.every((ttl) => ttl > 0), 'every page key still has PTTL > 0')
})

t.test('8 MB noeviction, filled before the app starts: writes 503, reads 200, recovery when memory frees', async (t) => {
  const redis = await startRedisServer({ args: ['--maxmemory', '8mb', '--maxmemory-policy', 'noeviction'] })
  t.teardown(() => redis.stop())
  const client = await inspector(t, redis)
  const filler = await fillUp(client)
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })

  const page = await fetch(`${app.origin}/`, { signal: AbortSignal.timeout(5000) })
  t.equal(page.status, 200, 'a full page still renders (it only reads)')
  const pageId = /data-nex-page-id="([^"]+)"/.exec(await page.text())?.[1] ?? ''
  const pages = [pageId, ...await app.issue(9)]
  await expectOomBehaviour(t, app, pages, new Map())

  await client.del(...filler)
  const ms = await recovery(pageId, app, 1000)
  t.pass(`writes succeed again ${Math.round(ms)} ms after memory was freed, without a restart`)
  t.equal(await shownCount(app, pageId), 1, 'the page counts from its stored state')
  const keys = await pageKeys(client)
  t.equal(keys.length, 1, 'one key: the page written after recovery')
  t.ok(await client.pttl(keys[0] as string) > 0, 'with a TTL')
})

t.test('per-session cap: 10 sessions × 60 written pages leave 10 × 20 page keys, each session its 20 most recent', async (t) => {
  const SESSIONS = 10
  const PAGES = 60
  const CAP = 20
  const redis = await startRedisServer({ args: ['--maxmemory', '32mb', '--maxmemory-policy', 'noeviction'] })
  t.teardown(() => redis.stop())
  const client = await inspector(t, redis)
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT), SESSIONS: '1' })

  const cookies: string[] = []
  for (let i = 0; i < SESSIONS; i++) {
    const response = await fetch(`${app.origin}/sign-in`, { method: 'POST' })
    const cookie = response.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ')
    if (response.status !== 200 || cookie === '') throw new Error(`sign-in answered ${response.status} without a cookie`)
    cookies.push(cookie)
  }
  // Issued ids in order: page p of session s is pages[s][p], written in that order by each session.
  const pages = await Promise.all(cookies.map(async () => await app.issue(PAGES)))
  const queue = pages.flatMap((ids, s) => ids.map((id) => ({ s, id })))
  // One connection per session, so each session's pages are written in order.
  const byConnection = Array.from({ length: SESSIONS }, (_, s) => queue.filter((item) => item.s === s))
  const results = await Promise.all(byConnection.map(async (items) => await load({
    origin: app.origin,
    connections: 1,
    amount: items.length,
    request: (() => {
      let n = 0
      return () => {
        const { s, id } = items[n++] as { s: number, id: string }
        return { ...write(id), headers: { ...htmx(id), cookie: cookies[s] as string } }
      }
    })()
  })))
  const answers = results.flatMap((result) => result.answers)
  t.same(statusCounts(answers), { 200: SESSIONS * PAGES }, `all ${SESSIONS * PAGES} writes answered 200`)

  // The cap is applied after each response (fire and forget): wait until Redis settles.
  let keys: string[] = []
  for (let i = 0; i < 100; i++) {
    keys = await pageKeys(client)
    if (keys.length === SESSIONS * CAP) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(keys.length, SESSIONS * CAP, `${keys.length} page keys: ${SESSIONS} sessions × ${CAP}`)
  const kept = new Set(keys)
  const keyOf = (id: string): string => `nex:page:{${id}}`
  t.ok(pages.every((ids) => ids.slice(-CAP).every((id) => kept.has(keyOf(id)))), `each session kept its ${CAP} most recent pages`)
  t.ok(pages.every((ids) => ids.slice(0, -CAP).every((id) => !kept.has(keyOf(id)))), 'and none of its older ones')
  const ttls = await Promise.all(keys.map(async (key) => await client.pttl(key)))
  t.ok(ttls.every((ttl) => ttl > 0), 'every page key expires')

  const sets: string[] = []
  for await (const batch of client.scanStream({ match: 'nex:page-of-session:*', count: 1000 })) sets.push(...(batch as string[]))
  t.equal(sets.length, SESSIONS, 'one page set per session')
  const sizes = await Promise.all(sets.map(async (key) => await client.zcard(key)))
  t.same(sizes, sets.map(() => CAP), `each holds ${CAP} pages`)
  t.ok((await Promise.all(sets.map(async (key) => await client.pttl(key)))).every((ttl) => ttl > 0), 'and expires')

  // An evicted page reads as new (empty), a kept one as written.
  const [oldest, newest] = [pages[0]?.[0] as string, pages[0]?.[PAGES - 1] as string]
  t.equal(await shownCount(app, newest), 1, 'a kept page shows its count')
  t.equal(await shownCount(app, oldest), 0, 'an evicted page starts again from 0')
})
