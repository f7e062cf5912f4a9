// The counter example with the full production stack of the nex preset (CSP with nonces when a page uses them, security
// headers, CSRF, rate limits, Prometheus metrics, load shedding, idle compression) vs the same app with
// those plugins off, same run, alternating rounds. BENCH_REQUEST=page (default) measures GET /, the
// page render, as a browser's repeated views send it (with the CSRF cookie of its first visit);
// BENCH_REQUEST=increment the `increment` action as htmx sends it (one page view per
// autocannon connection, each with its own page id, CSRF cookie and token). Last line:
// ratio=<production/plain>. Target ≥ 0.75.
import { fileURLToPath } from 'node:url'
import { fetchText, httpBenchmark, runBenchmark, settings } from './lib/harness.js'
import { openPage, postIncrement, incrementRequest } from './lib/counter-views.js'

const REQUEST = process.env.BENCH_REQUEST ?? 'page'
if (REQUEST !== 'page' && REQUEST !== 'increment') throw new Error(`BENCH_REQUEST must be page or increment, got ${REQUEST}`)
const servers = {
  reference: fileURLToPath(new URL('./servers/nex-counter-plain.js', import.meta.url)),
  ours: fileURLToPath(new URL('./servers/nex-counter-production.js', import.meta.url))
}

/** Fails unless the production side runs every plugin the benchmark claims and the plain side none. */
async function checkStacks ({ reference, ours }) {
  const plain = await fetchText(reference.url + '/')
  const full = await fetchText(ours.url + '/')
  const csp = full.headers.get('content-security-policy') ?? ''
  const problems = []
  // The counter loads only the site's own script files: under `script-src 'self'` they need no nonce, so none is made.
  if (!/(?:^|; )script-src 'self'/.test(csp)) problems.push('production: no CSP')
  if (full.headers.get('x-content-type-options') !== 'nosniff') problems.push('production: no helmet headers')
  if (!/<meta name="csrf-token"/.test(full.body)) problems.push('production: no CSRF token')
  if ((await fetchText(ours.url + '/metrics')).status !== 200) problems.push('production: no /metrics')
  if (plain.headers.get('content-security-policy') !== null || /csrf-token/.test(plain.body)) problems.push('plain: security on')
  if ((await fetchText(reference.url + '/metrics')).status !== 404) problems.push('plain: /metrics served')
  const unprotected = await postIncrement(ours, { ...await openPage(ours), csrfToken: null })
  if (unprotected.status !== 403) problems.push(`production: an increment without the CSRF token answered ${unprotected.status}`)
  if (problems.length > 0) throw new Error(problems.join('; '))
}

async function prepare (sides, launch) {
  await checkStacks(sides)
  if (launch === 0) console.log('check: production sends a CSP, helmet headers and the CSRF token, serves /metrics, refuses an increment without the token (403), and its server module checked that the rate limiter is registered; plain has none of it')
  if (REQUEST === 'page') {
    // A browser's next views of the page: it sends back the CSRF cookie of its first visit.
    const { cookie } = await openPage(sides.ours)
    return { reference: { method: 'GET', path: '/' }, ours: { method: 'GET', path: '/', headers: cookie === null ? {} : { cookie } } }
  }

  const { reference, ours } = sides
  for (const server of [reference, ours]) {
    const view = await openPage(server)
    for (const expected of [1, 2]) {
      const answer = await postIncrement(server, view)
      if (answer.status !== 200 || !answer.body.includes(`>${expected}</div>`)) throw new Error(`${server.name}: increment answered ${answer.status}: ${answer.body}`)
    }
  }
  const perClient = async (server) => {
    const list = []
    for (let i = 0; i < settings.connections; i++) list.push(incrementRequest(await openPage(server), server.url))
    return { method: 'POST', path: '/?/increment', headers: list[0].headers, body: list[0].body, perClient: list }
  }
  if (launch === 0) console.log(`page views: one per connection (${settings.connections} per side), each from a GET of the page`)
  return { reference: await perClient(reference), ours: await perClient(ours) }
}

runBenchmark(() => httpBenchmark({
  title: `production-stack (${REQUEST}): the counter example with helmet/CSP, CSRF, rate limits, metrics, load shedding on vs off`,
  prepare,
  servers,
  referenceLabel: 'plain (production plugins off)'
}))
