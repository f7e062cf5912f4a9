/**
 * CON-02 (RELIABILITY §6), what test/redis/two-process-counter.test.ts does not cover: two app processes
 * (the counter example's pages on the Redis page store, one real redis-server) each hit by its own
 * autocannon -c 100 -a 100 at the same moment, all 200 POSTs incrementing the same page.
 *
 * Correct: the final count is exactly 200 and the answers are 1…200, each once (no lost update across
 * processes), p99 under 1 s, and retries bounded: every single request needed fewer than 5
 * compare-and-set retries, read from each store's own per-update counts (`updateRetries`, also served
 * by @nex/metrics as `nex_page_state_update_retries`). Redis itself checks those counts: INFO
 * commandstats counts one EVALSHA of the write script per attempt, so attempts = updates + retries.
 * Two rounds, each on a fresh page, after one unasserted warm-up round. Not scaled.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { startApp, type AppProcess, type AppStats } from './fixtures/mem-con-red/app-process.ts'
import { countIn } from './fixtures/mem-con-red/increments.ts'
import { load, statusCounts, type LoadResult } from './fixtures/mem-con-red/load.ts'

const SECRET = 'con-02-secret-con-02-secret-con-02-secret-0123'
const PER_PROCESS = 100
const TOTAL = 2 * PER_PROCESS
const MAX_RETRIES_PER_REQUEST = 5
const ROUNDS = 2

const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })

/** Calls per Redis command since the last CONFIG RESETSTAT. */
async function commandCalls (client: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {}
  for (const match of (await client.info('commandstats')).matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    calls[match[1] as string] = Number(match[2])
  }
  return calls
}

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const inspector = new Redis(redis.url)
t.teardown(() => { inspector.disconnect() })
const env = { NEX_SECRET: SECRET, REDIS_URL: redis.url }
const [a, b] = await Promise.all([startApp(t, env), startApp(t, env)]) as [AppProcess, AppProcess]

/** `byRetries` of each process's store, now. */
async function retryCounts (): Promise<number[][]> {
  const stats: AppStats[] = await Promise.all([a.stats(), b.stats()])
  return stats.map((stat) => {
    if (stat.updateRetries === null) throw new Error('the app runs without the Redis page store')
    t.equal(stat.updateRetries.gaveUp, 0, 'no update gave up')
    return stat.updateRetries.byRetries
  })
}

/** Updates by retry count between two readings, both processes added up. */
function retriesBetween (before: number[][], after: number[][]): number[] {
  const slots = Math.max(...after.map((counts) => counts.length))
  return Array.from({ length: slots }, (_, retries) =>
    after.reduce((sum, counts, process) => sum + (counts[retries] ?? 0) - (before[process]?.[retries] ?? 0), 0))
}

async function openPage (): Promise<string> {
  const page = await fetch(`${a.origin}/`)
  const pageId = /data-nex-page-id="([^"]+)"/.exec(await page.text())?.[1]
  if (page.status !== 200 || pageId === undefined) throw new Error(`GET / answered ${page.status} without a page id`)
  return pageId
}

/** autocannon -c 100 -a 100 on each process at once, all on `pageId`. */
async function bothAtOnce (pageId: string): Promise<LoadResult[]> {
  const hit = async (app: AppProcess): Promise<LoadResult> => await load({
    origin: app.origin,
    connections: PER_PROCESS,
    amount: PER_PROCESS,
    request: () => ({ method: 'POST', path: '/?/increment', headers: htmx(pageId) })
  })
  return await Promise.all([hit(a), hit(b)])
}

t.test(`${ROUNDS} rounds: 2 × autocannon -c ${PER_PROCESS} -a ${PER_PROCESS} on one page, one per process, end at ${TOTAL}`, async (t) => {
  // Warm-up on a page of its own (not asserted): JIT, the script load, the first accepts.
  await bothAtOnce(await openPage())
  for (let round = 1; round <= ROUNDS; round++) {
    const pageId = await openPage()
    const before = await retryCounts()
    await inspector.config('RESETSTAT')
    const results = await bothAtOnce(pageId)
    const calls = await commandCalls(inspector)
    const byRetries = retriesBetween(before, await retryCounts())

    const answers = results.flatMap((result) => result.answers)
    t.same(statusCounts(answers), { 200: TOTAL }, `round ${round}: every increment answered 200 on both processes`)
    const seen = answers.map((answer) => countIn(answer.body)).sort((x, y) => x - y)
    t.same(seen, Array.from({ length: TOTAL }, (_, i) => i + 1), `round ${round}: the answers are 1…${TOTAL}, each once`)
    const p99 = Math.max(...results.map((result) => result.latency.p99))
    t.ok(p99 < 1000, `round ${round}: p99 ${p99} ms < 1 s on each process`)

    const updates = byRetries.reduce((sum, n) => sum + n, 0)
    const retries = byRetries.reduce((sum, n, count) => sum + n * count, 0)
    const worst = byRetries.findLastIndex((n) => n > 0)
    t.equal(updates, TOTAL, `round ${round}: the stores counted ${TOTAL} updates`)
    t.ok(worst < MAX_RETRIES_PER_REQUEST, `round ${round}: the worst request needed ${worst} retries (< ${MAX_RETRIES_PER_REQUEST}); ` +
      `updates by retries ${JSON.stringify(byRetries.slice(0, worst + 1))}, ${(retries / TOTAL).toFixed(2)} per request`)
    const attempts = (calls.evalsha ?? 0) + (calls.eval ?? 0)
    t.equal(attempts, TOTAL + retries, `round ${round}: Redis ran the write script ${attempts} times: one per attempt the stores counted`)
    t.comment(`round ${round}: Redis calls ${JSON.stringify(calls)}`)

    const read = await fetch(`${b.origin}/`, { headers: htmx(pageId) })
    t.equal(countIn(await read.text()), TOTAL, `round ${round}: the stored count is ${TOTAL}`)
  }
})
