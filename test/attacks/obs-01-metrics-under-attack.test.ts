/**
 * OBS-01 (RELIABILITY §6): metrics and health while the app is under attack or failing, scraped over real
 * sockets from apps built with the `nex` preset in production. plugins/metrics/test/*.test.ts and
 * packages/nex/test/health.test.ts prove the plugins one by one; here they are scraped during the faults.
 *
 * - Slowloris (NET-01 style, small: 40 sockets dribbling headers at the counter example with the test
 *   profile's headersTimeout 2 s): `/metrics` and `/readyz` answer 200 throughout, each within 1 s; the
 *   request histogram is there with its `route`, `method`, `status_code` labels, and the event-loop delay
 *   (`nodejs_eventloop_lag_*`); the slowloris sockets are closed by the server.
 * - Redis outage (RED-01 style: the counter example on a real redis-server through REDIS_URL, a light
 *   increment load, the server killed): the increments turn into 503s,
 *   `nex_http_errors_total{reason="store_unavailable"}` and the 5xx count of the action's route rise by
 *   as many, `/readyz` answers 503 naming `page-store`, `/metrics` keeps answering; after a restart
 *   `/readyz` is 200 again.
 * - Handler timeout (APP-01 style: the fixture app's `/api/slow`, 5 s of work, with the test profile's
 *   handlerTimeout 1 s): 503s, and `nex_http_errors_total{route="/api/slow",reason="handler_timeout"}`
 *   rises by as many.
 * - SIGTERM drain (the counter example's `server.js`, NODE_ENV=production, DRAIN_DELAY=2000): `/readyz`
 *   flips to 503 `draining` within 500 ms of the signal (measured ~5 ms) while `/healthz` and `/metrics` still answer 200;
 *   the process exits 0 after the drain.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '@nex/testing'
import { serve } from '../helpers/browser.ts'
import { httpRequest, startServer } from '../helpers/server-process.ts'
import { deadline } from './helpers/raw-http.ts'
import { buildExample, buildFixture, PRODUCTION } from './fixtures/sec-obs/apps.ts'
import { htmxHeaders, openPage } from './fixtures/sec-obs/http.ts'
import { scrape, total } from './fixtures/sec-obs/metrics.ts'

const COUNTER = fileURLToPath(new URL('../../examples/counter/', import.meta.url))
/** RELIABILITY §6 test profile. */
const HEADERS_TIMEOUT = 2_000
const CHECK_INTERVAL = 500
const PROFILE = { headersTimeout: HEADERS_TIMEOUT, connectionsCheckingInterval: CHECK_INTERVAL, requestTimeout: 3_000, handlerTimeout: 1_000 }

async function timed (url: string): Promise<{ status: number, ms: number, body: string }> {
  const started = performance.now()
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  const body = await response.text()
  return { status: response.status, ms: performance.now() - started, body }
}

t.test('slowloris: /metrics and /readyz answer throughout; histogram labels and event-loop delay present', async (t) => {
  const base = await serve(t, await buildExample('counter', { server: { logger: false, ...PROFILE } }))
  const { port } = new URL(base)
  await fetch(`${base}/`).then(async (response) => await response.text()) // one request, so the histogram has a series

  const sockets: Socket[] = []
  const closed: number[] = []
  const started = performance.now()
  for (let i = 0; i < 40; i++) {
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    socket.once('close', () => closed.push(performance.now() - started))
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
    sockets.push(socket)
  }
  const dribble = setInterval(() => { for (const socket of sockets) if (!socket.destroyed) socket.write(`X-Slow-${Math.random().toString(36).slice(2, 6)}: 1\r\n`) }, 300)
  t.teardown(() => { clearInterval(dribble); for (const socket of sockets) socket.destroy() })

  const scrapes: Array<{ path: string, status: number, ms: number }> = []
  let last = ''
  while (performance.now() - started < HEADERS_TIMEOUT + 500) {
    for (const path of ['/metrics', '/readyz']) {
      const answer = await timed(`${base}${path}`)
      scrapes.push({ path, status: answer.status, ms: answer.ms })
      if (path === '/metrics') last = answer.body
    }
    await sleep(200)
  }
  t.ok(scrapes.length >= 10, `${scrapes.length} scrapes during the slowloris`)
  t.same(scrapes.filter((scrape) => scrape.status !== 200), [], 'every scrape 200')
  const slowest = Math.max(...scrapes.map((scrape) => scrape.ms))
  t.ok(slowest < 1_000, `each within 1 s (slowest ${slowest.toFixed(1)} ms)`)
  t.match(last, /http_request_duration_seconds_bucket\{le="[^"]+",route="\/",method="GET",status_code="2xx"\}|http_request_duration_seconds_bucket\{route="\/",method="GET",status_code="2xx",le="[^"]+"\}/, 'http_request_duration_seconds{route,method,status_code} present')
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds']) {
    t.match(last, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), `event-loop delay: ${name}`)
  }
  const limit = deadline(HEADERS_TIMEOUT, CHECK_INTERVAL) + 500
  while (closed.length < sockets.length && performance.now() - started < limit) await sleep(50)
  t.equal(closed.length, sockets.length, `the server closed all ${sockets.length} slowloris sockets (last at ${Math.round(Math.max(...closed))} ms, limit ${limit} ms)`)
})

t.test('Redis outage under light load: store_unavailable and 5xx counters rise, /readyz 503 page-store, back after restart', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const base = await serve(t, await buildExample('counter', { env: { ...PRODUCTION, REDIS_URL: redis.url } }))
  const page = await openPage(base, '/')
  const headers = htmxHeaders(page, { 'x-csrf-token': page.token })
  const statuses: Record<number, number> = {}
  const state = { running: true }
  // Light load: 3 clients, an increment every 100 ms each (the actions class allows 120 per minute).
  const workers = Array.from({ length: 3 }, async () => {
    while (state.running) {
      const response = await fetch(`${base}/?/increment`, { method: 'POST', headers })
      await response.arrayBuffer()
      statuses[response.status] = (statuses[response.status] ?? 0) + 1
      await sleep(100)
    }
  })
  await sleep(600)
  const before = await scrape(base)
  t.equal((await timed(`${base}/readyz`)).status, 200, '/readyz 200 while Redis is up')
  const okBefore = statuses[200] ?? 0
  await redis.crash()
  await sleep(1_500)
  const during = await scrape(base)
  const ready = await timed(`${base}/readyz`)
  state.running = false
  await Promise.all(workers)
  t.comment(`answers: ${JSON.stringify(statuses)}`)
  t.ok(okBefore > 0 && (statuses[503] ?? 0) > 0, `increments answered 200 before the kill (${okBefore}), 503 after (${statuses[503] ?? 0})`)
  t.same(Object.keys(statuses).filter((status) => status !== '200' && status !== '503'), [], 'only 200 and 503, never a 500')
  t.equal(during.status, 200, '/metrics keeps answering during the outage')
  const rise = (name: string, labels: Record<string, string>): number => total(during, name, labels) - total(before, name, labels)
  const unavailable = rise('nex_http_errors_total', { reason: 'store_unavailable' })
  t.ok(unavailable > 0, `nex_http_errors_total{reason="store_unavailable"} rose by ${unavailable}`)
  t.ok(rise('http_request_duration_seconds_count', { route: '/', method: 'POST', status_code: '5xx' }) >= unavailable, 'and the 5xx count of the action\'s route with it')
  t.equal(ready.status, 503, '/readyz 503 during the outage')
  t.match(JSON.parse(ready.body), { status: 'unavailable', failing: ['page-store'] }, 'naming the failing check')

  await redis.restart()
  const end = performance.now() + 8_000
  let back = 0
  while (back !== 200 && performance.now() < end) {
    back = (await timed(`${base}/readyz`)).status
    if (back !== 200) await sleep(200)
  }
  t.equal(back, 200, '/readyz 200 again after Redis restarted (no app restart)')
})

t.test('handler timeout: 503s, and the handler_timeout counter rises by as many', async (t) => {
  const base = await serve(t, await buildFixture({ server: { logger: false, ...PROFILE } }))
  const before = await scrape(base)
  const answers = await Promise.all(Array.from({ length: 5 }, async () => await timed(`${base}/api/slow`)))
  const after = await scrape(base)
  t.same(answers.map((answer) => answer.status), [503, 503, 503, 503, 503], 'five 503s')
  t.ok(answers.every((answer) => answer.ms >= 900 && answer.ms < 2_000), `at handlerTimeout (${answers.map((answer) => Math.round(answer.ms)).join(', ')} ms)`)
  const labels = { route: '/api/slow', reason: 'handler_timeout' }
  t.equal(total(after, 'nex_http_errors_total', labels) - total(before, 'nex_http_errors_total', labels), 5, 'nex_http_errors_total{route="/api/slow",reason="handler_timeout"} +5')
})

t.test('SIGTERM with DRAIN_DELAY=2000 (server.js): /readyz flips to 503 draining, /healthz and /metrics still 200, exit 0', async (t) => {
  const drainDelay = 2_000
  const server = await startServer(t, COUNTER, { ...PRODUCTION, DRAIN_DELAY: String(drainDelay) } as Record<string, string>)
  const { host, port } = server
  t.equal((await httpRequest(host, port, '/readyz')).status, 200, '/readyz 200 before the signal')
  const exited = new Promise<{ code: number | null, at: number }>((resolve) => server.child.once('exit', (code) => resolve({ code, at: performance.now() })))
  const signalled = performance.now()
  server.child.kill('SIGTERM')
  let flipped = -1
  while (performance.now() - signalled < 1_000) {
    const ready = await httpRequest(host, port, '/readyz')
    if (ready.status === 503) {
      flipped = performance.now() - signalled
      t.same(JSON.parse(ready.body), { status: 'draining' }, '/readyz says draining')
      break
    }
    await sleep(20)
  }
  t.ok(flipped >= 0 && flipped < 500, `/readyz 503 ${Math.round(flipped)} ms after SIGTERM`)
  t.equal((await httpRequest(host, port, '/healthz')).status, 200, '/healthz 200 during the drain')
  const metrics = await httpRequest(host, port, '/metrics')
  t.equal(metrics.status, 200, '/metrics 200 during the drain')
  t.match(metrics.body, /^http_request_duration_seconds_count\{route="\/readyz"|nex_http_requests_in_flight /m, 'with its series')
  const exit = await exited
  t.equal(exit.code, 0, 'exit code 0')
  t.ok(exit.at - signalled >= drainDelay, `after the drain (${Math.round(exit.at - signalled)} ms)`)
})
