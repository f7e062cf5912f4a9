// Graceful shutdown with serve(), in real server processes (test/fixtures/app/server.js) over real sockets:
// SHU-01 (SIGTERM under keep-alive load behind a simulated load balancer: nothing dropped, no 5xx, exit 0),
// SHU-03 (a hung close exits 1 at closeTimeout; a second signal exits 1 at once), a socket that never
// sent a byte does not hold the exit, readiness during the drain, an uncaught exception, and a bare
// app.close() in this process. Timings use the test profile: drainDelay 300 ms, load balancer every 50 ms.
import t from 'tap'
import { Agent, request, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildProcess } from 'node:child_process'
import Fastify from 'fastify'
import { httpRequest, startServer } from '../../../test/helpers/server-process.js'
import { nexHealth } from '../src/health.js'
import { serve } from '../src/shutdown.js'

const APP = fileURLToPath(new URL('./fixtures/app/', import.meta.url))
const DRAIN_DELAY = 300
const WORKERS = 30
const SIGTERM_AT = 1000
const LB_INTERVAL = 50
const LB_FAILURES = 2
const REQUEST_TIMEOUT = 5000

interface Exit { code: number | null, signal: NodeJS.Signals | null, elapsed: number }

/** Resolves with how `child` ended, `elapsed` counted from now (call it right before the signal). */
async function exitOf (child: ChildProcess): Promise<Exit> {
  const started = Date.now()
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, elapsed: 0 }
  return await new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal, elapsed: Date.now() - started })))
}

type Outcome = { status: number, headers: IncomingHttpHeaders } | { error: string }

/** One GET; never rejects: a response, or the error's code (else message). */
async function get (host: string, port: number, path: string, agent: Agent | false): Promise<Outcome> {
  return await new Promise(resolve => {
    const req = request({ host, port, path, agent }, res => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }))
      res.on('close', () => { if (!res.complete) resolve({ error: 'response cut' }) })
    })
    req.setTimeout(REQUEST_TIMEOUT, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }))
    req.end()
  })
}

interface LoadReport {
  requests: number
  ok: number
  serverErrors: number
  otherStatus: number
  refused: number
  dropped: number
  /** Why requests were dropped (ECONNRESET, socket hang up, TIMEOUT…), by count. */
  droppedBy: Record<string, number>
  /** Responses that carried `Connection: close` (the drain). */
  closed: number
  /** Ms from SIGTERM to the load balancer taking the instance out of rotation (-1: never). */
  outOfRotationAfter: number
  exit: Exit
}

/**
 * RELIABILITY §5, shortened: keep-alive workers loop on GET /work while they are in rotation; a load
 * balancer polls /readyz and takes the instance out after LB_FAILURES failures in a row; SIGTERM at
 * SIGTERM_AT. Every request is classified: a response, ECONNREFUSED (never accepted), or dropped.
 */
async function runLoad (host: string, port: number, child: ChildProcess): Promise<LoadReport> {
  const report: LoadReport = { requests: 0, ok: 0, serverErrors: 0, otherStatus: 0, refused: 0, dropped: 0, droppedBy: {}, closed: 0, outOfRotationAfter: -1, exit: { code: null, signal: null, elapsed: 0 } }
  const agent = new Agent({ keepAlive: true, maxSockets: WORKERS })
  // Read by the workers, written by the balancer.
  const rotation = { in: true }
  let signalledAt = 0

  const balancer = (async () => {
    let failures = 0
    while (rotation.in) {
      const outcome = await get(host, port, '/readyz', false)
      failures = 'status' in outcome && outcome.status === 200 ? 0 : failures + 1
      if (failures >= LB_FAILURES) {
        rotation.in = false
        report.outOfRotationAfter = signalledAt === 0 ? -1 : Date.now() - signalledAt
        break
      }
      await sleep(LB_INTERVAL)
    }
  })()

  async function worker (): Promise<void> {
    while (rotation.in) {
      const outcome = await get(host, port, '/work', agent)
      report.requests++
      if ('status' in outcome) {
        if (outcome.status >= 500) report.serverErrors++
        else if (outcome.status === 200) report.ok++
        else report.otherStatus++
        if (outcome.headers.connection === 'close') report.closed++
      } else if (outcome.error === 'ECONNREFUSED') {
        report.refused++
      } else {
        report.dropped++
        report.droppedBy[outcome.error] = (report.droppedBy[outcome.error] ?? 0) + 1
      }
    }
  }
  const workers = Promise.all(Array.from({ length: WORKERS }, worker))

  await sleep(SIGTERM_AT)
  const exited = exitOf(child)
  signalledAt = Date.now()
  child.kill('SIGTERM')
  await Promise.all([workers, balancer])
  report.exit = await exited
  agent.destroy()
  return report
}

t.test('SHU-01: SIGTERM under keep-alive load behind a load balancer: 0 dropped, 0 refused, 0 5xx, exit 0 (3 runs)', async (t) => {
  for (let run = 1; run <= 3; run++) {
    const server = await startServer(t, APP, { DRAIN_DELAY: String(DRAIN_DELAY) })
    const report = await runLoad(server.host, server.port, server.child)
    t.comment(`run ${run}: ${JSON.stringify(report)}`)
    t.ok(report.ok > WORKERS * 5, `run ${run}: the load ran (${report.ok} ok responses)`)
    t.equal(report.dropped, 0, `run ${run}: no request dropped ${JSON.stringify(report.droppedBy)}`)
    t.equal(report.serverErrors, 0, `run ${run}: no 5xx`)
    t.equal(report.refused, 0, `run ${run}: no connection refused (the balancer stopped sending first)`)
    t.equal(report.otherStatus, 0, `run ${run}: nothing but 200s`)
    t.ok(report.outOfRotationAfter > 0 && report.outOfRotationAfter < DRAIN_DELAY,
      `run ${run}: out of rotation ${report.outOfRotationAfter} ms after SIGTERM, within the drain (${DRAIN_DELAY} ms)`)
    t.ok(report.closed > 0, `run ${run}: responses during the drain carried Connection: close (${report.closed})`)
    t.same({ code: report.exit.code, signal: report.exit.signal }, { code: 0, signal: null }, `run ${run}: exit code 0`)
    t.ok(report.exit.elapsed < DRAIN_DELAY + 2000, `run ${run}: exited ${report.exit.elapsed} ms after SIGTERM (budget ${DRAIN_DELAY + 2000} ms)`)
    t.ok(report.exit.elapsed >= DRAIN_DELAY, `run ${run}: not before the drain delay (${report.exit.elapsed} ms)`)
  }
})

t.test('SHU-01 control: the same load without a drain delay gets 503s or failures (the harness sees them)', async (t) => {
  const server = await startServer(t, APP, { DRAIN_DELAY: '0' })
  const report = await runLoad(server.host, server.port, server.child)
  t.comment(`no drain: ${JSON.stringify(report)}`)
  t.ok(report.serverErrors + report.refused + report.dropped > 0,
    `closing at once fails requests still coming (${report.serverErrors} 5xx, ${report.refused} refused, ${report.dropped} dropped)`)
  t.equal(report.exit.code, 0, 'the process itself still exits 0')
})

t.test('a socket that never sent a byte does not hold the exit', async (t) => {
  const server = await startServer(t, APP, { DRAIN_DELAY: String(DRAIN_DELAY) })
  const silent: Socket = connect(server.port, server.host)
  await new Promise((resolve, reject) => silent.once('connect', resolve).once('error', reject))
  const silentClosed = new Promise<number>(resolve => silent.once('close', () => resolve(Date.now())))
  silent.on('error', () => {})
  // An idle keep-alive socket (it had its request) next to it: Node closes those itself.
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const first = await get(server.host, server.port, '/work', agent)
  t.same('status' in first && first.status, 200, 'a keep-alive request before the signal')
  await sleep(100)

  const exited = exitOf(server.child)
  const signalled = Date.now()
  server.child.kill('SIGTERM')
  const exit = await exited
  t.comment(`exit ${exit.elapsed} ms after SIGTERM with a silent socket open`)
  t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, 'exit code 0')
  t.ok(exit.elapsed < DRAIN_DELAY + 500, `exited ${exit.elapsed} ms after SIGTERM (budget drainDelay + 500 ms; Node alone waits for headersTimeout, 60–90 s)`)
  t.ok((await silentClosed) - signalled < DRAIN_DELAY + 500, 'the silent socket was closed by the server')
})

t.test('readiness during the drain: /readyz 503 draining, /healthz 200, requests served with Connection: close', async (t) => {
  const drainDelay = 1000
  const server = await startServer(t, APP, { DRAIN_DELAY: String(drainDelay) })
  const { host, port } = server
  const before = await httpRequest(host, port, '/readyz')
  t.equal(before.status, 200, '/readyz 200 before the signal')
  t.same(JSON.parse(before.body), { status: 'ok' })

  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  await sleep(100)
  const ready = await httpRequest(host, port, '/readyz')
  t.equal(ready.status, 503, '/readyz 503 during the drain')
  t.same(JSON.parse(ready.body), { status: 'draining' }, 'the body says why')
  t.equal(ready.headers['retry-after'], '5', 'with Retry-After')
  t.equal(ready.headers['cache-control'], 'no-store')
  const live = await httpRequest(host, port, '/healthz')
  t.equal(live.status, 200, '/healthz stays 200: the process is alive')
  t.same(JSON.parse(live.body), { status: 'ok' })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const work = await get(host, port, '/work', agent)
  t.same('status' in work && [work.status, work.headers.connection], [200, 'close'], 'requests are still served, and close their connection')

  const exit = await exited
  t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, 'exit code 0')
  t.ok(exit.elapsed >= drainDelay && exit.elapsed < drainDelay + 1000, `exited ${exit.elapsed} ms after SIGTERM (drainDelay ${drainDelay} ms)`)
  t.match(server.output(), /"signal":"SIGTERM","msg":"nex: SIGTERM received; draining for 1000 ms, then closing"/, 'the signal is logged')
  t.match(server.output(), /"msg":"nex: closed"/, 'and the close')
})

t.test('SHU-03: a request that never finishes: exit 1 at closeTimeout, onTimeout logged', async (t) => {
  const closeTimeout = 1500
  const server = await startServer(t, APP, { DRAIN_DELAY: String(DRAIN_DELAY), CLOSE_TIMEOUT: String(closeTimeout) })
  const hung = get(server.host, server.port, '/hang', false)
  await sleep(100)
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  const exit = await exited
  t.comment(`hung close: exit ${exit.code} ${exit.elapsed} ms after SIGTERM (closeTimeout ${closeTimeout})`)
  t.same({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, 'exit code 1')
  t.ok(exit.elapsed >= closeTimeout - 50 && exit.elapsed < closeTimeout + 500, `at closeTimeout: ${exit.elapsed} ms (closeTimeout ${closeTimeout} ms)`)
  t.match(server.output(), /"level":50,.*"closeTimeout":1500,"msg":"nex: shutdown did not finish within closeTimeout \(1500 ms\) of the signal; exiting with code 1"/, 'onTimeout is logged as an error')
  t.notMatch(server.output(), /"msg":"nex: closed"/, 'the close never finished')
  t.ok('error' in (await hung), 'the hung request is cut by the exit')
})

t.test('SHU-03: a second SIGTERM during the drain exits 1 at once', async (t) => {
  const drainDelay = 3000
  const server = await startServer(t, APP, { DRAIN_DELAY: String(drainDelay), CLOSE_TIMEOUT: '5000' })
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  await sleep(200)
  const second = Date.now()
  server.child.kill('SIGTERM')
  const exit = await exited
  const afterSecond = Date.now() - second
  t.comment(`second SIGTERM: exit ${exit.code} ${afterSecond} ms after it`)
  t.same({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, 'exit code 1')
  t.ok(afterSecond < 300, `exited ${afterSecond} ms after the second signal`)
  t.ok(exit.elapsed < drainDelay, 'without waiting for the drain')
  t.match(server.output(), /"signal":"SIGTERM","msg":"nex: second SIGTERM during shutdown; exiting now with code 1"/, 'logged')
})

t.test('an uncaught exception: logged, drained and closed, exit 1', async (t) => {
  const server = await startServer(t, APP, { DRAIN_DELAY: String(DRAIN_DELAY) })
  const exited = exitOf(server.child)
  const crash = await httpRequest(server.host, server.port, '/crash', { method: 'POST' })
  t.equal(crash.status, 200, 'the request that scheduled the throw was answered')
  const exit = await exited
  t.same({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, 'exit code 1')
  t.ok(exit.elapsed >= DRAIN_DELAY - 50 && exit.elapsed < DRAIN_DELAY + 1000, `after the drain: ${exit.elapsed} ms`)
  t.match(server.output(), /"level":50,.*"err":\{.*"message":"thrown outside any request".*"msg":"nex: uncaught error; draining for 300 ms and closing, then exiting with code 1"/, 'the error is logged')
  t.match(server.output(), /"msg":"nex: closed"/, 'the app was closed')
})

t.test('app.close() without serve(): silent sockets and in-flight keep-alive requests do not hold it', async (t) => {
  const app = Fastify()
  await app.register(nexHealth)
  app.get('/slow', async () => {
    await sleep(300)
    return { done: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const silent = connect(port, '127.0.0.1')
  silent.on('error', () => {})
  await new Promise(resolve => silent.once('connect', resolve))
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const slow = get('127.0.0.1', port, '/slow', agent)
  await sleep(100)

  const started = Date.now()
  await Promise.race([app.close(), sleep(3000)])
  const elapsed = Date.now() - started
  t.ok(elapsed < 1000, `close() resolved in ${elapsed} ms (Node alone: headersTimeout for the silent socket, keepAliveTimeout (72 s) for the keep-alive one)`)
  t.ok(app.nexLifecycle.draining, 'closing starts draining')
  const response = await slow
  t.same('status' in response && [response.status, response.headers.connection], [200, 'close'], 'the in-flight request finished, with Connection: close')
})

t.test('serve() refuses bad options and an app without nexHealth, before listening', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const handlers = process.listenerCount('SIGTERM')
  const INVALID = { code: 'FST_NEX_SHUTDOWN_INVALID_OPTION', statusCode: 500 }
  await t.rejects(serve(app, { drainDelay: -1 }), { ...INVALID, message: /option "drainDelay" must be an integer ≥ 0, got -1/ })
  await t.rejects(serve(app, { drainDelay: 5000, closeTimeout: 5000 }), { ...INVALID, message: /option "closeTimeout" must be an integer ≥ 5001, got 5000/ })
  await t.rejects(serve(app, { closeTimeout: 2.5 }), { ...INVALID, message: /"closeTimeout"/ })
  await t.rejects(serve(app, { signals: [] }), { ...INVALID, message: /option "signals" must be a non-empty array of SIGTERM, SIGINT/ })
  await t.rejects(serve(app, { signals: ['SIGKILL' as 'SIGTERM'] }), { ...INVALID, message: /"signals"/ })
  await t.rejects(serve(app, { port: 0 }), { code: 'FST_NEX_SHUTDOWN_NO_LIFECYCLE', message: /Register the nexHealth plugin/ })
  t.notOk(app.server.listening, 'nothing listens')
  t.equal(process.listenerCount('SIGTERM'), handlers, 'no signal handler was installed')
})
