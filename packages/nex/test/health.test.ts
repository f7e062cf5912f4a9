// nexHealth: liveness and readiness through inject() (the HTTP parser does not matter here), the named
// checks with their deadline, draining, the automatic page-store check (memory store, then a Redis store on
// a real redis-server that is killed mid-test), and options refused at register time.
import t from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { nexState } from '@nex/state'
import { redisFromEnv } from '@nex/redis'
import { startRedisServer } from '@nex/testing'
import { nexHealth, type HealthOptions } from '../src/health.js'

const SECRET = 'test-secret-that-is-long-enough-0123456789'

interface Teardown { teardown (fn: () => unknown): void }

async function build (t: Teardown, options: HealthOptions = {}, fastify: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastify)
  t.teardown(() => app.close())
  await app.register(nexHealth, options)
  app.get('/page', async () => ({ page: true }))
  await app.ready()
  return app
}

/** Log lines (parsed) written at `level` and above. */
function captureLogs (level = 'info'): { lines: Array<Record<string, unknown>>, logger: FastifyServerOptions['logger'] } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(JSON.parse(String(chunk))); next() } })
  return { lines, logger: { level, stream } }
}

/** A check whose outcome the test sets: 'ok', 'fail' (rejects with a secret), 'throw' (synchronously), 'hang'. */
function switchableCheck (): { check: (signal: AbortSignal) => Promise<void>, mode: 'ok' | 'fail' | 'throw' | 'hang', calls: number, signals: AbortSignal[] } {
  const state = {
    mode: 'ok' as 'ok' | 'fail' | 'throw' | 'hang',
    calls: 0,
    signals: [] as AbortSignal[],
    check (signal: AbortSignal): Promise<void> {
      state.calls++
      state.signals.push(signal)
      if (state.mode === 'throw') throw new Error('db password hunter2 in a sync throw')
      if (state.mode === 'fail') return Promise.reject(new Error('db password hunter2 in the message'))
      if (state.mode === 'hang') return new Promise(() => {})
      return Promise.resolve()
    }
  }
  return state
}

t.test('liveness and readiness with no checks', async (t) => {
  const app = await build(t)
  for (const url of ['/healthz', '/readyz']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, `${url} 200`)
    t.same(res.json(), { status: 'ok' })
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers['cache-control'], 'no-store', 'probes are never cached')
    t.not(res.headers.connection, 'close', 'no Connection: close while serving')
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, `HEAD ${url} 200`)
  }
  t.equal(app.nexLifecycle.draining, false, 'serving, not draining')
})

t.test('paths are configurable', async (t) => {
  const app = await build(t, { livenessPath: '/-/live', readinessPath: '/-/ready' })
  t.equal((await app.inject('/-/live')).statusCode, 200)
  t.equal((await app.inject('/-/ready')).statusCode, 200)
  t.equal((await app.inject('/healthz')).statusCode, 404, 'the default paths are not registered')
  t.equal((await app.inject('/readyz')).statusCode, 404)
})

t.test('a failing check: 503 naming it (never its error), Retry-After, logged once; 200 once it recovers', async (t) => {
  const db = switchableCheck()
  const cache = switchableCheck()
  const { lines, logger } = captureLogs()
  const app = await build(t, { checks: { db: db.check, cache: cache.check }, retryAfter: 7 }, { logger })
  t.equal((await app.inject('/readyz')).statusCode, 200, 'all pass: 200')

  for (const mode of ['fail', 'throw'] as const) {
    db.mode = mode
    const res = await app.inject('/readyz')
    t.equal(res.statusCode, 503, `db ${mode}: 503`)
    t.same(res.json(), { status: 'unavailable', failing: ['db'] }, 'the body names the failing check')
    t.notMatch(res.body, /hunter2|password|Error/, 'and nothing of its error')
    t.equal(res.headers['retry-after'], '7')
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal((await app.inject('/healthz')).statusCode, 200, 'liveness does not run checks')
  }
  cache.mode = 'fail'
  t.same((await app.inject('/readyz')).json(), { status: 'unavailable', failing: ['db', 'cache'] }, 'every failing check is named')

  const failed = lines.filter(line => line.msg === 'nex-health: readiness check "db" failed; /readyz answers 503 until it passes')
  t.equal(failed.length, 1, 'a failure streak is logged once (not per probe)')
  t.equal(failed[0]?.level, 40, 'as a warning')
  t.match(failed[0], { check: 'db', err: { message: 'db password hunter2 in the message' } }, 'with the error, in the log only')

  db.mode = 'ok'
  cache.mode = 'ok'
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 200, 'recovered: 200')
  t.same(res.json(), { status: 'ok' })
  t.equal(res.headers['retry-after'], undefined)
  t.ok(lines.some(line => line.msg === 'nex-health: readiness check "db" passes again' && line.level === 30), 'the recovery is logged')
})

t.test('a check that does not settle fails at checkTimeout; its signal aborts; it is not called again while pending', async (t) => {
  const slow = switchableCheck()
  const app = await build(t, { checks: { slow: slow.check }, checkTimeout: 150 })
  slow.mode = 'hang'
  const started = Date.now()
  const res = await app.inject('/readyz')
  const elapsed = Date.now() - started
  t.equal(res.statusCode, 503, 'a hung check: 503')
  t.same(res.json(), { status: 'unavailable', failing: ['slow'] })
  t.ok(elapsed >= 140 && elapsed < 600, `answered at the deadline: ${elapsed} ms (checkTimeout 150 ms)`)
  t.equal(slow.signals[0]?.aborted, true, 'the check was told through its signal')
  t.match(slow.signals[0]?.reason, { code: 'FST_NEX_HEALTH_CHECK_TIMEOUT' })

  t.equal((await app.inject('/readyz')).statusCode, 503, 'still pending: 503 again')
  t.equal(slow.calls, 1, 'the pending call is awaited again, not repeated')
})

t.test('a check that recovers from a timeout gives 200 again', async (t) => {
  let delay = 500
  let calls = 0
  const app = await build(t, { checks: { slow: async () => { calls++; await sleep(delay) } }, checkTimeout: 100 })
  t.equal((await app.inject('/readyz')).statusCode, 503, 'slower than checkTimeout: 503')
  delay = 0
  await sleep(450)
  t.equal((await app.inject('/readyz')).statusCode, 200, 'fast again: 200')
  t.equal(calls, 2, 'a new call once the slow one settled')
})

t.test('concurrent probes share one run of the checks', async (t) => {
  let calls = 0
  const app = await build(t, { checks: { db: async () => { calls++; await sleep(50) } } })
  const responses = await Promise.all(Array.from({ length: 20 }, async () => await app.inject('/readyz')))
  t.same(new Set(responses.map(res => res.statusCode)), new Set([200]))
  t.equal(calls, 1, '20 probes at once: the check ran once')
  await app.inject('/readyz')
  t.equal(calls, 2, 'the next probe runs it again (no cached verdict)')
})

t.test('draining: readiness 503, liveness 200, every response closes its connection', async (t) => {
  const db = switchableCheck()
  const { lines, logger } = captureLogs()
  const app = await build(t, { checks: { db: db.check } }, { logger })
  t.not((await app.inject('/page')).headers.connection, 'close', 'serving: keep-alive untouched')
  app.nexLifecycle.startDraining()
  app.nexLifecycle.startDraining()
  t.equal(app.nexLifecycle.draining, true)
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'draining' })
  t.equal(ready.headers['retry-after'], '5', 'default Retry-After')
  t.equal(db.calls, 0, 'no check runs while draining')
  const live = await app.inject('/healthz')
  t.equal(live.statusCode, 200, 'liveness stays 200')
  t.equal(live.headers.connection, 'close')
  const page = await app.inject('/page')
  t.same([page.statusCode, page.headers.connection], [200, 'close'], 'requests are served with Connection: close')
  t.equal((await app.inject('/missing')).headers.connection, 'close', 'a 404 too')
  t.equal(lines.filter(line => String(line.msg).startsWith('nex-health: draining')).length, 1, 'draining is logged once')
})

t.test('draining that starts while checks run still answers 503', async (t) => {
  let release = (): void => {}
  const app = await build(t, { checks: { db: async () => await new Promise<void>(resolve => { release = resolve }) } })
  const pending = app.inject('/readyz')
  await sleep(20)
  app.nexLifecycle.startDraining()
  release()
  const res = await pending
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'draining' })
})

t.test('page-store check with @nex/state (memory store), registered after nexHealth', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexHealth)
  await app.register(nexState, { secret: SECRET })
  await app.ready()
  t.equal((await app.inject('/readyz')).statusCode, 200, 'the store answers: 200')
  await app.nexState.store.close()
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 503, 'a closed store: 503')
  t.same(res.json(), { status: 'unavailable', failing: ['page-store'] })
})

t.test('page-store check: off with pageStore: false, replaced by a user check of that name', async (t) => {
  for (const options of [{ pageStore: false }, { checks: { 'page-store': async () => {} } }]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(nexState, { secret: SECRET })
    await app.register(nexHealth, options)
    await app.ready()
    await app.nexState.store.close()
    t.equal((await app.inject('/readyz')).statusCode, 200, `${JSON.stringify(Object.keys(options))}: the store is not pinged`)
  }
})

t.test('page-store check on a real Redis: stalled or killed → 503 within checkTimeout, back → 200', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const backends = await redisFromEnv({ env: { REDIS_URL: redis.url } })
  if (backends === null) throw new Error('REDIS_URL was set')
  const app = Fastify()
  t.teardown(async () => {
    await app.close()
    await backends.close()
  })
  await app.register(nexHealth, { checkTimeout: 500 })
  await app.register(nexState, { secret: SECRET, store: backends.pageStore })
  await app.ready()
  t.equal((await app.inject('/readyz')).statusCode, 200, 'Redis up: 200')

  redis.pause()
  const pausedAt = Date.now()
  const stalled = await app.inject('/readyz')
  const stalledFor = Date.now() - pausedAt
  redis.resume()
  t.equal(stalled.statusCode, 503, 'Redis stalled (SIGSTOP): 503')
  t.same(stalled.json(), { status: 'unavailable', failing: ['page-store'] })
  t.ok(stalledFor >= 450 && stalledFor < 800, `at checkTimeout: ${stalledFor} ms (checkTimeout 500 ms, the client's commandTimeout is 1000 ms)`)
  let resumed = 0
  for (let i = 0; i < 40 && resumed !== 200; i++) {
    if (i > 0) await sleep(100)
    resumed = (await app.inject('/readyz')).statusCode
  }
  t.equal(resumed, 200, 'Redis resumed: 200')

  await redis.crash()
  const started = Date.now()
  const down = await app.inject('/readyz')
  const elapsed = Date.now() - started
  t.equal(down.statusCode, 503, 'Redis killed: 503')
  t.same(down.json(), { status: 'unavailable', failing: ['page-store'] })
  t.ok(elapsed < 700, `answered in ${elapsed} ms (checkTimeout 500 ms)`)
  t.equal((await app.inject('/healthz')).statusCode, 200, 'liveness is not about Redis')

  await redis.restart()
  let status = 0
  const deadline = Date.now() + 8000
  while (status !== 200 && Date.now() < deadline) {
    status = (await app.inject('/readyz')).statusCode
    if (status !== 200) await sleep(100)
  }
  t.equal(status, 200, `Redis back: 200 again after ${Date.now() - started} ms, without restarting the app`)
})

t.test('options are checked at register time', async (t) => {
  const INVALID = { code: 'FST_NEX_HEALTH_INVALID_OPTION', statusCode: 500 }
  const cases: Array<[HealthOptions, RegExp]> = [
    [{ livenessPath: 'healthz' }, /option "livenessPath" must be a path starting with "\/" \(no spaces, query or fragment\), got "healthz"/],
    [{ readinessPath: '/ready?x=1' }, /option "readinessPath" must be a path/],
    [{ readinessPath: '/healthz' }, /option "readinessPath" must be a path other than livenessPath, got "\/healthz"/],
    [{ checks: [] as unknown as HealthOptions['checks'] }, /option "checks" must be an object of named functions/],
    [{ checks: { db: 'SELECT 1' as unknown as () => Promise<void> } }, /option "checks.db" must be a function returning a promise, got "SELECT 1"/],
    [{ checkTimeout: 0 }, /option "checkTimeout" must be an integer ≥ 1, got 0/],
    [{ retryAfter: 1.5 }, /option "retryAfter" must be an integer ≥ 0, got 1.5/],
    [{ pageStore: 'yes' as unknown as boolean }, /option "pageStore" must be a boolean, got "yes"/],
    [{ logLevel: 'loud' as HealthOptions['logLevel'] }, /option "logLevel" must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(nexHealth, options) }, { ...INVALID, message }, JSON.stringify(options))
  }
})

t.test('registered twice: a coded error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(nexHealth)
  app.register(nexHealth, { livenessPath: '/live', readinessPath: '/ready' })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_NEX_HEALTH_ALREADY_REGISTERED', message: /Register it once, at the root/ })
})

t.test('probes stay out of the request logs by default', async (t) => {
  const { lines, logger } = captureLogs()
  const app = await build(t, {}, { logger })
  await app.inject('/healthz')
  await app.inject('/readyz')
  t.equal(lines.filter(line => line.msg === 'incoming request').length, 0, 'no request logs for probes (logLevel warn)')
  await app.inject('/page')
  t.equal(lines.filter(line => line.msg === 'incoming request').length, 1, 'other routes still log')

  const verbose = captureLogs()
  const loud = await build(t, { logLevel: 'info' }, { logger: verbose.logger })
  await loud.inject('/healthz')
  t.equal(verbose.lines.filter(line => line.msg === 'incoming request').length, 1, 'logLevel: info logs them')
})
