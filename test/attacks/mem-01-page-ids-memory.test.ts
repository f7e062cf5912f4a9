/**
 * MEM-01 (RELIABILITY §6): attacker-chosen page ids against the memory page store, over real sockets.
 * The counter example's pages run in a child process (`--expose-gc`, IPC), so its heap and its store are
 * measured on their own, not mixed with autocannon's.
 *
 * - Ids the server never issued (well-formed: 22 + 1 + 22 base64url characters, so they reach the HMAC
 *   check; half in `X-Nex-Page-Id`, half in the `_nex_page` form field): every answer is 410 with
 *   `HX-Refresh: true`, the store holds exactly as many pages as before, and the heap after GC is at most
 *   the baseline + 5 MB.
 * - Ids it did issue, each written once: the store stays within `maxPages` entries and within `maxBytes`
 *   bytes (one run bound by each), and evicts instead of failing.
 *
 * Scaled for 2 CI cores: 40 000 forged ids instead of autocannon's 100 000 (same 20 connections, with the
 * ids generated per request like `-I`, but in the real id format); 3 000 issued ids per bound.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { startApp, type AppStats } from './fixtures/mem-con-red/app-process.ts'
import { load, statusCounts } from './fixtures/mem-con-red/load.ts'

const SECRET = 'mem-01-secret-mem-01-secret-mem-01-secret-0123'
const FORGED = 40_000
const WARM_UP = 2_000
const ISSUED = 3_000
const HEAP_TOLERANCE = 5 * 1024 * 1024
const FORM = 'application/x-www-form-urlencoded'

/** A well-formed id with a tag the server never made. */
const forgedId = (): string => `${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}`

/** POST ?/increment carrying `id` as htmx does (header) or as a plain form post does (field). */
function increment (id: string, inForm: boolean): { method: string, path: string, headers: Record<string, string>, body?: string, tag: string } {
  return inForm
    ? { method: 'POST', path: '/?/increment', headers: { 'content-type': FORM }, body: new URLSearchParams({ _nex_page: id }).toString(), tag: id }
    : { method: 'POST', path: '/?/increment', headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': id }, tag: id }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`

t.test('forged page ids: 410 + HX-Refresh, nothing stored, heap after GC within +5 MB', async (t) => {
  const app = await startApp(t, { NEX_SECRET: SECRET })
  let n = 0
  const forged = (): ReturnType<typeof increment> => increment(forgedId(), n++ % 2 === 0)

  // Warm-up: JIT, socket pools and autocannon's first connections, then the baseline.
  await load({ origin: app.origin, connections: 20, amount: WARM_UP, request: forged, keepBodies: false })
  const before = await app.stats()

  const flood = await load({ origin: app.origin, connections: 20, amount: FORGED, request: forged, keepBodies: false })
  const after = await app.stats()

  t.same(statusCounts(flood.answers), { 410: FORGED }, `all ${FORGED} forged ids answered 410`)
  t.equal(flood.answers.filter((answer) => answer.headers['hx-refresh'] === 'true').length, FORGED, 'each with HX-Refresh: true')
  t.equal(flood.errors + flood.timeouts, 0, 'no connection errors or timeouts')
  t.equal(after.pages, before.pages, `store.size unchanged (${String(before.pages)})`)
  t.equal(after.pageBytes, before.pageBytes, 'store bytes unchanged')
  const growth = after.heapUsed - before.heapUsed
  t.ok(growth <= HEAP_TOLERANCE, `heap after GC grew ${mb(growth)} (baseline ${mb(before.heapUsed)}, limit +5 MB)`)
  t.comment(`${FORGED} forged ids: p99 ${flood.latency.p99} ms`)
})

/** Writes each of `ISSUED` issued ids once through the app; returns the stats after. */
async function writeIssued (t: Test, env: Record<string, string>): Promise<AppStats> {
  const app = await startApp(t, { NEX_SECRET: SECRET, ...env })
  const ids = await app.issue(ISSUED)
  let next = 0
  const result = await load({
    origin: app.origin,
    connections: 20,
    amount: ISSUED,
    request: () => {
      const i = next++
      return increment(ids[i % ids.length] as string, i % 2 === 0)
    }
  })
  t.same(statusCounts(result.answers), { 200: ISSUED }, 'issued ids are served: every write answered 200')
  return await app.stats()
}

t.test('issued ids, bound by count: entries never exceed maxPages', async (t) => {
  const maxPages = 500
  const stats = await writeIssued(t, { MAX_PAGES: String(maxPages) })
  t.ok(stats.pages !== null && stats.pages <= maxPages, `${String(stats.pages)} pages held, maxPages ${maxPages}`)
  t.equal(stats.pages, maxPages, 'the bound is what stopped it (least recently used pages evicted)')
})

t.test('issued ids, bound by bytes: bytes never exceed maxBytes', async (t) => {
  const maxBytes = 64 * 1024
  const stats = await writeIssued(t, { MAX_BYTES: String(maxBytes), MAX_PAGES: '100000' })
  t.ok(stats.pageBytes !== null && stats.pageBytes <= maxBytes, `${String(stats.pageBytes)} bytes held, maxBytes ${maxBytes}`)
  t.ok(stats.pages !== null && stats.pages < ISSUED, `${String(stats.pages)} of ${ISSUED} pages kept: the rest were evicted`)
})
