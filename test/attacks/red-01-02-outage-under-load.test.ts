/**
 * RED-01 and RED-02 (RELIABILITY §6) under load, what test/redis/outage.test.ts (sequential requests and
 * one burst) does not cover: autocannon -c 20 keeps increments coming on 20 pages while the real
 * redis-server under the app is killed (RED-01: connections refused) or frozen with SIGSTOP (RED-02: TCP
 * up, no replies). The app (the counter example's pages on the Redis page store, test-profile
 * commandTimeout 500 ms) runs in a child process with `--expose-gc`, so its heap is measured on its own.
 *
 * RED-01: from 1 s after the kill every answer is 503 + Retry-After; the slowest 1 % of answers after
 * the kill stay under commandTimeout (+ margin); only 200s and 503s, never a 500, no connection error or
 * timeout; the heap after GC stays within +5 MB of the baseline (nothing queues up).
 * RED-02: the first 503 comes within commandTimeout of the freeze, then every answer is a 503 +
 * Retry-After until it ends; p99 within commandTimeout (+ margin) and no answer hanging; 2xx again
 * within 1 s of SIGCONT; no lost or half-applied increment; heap flat as well.
 *
 * Scaled: autocannon -d 5 instead of -d 10 around the kill; a 3 s freeze instead of 10 s.
 * Margins (RELIABILITY §7: timeout × 1.2 + interval, 2 CI cores running autocannon and two tap files):
 * p99 and the first 503 within commandTimeout × 1.2 + 50 ms = 650 ms; the single slowest answer within
 * commandTimeout + 400 ms = 900 ms, as in test/redis/outage.test.ts.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer, type RedisServer } from '@nex/testing'
import { startApp, type AppProcess } from './fixtures/mem-con-red/app-process.ts'
import { load, percentile, statusCounts, type Answer, type LoadResult } from './fixtures/mem-con-red/load.ts'
import { checkIncrements } from './fixtures/mem-con-red/increments.ts'

const SECRET = 'red-01-02-secret-red-01-02-secret-red-01-02-0123'
const COMMAND_TIMEOUT = 500
const LATENCY_LIMIT = COMMAND_TIMEOUT * 1.2 + 50
// The single slowest answer, which one scheduling hiccup on a busy runner decides: test/redis/outage.test.ts's margin.
const HANG_LIMIT = COMMAND_TIMEOUT + 400
const CONNECTIONS = 20
const PAGES = 20
const HEAP_TOLERANCE = 5 * 1024 * 1024

const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`

async function setUp (t: Test): Promise<{ redis: RedisServer, app: AppProcess, pages: string[] }> {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const app = await startApp(t, { NEX_SECRET: SECRET, REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT) })
  const pages = await app.issue(PAGES)
  return { redis, app, pages }
}

/** autocannon -c 20 -d `seconds`: increments on a random one of `pages`, tagged with its page id. */
async function incrementLoad (app: AppProcess, pages: string[], seconds: number): Promise<LoadResult> {
  return await load({
    origin: app.origin,
    connections: CONNECTIONS,
    duration: seconds,
    request: () => {
      const pageId = pages[Math.floor(Math.random() * pages.length)] as string
      return { method: 'POST', path: '/?/increment', headers: htmx(pageId), tag: pageId }
    }
  })
}

/** Runs `action` after `delay` ms and resolves with the performance.now() at which it started. */
function at (delay: number, action: () => unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      const now = performance.now()
      Promise.resolve(action()).then(() => resolve(now), reject)
    }, delay)
  })
}

function assertNoFailures (t: Test, result: LoadResult): void {
  const statuses = Object.keys(statusCounts(result.answers)).map(Number)
  t.same(statuses.filter((status) => status !== 200 && status !== 503), [], `only 200 and 503 (${JSON.stringify(statusCounts(result.answers))}): no 500`)
  t.equal(result.errors + result.timeouts, 0, 'no connection error or timeout')
  const unavailable = result.answers.filter((answer) => answer.status === 503)
  t.ok(unavailable.every((answer) => answer.headers['retry-after'] !== undefined), `every one of the ${unavailable.length} 503s has Retry-After`)
}

const completedIn = (answers: readonly Answer[], from: number, to = Infinity): Answer[] =>
  answers.filter((answer) => answer.at >= from && answer.at < to)

t.test('RED-01: Redis killed under load: 503 + Retry-After within 1 s, fast, no 500, heap flat', async (t) => {
  const { redis, app, pages } = await setUp(t)
  await incrementLoad(app, pages, 1)
  const baseline = await app.stats()

  const killed = at(1500, async () => await redis.crash())
  const result = await incrementLoad(app, pages, 5)
  const killAt = await killed - result.startedAt
  const after = await app.stats()

  assertNoFailures(t, result)
  const before = completedIn(result.answers, 0, killAt)
  t.ok(before.length > 0 && before.every((answer) => answer.status === 200), `before the kill: ${before.length} answers, all 200`)
  const settled = completedIn(result.answers, killAt + 1000)
  t.ok(settled.length > 0, `${settled.length} answers from 1 s after the kill on`)
  t.same(statusCounts(settled), { 503: settled.length }, 'all of them 503')
  const firstUnavailable = result.answers.find((answer) => answer.status === 503)
  t.ok(firstUnavailable !== undefined && firstUnavailable.at - killAt <= 1000, `first 503 ${Math.round((firstUnavailable?.at ?? Infinity) - killAt)} ms after the kill`)
  const outage = completedIn(result.answers, killAt)
  const p99 = percentile(outage.map((answer) => answer.ms), 99)
  t.ok(p99 < LATENCY_LIMIT, `p99 after the kill ${p99.toFixed(1)} ms < ${LATENCY_LIMIT} ms (max ${Math.max(...outage.map((answer) => answer.ms)).toFixed(1)} ms, ${outage.length} answers)`)
  const growth = after.heapUsed - baseline.heapUsed
  t.ok(growth <= HEAP_TOLERANCE, `heap after GC grew ${mb(growth)} over ${outage.length} refused requests (limit +5 MB)`)
})

t.test('RED-02: Redis frozen (SIGSTOP 3 s) under load: 503 within commandTimeout, 2xx within 1 s of SIGCONT', async (t) => {
  const { redis, app, pages } = await setUp(t)
  const inspector = new Redis(redis.url)
  t.teardown(() => { inspector.disconnect() })
  await incrementLoad(app, pages, 1)
  const baseline = await app.stats()
  t.teardown(() => redis.resume())

  const paused = at(1000, () => redis.pause())
  const resumed = at(4000, () => redis.resume())
  const result = await incrementLoad(app, pages, 6)
  const pauseAt = await paused - result.startedAt
  const resumeAt = await resumed - result.startedAt
  const after = await app.stats()

  assertNoFailures(t, result)
  const latencies = result.answers.map((answer) => answer.ms)
  const p99 = percentile(latencies, 99)
  const slowest = Math.max(...latencies)
  t.ok(p99 < LATENCY_LIMIT, `p99 ${p99.toFixed(1)} ms < ${LATENCY_LIMIT} ms: answers come within commandTimeout`)
  t.ok(slowest < HANG_LIMIT, `no answer hangs: slowest ${slowest.toFixed(1)} ms < ${HANG_LIMIT} ms`)
  const firstUnavailable = result.answers.find((answer) => answer.status === 503)
  const firstDelay = (firstUnavailable?.at ?? Infinity) - pauseAt
  t.ok(firstDelay <= LATENCY_LIMIT, `first 503 ${Math.round(firstDelay)} ms after the freeze (≤ ${LATENCY_LIMIT} ms)`)
  const frozen = completedIn(result.answers, pauseAt + LATENCY_LIMIT, resumeAt)
  t.ok(frozen.length > 0, `${frozen.length} answers during the rest of the freeze`)
  t.same(statusCounts(frozen), { 503: frozen.length }, 'all of them 503')

  const firstOk = result.answers.find((answer) => answer.at >= resumeAt && answer.status === 200)
  const recovery = (firstOk?.at ?? Infinity) - resumeAt
  t.ok(recovery <= 1000, `first 2xx ${Math.round(recovery)} ms after SIGCONT (≤ 1000 ms)`)
  const recovered = completedIn(result.answers, resumeAt + 1000)
  t.same(statusCounts(recovered), { 200: recovered.length }, `all ${recovered.length} answers from 1 s after SIGCONT are 200`)

  const stored = new Map<string, number>()
  for (const pageId of pages) stored.set(pageId, Number(await inspector.hget(`nex:page:{${pageId}}`, '.count') ?? 0))
  const problems = checkIncrements(result.answers, stored, { inFlight: CONNECTIONS }).filter((page) => page.problems.length > 0)
  t.same(problems, [], 'every page: no acknowledged increment lost or repeated, nothing applied that was not sent')

  const growth = after.heapUsed - baseline.heapUsed
  t.ok(growth <= HEAP_TOLERANCE, `heap after GC grew ${mb(growth)} (limit +5 MB)`)
})
