/**
 * RED-03 (RELIABILITY §6): recovery and durability with a real redis-server under the app (the counter
 * example's pages on the Redis page store, test-profile commandTimeout 500 ms, in a child process).
 *
 * - Restart under load (autocannon -c 20 on 20 pages; Redis killed, then started again on the same port
 *   with its data lost, since persistence is off): 2xx again within 6 s of the restart without restarting
 *   the app; only 200s and 503s throughout; no half-applied page: every page hash holds exactly its count
 *   and its write token with a TTL, and no increment acknowledged after the restart is lost or repeated.
 *   test/redis/outage.test.ts proves recovery after a restart with sequential requests; this is the
 *   version under load.
 * - Durability: sequential increments on 4 pages (each acknowledged write is a compare-and-set), then
 *   `kill -9` of Redis while they keep coming, then a restart from its append-only file. With
 *   `--appendfsync everysec` every write acknowledged at least 1 s before the kill is there; with
 *   `--appendfsync always` every acknowledged write is; and none is there that was never sent.
 *
 * Scaled: a 7 s load around a 1 s outage; about 1.5 s of writes before each kill.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer, type RedisServer } from '@nex/testing'
import { startApp, type AppProcess } from './fixtures/mem-con-red/app-process.ts'
import { load, statusCounts } from './fixtures/mem-con-red/load.ts'
import { checkIncrements, countIn } from './fixtures/mem-con-red/increments.ts'

const SECRET = 'red-03-secret-red-03-secret-red-03-secret-0123'
const COMMAND_TIMEOUT = 500
const CONNECTIONS = 20
const PAGES = 20
const RECOVERY_LIMIT = 6000

const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })
const pageKey = (pageId: string): string => `nex:page:{${pageId}}`

async function inspect (t: Test, redis: RedisServer): Promise<Redis> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  return client
}

t.test('restart under load: 2xx within 6 s without an app restart, no half-applied page', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })
  const pages = await app.issue(PAGES)

  let crashedAt = 0
  let restartedAt = 0
  const fault = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await redis.crash()
    crashedAt = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await redis.restart()
    restartedAt = performance.now()
  })()
  const result = await load({
    origin: app.origin,
    connections: CONNECTIONS,
    duration: 7,
    request: () => {
      const pageId = pages[Math.floor(Math.random() * pages.length)] as string
      return { method: 'POST', path: '/?/increment', headers: htmx(pageId), tag: pageId }
    }
  })
  await fault
  const crash = crashedAt - result.startedAt
  const restart = restartedAt - result.startedAt

  const counts = statusCounts(result.answers)
  t.same(Object.keys(counts).filter((status) => status !== '200' && status !== '503'), [], `only 200 and 503 (${JSON.stringify(counts)}): no 500`)
  t.equal(result.errors + result.timeouts, 0, 'no connection error or timeout')
  t.ok(result.answers.some((answer) => answer.at > crash && answer.at < restart && answer.status === 503), 'the outage was seen (503s while Redis was down)')
  const firstOk = result.answers.find((answer) => answer.at >= restart && answer.status === 200)
  const recovery = (firstOk?.at ?? Infinity) - restart
  t.ok(recovery <= RECOVERY_LIMIT, `first 2xx ${Math.round(recovery)} ms after Redis was back (≤ ${RECOVERY_LIMIT} ms), same app process`)
  t.equal(app.child.exitCode, null, 'the app was never restarted')

  const inspector = await inspect(t, redis)
  const stored = new Map<string, number>()
  const malformed: string[] = []
  for (const pageId of pages) {
    const fields = await inspector.hgetall(pageKey(pageId))
    const names = Object.keys(fields).sort()
    if (names.length === 0) {
      stored.set(pageId, 0)
      continue
    }
    const count = Number(fields['.count'])
    if (names.join() !== '.count,__v' || !Number.isSafeInteger(count) || count < 1 || fields.__v === '') malformed.push(`${pageId}: ${JSON.stringify(fields)}`)
    if (!(await inspector.pttl(pageKey(pageId)) > 0)) malformed.push(`${pageId}: no TTL`)
    stored.set(pageId, count)
  }
  t.same(malformed, [], 'every page hash is whole: its count, its write token and a TTL')
  // Redis restarted empty: only increments sent after it died can be in it.
  const problems = checkIncrements(result.answers, stored, { inFlight: CONNECTIONS, since: crash }).filter((page) => page.problems.length > 0)
  t.same(problems, [], 'no increment acknowledged after the restart lost or repeated, nothing applied that was not sent')
})

interface Acknowledged {
  pageId: string
  count: number
  /** performance.now() when the 200 arrived. */
  at: number
}

/**
 * Sequential increments on each of `pages` until `stop()` says so, each recorded once acknowledged
 * (200). Resolves with every acknowledgement and how many requests were sent per page.
 */
async function writeUntil (app: AppProcess, pages: string[], stop: () => boolean): Promise<{ acknowledged: Acknowledged[], sent: Map<string, number> }> {
  const acknowledged: Acknowledged[] = []
  const sent = new Map<string, number>()
  await Promise.all(pages.map(async (pageId) => {
    while (!stop()) {
      sent.set(pageId, (sent.get(pageId) ?? 0) + 1)
      try {
        const response = await fetch(`${app.origin}/?/increment`, { method: 'POST', headers: htmx(pageId), signal: AbortSignal.timeout(5000) })
        const body = await response.text()
        if (response.status === 200) acknowledged.push({ pageId, count: countIn(body), at: performance.now() })
      } catch {}
    }
  }))
  return { acknowledged, sent }
}

for (const fsync of ['everysec', 'always'] as const) {
  t.test(`kill -9 with --appendonly yes --appendfsync ${fsync}: acknowledged writes survive`, async (t) => {
    const redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', fsync] })
    t.teardown(() => redis.stop())
    const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })
    const pages = await app.issue(4)

    let killed = false
    const writing = writeUntil(app, pages, () => killed)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const killAt = performance.now()
    await redis.crash()
    killed = true
    const { acknowledged, sent } = await writing
    await redis.restart()

    const inspector = await inspect(t, redis)
    const durableBefore = fsync === 'everysec' ? killAt - 1000 : Infinity
    const missing: string[] = []
    const phantom: string[] = []
    for (const pageId of pages) {
      const stored = Number(await inspector.hget(pageKey(pageId), '.count') ?? 0)
      const mine = acknowledged.filter((ack) => ack.pageId === pageId)
      const mustHave = Math.max(0, ...mine.filter((ack) => ack.at <= durableBefore).map((ack) => ack.count))
      if (stored < mustHave) missing.push(`${pageId}: stored ${stored}, acknowledged ${mustHave}`)
      if (stored > (sent.get(pageId) ?? 0)) phantom.push(`${pageId}: stored ${stored}, sent ${sent.get(pageId) ?? 0}`)
    }
    const early = acknowledged.filter((ack) => ack.at <= killAt - 1000).length
    t.ok(acknowledged.length > 100, `${acknowledged.length} writes acknowledged before the kill (${early} of them ≥ 1 s before it)`)
    t.same(missing, [], fsync === 'everysec'
      ? 'every write acknowledged ≥ 1 s before the kill is present after the restart'
      : 'every acknowledged write is present after the restart')
    t.same(phantom, [], 'no page holds more increments than were sent')

    // The same app process reads them back once it reconnected on its own.
    const deadline = performance.now() + RECOVERY_LIMIT
    let shown = NaN
    while (performance.now() < deadline) {
      const response = await fetch(`${app.origin}/`, { headers: htmx(pages[0] as string), signal: AbortSignal.timeout(5000) })
      const body = await response.text()
      if (response.status === 200) {
        shown = countIn(body)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.equal(shown, Number(await inspector.hget(pageKey(pages[0] as string), '.count')), 'the app, not restarted, shows the restored count')
  })
}
