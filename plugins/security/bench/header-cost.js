// Per-request cost of the security headers @nex/security sends on a page (helmet's and the CSP, nothing
// else of the plugin): the same Fastify app with and without them, served by pinned child processes and
// loaded by autocannon in alternating rounds (the repo's bench harness). Run after `npm run build`:
//   node plugins/security/bench/header-cost.js
// Read the "server µs/req" columns: server CPU time per request. Last line: ratio=<with/without> of req/s.
import { fileURLToPath } from 'node:url'

process.env.BENCH_REF_SERVER ??= fileURLToPath(new URL('../../metrics/bench/servers/plain.js', import.meta.url))
process.env.BENCH_OURS_SERVER ??= fileURLToPath(new URL('./servers/with-headers.js', import.meta.url))
const { fetchText, httpBenchmark, runBenchmark } = await import('../../../bench/lib/harness.js')

async function prepare ({ reference, ours }, launch) {
  const a = await fetchText(`${reference.url}/users/7`)
  const b = await fetchText(`${ours.url}/users/7`)
  if (a.status !== 200 || b.status !== 200 || a.body !== b.body) throw new Error('the two servers answer differently')
  const added = [...b.headers.keys()].filter((name) => !a.headers.has(name))
  if (!added.includes('content-security-policy') || !added.includes('x-content-type-options')) throw new Error(`the headers side sends no security headers: ${added.join(', ')}`)
  if (launch === 0) console.log(`check: the same ${a.body.length} bytes; the headers side adds ${added.length} headers: ${added.join(', ')}`)
  const request = { method: 'GET', path: '/users/7' }
  return { reference: request, ours: request }
}

runBenchmark(() => httpBenchmark({ title: 'security headers: GET /users/:id, Fastify vs Fastify + @nex/security headers only', prepare }))
