/**
 * CON-01 (RELIABILITY §6): 200 concurrent increments of one page on the memory page store, over real
 * sockets: autocannon -c 200 -a 200 -m POST on the counter example's `?/increment`, every request
 * carrying the same page id (X-Nex-Page-Id, as htmx sends it), the app in a child process.
 *
 * Correct: the final count is exactly 200 and the 200 answers are the counts 1…200, each once (no lost
 * update); no deadlock: p99 under 1 s and the per-page queue empty afterwards. Three rounds, each on a
 * fresh page, after one unasserted warm-up round. plugins/state/test/plugin.test.ts and examples/counter/test/counter.test.ts prove the count
 * through inject(); this is the socket and latency version. Not scaled.
 */
import t from 'tap'
import { startApp } from './fixtures/mem-con-red/app-process.ts'
import { countIn } from './fixtures/mem-con-red/increments.ts'
import { load, statusCounts, type LoadResult } from './fixtures/mem-con-red/load.ts'

const SECRET = 'con-01-secret-con-01-secret-con-01-secret-0123'
const CONCURRENT = 200
const ROUNDS = 3

const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })

t.test(`${ROUNDS} rounds of ${CONCURRENT} concurrent increments on one page end at ${CONCURRENT}, p99 < 1 s`, async (t) => {
  const app = await startApp(t, { NEX_SECRET: SECRET })
  const openPage = async (): Promise<string> => {
    const page = await fetch(`${app.origin}/`)
    const pageId = /data-nex-page-id="([^"]+)"/.exec(await page.text())?.[1]
    if (page.status !== 200 || pageId === undefined) throw new Error(`GET / answered ${page.status} without a page id`)
    return pageId
  }
  const burst = async (pageId: string): Promise<LoadResult> => await load({
    origin: app.origin,
    connections: CONCURRENT,
    amount: CONCURRENT,
    request: () => ({ method: 'POST', path: '/?/increment', headers: htmx(pageId) })
  })
  // Warm-up on a page of its own (not asserted): a process that just started pays for JIT and its first
  // 200 accepts, which says nothing about the queue.
  await burst(await openPage())

  for (let round = 1; round <= ROUNDS; round++) {
    const pageId = await openPage()
    const result = await burst(pageId)
    t.same(statusCounts(result.answers), { 200: CONCURRENT }, `round ${round}: every increment answered 200`)
    const seen = result.answers.map((answer) => countIn(answer.body)).sort((a, b) => a - b)
    t.same(seen, Array.from({ length: CONCURRENT }, (_, i) => i + 1), `round ${round}: the answers are 1…${CONCURRENT}, each once`)
    t.ok(result.latency.p99 < 1000, `round ${round}: p99 ${result.latency.p99} ms < 1 s (max ${result.latency.max} ms)`)

    const read = await fetch(`${app.origin}/`, { headers: htmx(pageId) })
    t.equal(countIn(await read.text()), CONCURRENT, `round ${round}: the stored count is ${CONCURRENT}`)
    t.equal((await app.stats()).pendingPages, 0, `round ${round}: the per-page queue drained (no writer stuck)`)
  }
})
