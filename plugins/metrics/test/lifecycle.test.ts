// Registries and shutdown: a registry per app (two apps in one process never clash), a registry passed
// in is shared knowingly (name clashes fail at register, leaving it as it was) and left as it was on
// close; close() stops the process monitors, leaves no handle behind and lets the app be collected.
import { createHook } from 'node:async_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import Fastify from 'fastify'
import { Counter, Registry, collectDefaultMetrics, register as globalRegistry } from 'prom-client'
import nexMetrics from '../src/index.js'
import { build, eventually, parseMetrics, requestCount, scrape } from './helpers.js'

t.test('two apps in one process: each has its own registry', async (t) => {
  const one = await build(t, {}, { setup: (app) => { app.get('/one', async () => 'one') } })
  const two = await build(t, {}, { setup: (app) => { app.get('/two', async () => 'two') } })
  t.not(one.nexMetrics.registry, two.nexMetrics.registry)
  t.not(one.nexMetrics.registry, globalRegistry, 'not prom-client\'s global registry')
  await one.inject('/one')
  await two.inject('/two')
  await two.inject('/two')
  const [first, second] = [await scrape(one), await scrape(two)]
  t.equal(requestCount(first, { route: '/one' }), 1)
  t.equal(requestCount(first, { route: '/two' }), 0)
  t.equal(requestCount(second, { route: '/two' }), 2)
  t.equal(requestCount(second, { route: '/one' }), 0)
  for (const metrics of [first, second]) {
    t.equal(metrics.types.get('process_cpu_user_seconds_total'), 'counter', 'process metrics in both')
    t.equal(metrics.types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge', 'event-loop delay in both')
  }
  t.equal(globalRegistry.getMetricsAsArray().length, 0, 'nothing in the global registry')
  await one.close()
  await two.inject('/two')
  t.equal(requestCount(await scrape(two), { route: '/two' }), 3, 'closing one leaves the other working')
})

t.test('a registry passed in: the app\'s metrics and the user\'s, served together', async (t) => {
  const registry = new Registry()
  const jobs = new Counter({ name: 'jobs_done_total', help: 'Jobs done', registers: [registry] })
  const app = await build(t, { registry }, { setup: (app) => { app.get('/', async () => 'ok') } })
  t.equal(app.nexMetrics.registry, registry)
  t.equal(app.nexMetrics.prefix, '')
  jobs.inc(2)
  const orders = new Counter({ name: 'orders_total', help: 'Orders', registers: [app.nexMetrics.registry] })
  orders.inc()
  await app.inject('/')
  const metrics = await scrape(app)
  t.equal(metrics.value('jobs_done_total'), 2)
  t.equal(metrics.value('orders_total'), 1)
  t.equal(requestCount(metrics, { route: '/' }), 1)

  await app.close()
  const left = parseMetrics(await registry.metrics())
  t.same([...left.types.keys()].sort(), ['jobs_done_total', 'orders_total'], 'close() takes out the plugin\'s metrics, and only those')
  const again = await build(t, { registry })
  t.equal(requestCount(await scrape(again), { route: '/' }), 0, 'a new app can take the registry over')
})

t.test('name clashes in a shared registry fail at register and change nothing', async (t) => {
  const registry = new Registry()
  await build(t, { registry })
  const names = registry.getMetricsAsArray().map(metric => metric.name).sort()

  const second = Fastify()
  t.teardown(() => second.close())
  await t.rejects(async () => { await second.register(nexMetrics, { registry }) }, { code: 'FST_NEX_METRICS_NAME_TAKEN', message: /"process_cpu_user_seconds_total"/ })
  t.same(registry.getMetricsAsArray().map(metric => metric.name).sort(), names, 'the registry is as it was')

  const admin = await build(t, { registry, prefix: 'admin_', defaultMetrics: false, path: '/admin-metrics' }, {
    setup: (app) => { app.get('/admin', async () => 'ok') }
  })
  await admin.inject('/admin')
  const metrics = await scrape(admin, '/admin-metrics')
  t.equal(requestCount(metrics, { route: '/admin' }), 0, 'not under the standard name')
  t.equal(metrics.value('admin_http_request_duration_seconds_count', { route: '/admin' }), 1, 'under the prefixed one')
  t.equal(admin.nexMetrics.prefix, 'admin_')
})

t.test('a registry that already has the default metrics: defaultMetrics false', async (t) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(nexMetrics, { registry }) }, { code: 'FST_NEX_METRICS_NAME_TAKEN' })
  const ok = await build(t, { registry, defaultMetrics: false })
  const metrics = await scrape(ok)
  t.equal(metrics.types.get('nex_http_requests_in_flight'), 'gauge')
  t.equal(metrics.types.get('process_cpu_user_seconds_total'), 'counter', 'the registry\'s own process metrics')
})

t.test('defaultMetrics false: no process metrics', async (t) => {
  const app = await build(t, { defaultMetrics: false })
  const metrics = await scrape(app)
  t.same([...metrics.types.keys()].sort(), ['http_request_duration_seconds', 'nex_http_errors_total', 'nex_http_requests_in_flight'])
})

t.test('registered twice in one app: a coded error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexMetrics)
  await t.rejects(async () => { await app.register(nexMetrics, { path: '/other' }) }, { code: 'FST_NEX_METRICS_ALREADY_REGISTERED' })
})

t.test('close(): no handle left behind, the event-loop monitor stopped, the app collectable', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const settle = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
  // Immediates run once and are gone (earlier tests leave some queued); timers, sockets and the like stay.
  const lasting = (): string[] => process.getActiveResourcesInfo().filter(type => type !== 'Immediate').sort()
  await settle()
  const resourcesBefore = lasting()

  // The event-loop delay monitors created while the app registers, seen from their native handles.
  const monitors: Array<{ count: () => number }> = []
  const hook = createHook({
    init (_id, type, _trigger, resource) { if (type === 'ELDHISTOGRAM') monitors.push(resource as { count: () => number }) }
  }).enable()
  let app: ReturnType<typeof Fastify> | null = Fastify()
  try {
    await app.register(nexMetrics, { eventLoopMonitoringPrecision: 1 })
  } finally {
    hook.disable()
  }
  app.get('/', async () => 'ok')
  await app.listen({ port: 0, host: '127.0.0.1' })
  await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/`).then(async response => await response.text())
  await scrape(app)
  t.equal(monitors.length, 1, 'one event-loop delay monitor')
  const monitor = monitors[0] as { count: () => number }
  const start = monitor.count()
  t.ok(await eventually(() => monitor.count() > start), 'sampling while the app runs')

  const registry = new WeakRef(app.nexMetrics.registry)
  const gcHistogram = new WeakRef(app.nexMetrics.registry.getSingleMetric('nodejs_gc_duration_seconds') as object)
  await app.close()
  app = null
  const stopped = monitor.count()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(monitor.count(), stopped, 'no sample after close()')

  await settle()
  t.same(lasting(), resourcesBefore, `the same active resources as before the app: ${resourcesBefore.join(', ')}`)
  t.ok(await eventually(async () => {
    gc()
    await settle()
    return registry.deref() === undefined && gcHistogram.deref() === undefined
  }), 'the registry and the GC histogram can be garbage-collected: no GC observer holds them')
})
