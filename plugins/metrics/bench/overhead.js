// Per-request cost of @nex/metrics: the same Fastify app with and without the plugin, served by pinned
// child processes and loaded by autocannon in alternating rounds (the repo's bench harness). Run after
// `npx tsc -b plugins/metrics`:
//   node plugins/metrics/bench/overhead.js
// Read the "server µs/req" columns: server CPU time per request. Last line: ratio=<with/without> of req/s.
import { fileURLToPath } from 'node:url'

process.env.BENCH_REF_SERVER ??= fileURLToPath(new URL('./servers/plain.js', import.meta.url))
process.env.BENCH_OURS_SERVER ??= fileURLToPath(new URL('./servers/with-metrics.js', import.meta.url))
const { fetchText, httpBenchmark, runBenchmark } = await import('../../../bench/lib/harness.js')

async function prepare ({ reference, ours }, launch) {
  const a = await fetchText(`${reference.url}/users/7`)
  const b = await fetchText(`${ours.url}/users/7`)
  if (a.status !== 200 || b.status !== 200 || a.body !== b.body) throw new Error('the two servers answer differently')
  const scrape = await fetchText(`${ours.url}/metrics`)
  // (A variant server without a /metrics route, swapped in with BENCH_OURS_SERVER, skips this check.)
  if (scrape.status !== 404 && !scrape.body.includes('http_request_duration_seconds_count{route="/users/:id",method="GET",status_code="2xx"}')) {
    throw new Error('the metrics side does not count the route')
  }
  if (launch === 0) console.log(`check: both send ${a.body.length} bytes; /metrics counts route="/users/:id"`)
  const request = { method: 'GET', path: '/users/7' }
  return { reference: request, ours: request }
}

runBenchmark(() => httpBenchmark({ title: 'metrics overhead: GET /users/:id, Fastify vs Fastify + @nex/metrics', prepare }))
