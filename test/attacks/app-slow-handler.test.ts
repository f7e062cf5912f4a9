// RELIABILITY §6 APP-01: a slow handler or downstream. `/slow` awaits a downstream HTTP call that takes
// 5 s, made with `fetch(url, { signal: request.signal })`; autocannon keeps 50 connections on it. Required:
// every answer is 503 FST_ERR_HANDLER_TIMEOUT at handlerTimeout (1 s in the test profile), the handler
// sees `request.signal.aborted === true`, and every downstream call is cancelled (the downstream server
// counts requests that completed: 0) instead of running on for 5 s. The mapping of the 503 to an htmx
// error fragment belongs to the framework's error handler, not to createServer(), and is not tested here.
// Scaled for CI: `autocannon -c 50 -d 10` becomes `-c 50 -d 5` (still ~250 timed-out requests).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp, PROFILE, SLOW_MS } from './fixtures/par-net/app.js'
import { autocannon, percentile } from './helpers/load.ts'
import { exchange, until } from './helpers/raw-http.ts'

const TIMEOUT = PROFILE.handlerTimeout

/** A downstream service that answers after SLOW_MS and counts requests that completed or were abandoned. */
async function startDownstream (): Promise<{ url: string, started: () => number, completed: () => number, cancelled: () => number, close: () => Promise<void> }> {
  let started = 0
  let completed = 0
  let cancelled = 0
  const timers = new Set<NodeJS.Timeout>()
  const server = http.createServer((_request, response) => {
    started++
    const timer = setTimeout(() => response.end('downstream done'), SLOW_MS)
    timers.add(timer)
    response.once('finish', () => { completed++ })
    response.once('close', () => {
      timers.delete(timer)
      clearTimeout(timer)
      if (!response.writableFinished) cancelled++
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    started: () => started,
    completed: () => completed,
    cancelled: () => cancelled,
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

t.test('APP-01 a handler awaiting a 5 s downstream call under autocannon -c 50: 503 at 1 s, signal aborted, downstream cancelled', async (t) => {
  const downstream = await startDownstream()
  t.teardown(() => downstream.close())
  const { app, stats } = await buildApp({ downstream: downstream.url })
  // When each answer left, by the server's clock (autocannon's own latency also counts its CPU waits).
  const elapsed: number[] = []
  app.addHook('onResponse', async (request, reply) => { if (request.url === '/slow') elapsed.push(reply.elapsedTime) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port

  const one = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n', { timeout: 3_000, responses: 1 })
  const answer = one.responses[0]
  t.equal(answer?.status, 503, 'a single request: 503')
  t.match(JSON.parse(answer?.body.toString() ?? '{}'), { code: 'FST_ERR_HANDLER_TIMEOUT' }, 'FST_ERR_HANDLER_TIMEOUT')
  const ms = one.firstResponseAfter ?? Number.NaN
  t.ok(ms >= TIMEOUT * 0.95 && ms <= TIMEOUT * 1.2, `at handlerTimeout (${Math.round(ms)} ms)`)

  const load = await autocannon(['-c', '50', '-d', '5', '-t', '10', `http://127.0.0.1:${port}/slow`])
  // The aborted fetches close their downstream connections right away; give the events a moment.
  await until(async () => downstream.cancelled() + downstream.completed() >= downstream.started() ? true : undefined, 2_000)
  const codes = Object.fromEntries(Object.entries(load.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]))
  t.comment(`autocannon: ${load.requests.total} requests, latency min ${load.latency.min} / p50 ${load.latency.p50} / p99 ${load.latency.p99} / max ${load.latency.max} ms, ` +
    `statuses ${JSON.stringify(codes)}; downstream: ${downstream.started()} started, ${downstream.cancelled()} cancelled, ${downstream.completed()} completed`)
  t.ok(load.requests.total >= 150, `the load ran (${load.requests.total} requests)`)
  t.same(codes, { 503: load.requests.total }, 'every response was 503')
  t.equal(load.errors + load.timeouts, 0, 'no connection errors or client timeouts')
  const serverP99 = percentile(elapsed, 99)
  t.comment(`server side: ${elapsed.length} answers after ${Math.round(Math.min(...elapsed))}–${Math.round(Math.max(...elapsed))} ms, p99 ${Math.round(serverP99)} ms`)
  t.ok(load.latency.min >= TIMEOUT * 0.95 && Math.min(...elapsed) >= TIMEOUT * 0.95, `none answered before handlerTimeout (client min ${load.latency.min} ms)`)
  t.ok(serverP99 <= TIMEOUT * 1.2, `answered at handlerTimeout: server-side p99 ${Math.round(serverP99)} ms <= ${TIMEOUT * 1.2} ms`)
  t.equal(stats.slowSawAborted, stats.slowStarted, `every handler run (${stats.slowStarted}) ended with request.signal.aborted === true`)
  t.equal(stats.downstreamCompleted, 0, 'no handler saw its downstream call complete')
  t.equal(downstream.started(), stats.slowStarted, 'each handler run made one downstream call')
  t.equal(downstream.completed(), 0, 'the downstream service completed none of them')
  t.equal(downstream.cancelled(), downstream.started(), 'every downstream call was cancelled')
})
