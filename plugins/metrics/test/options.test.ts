// Options are checked once, at register: a bad one fails with FST_NEX_METRICS_INVALID_OPTION naming the
// option, the value and what is allowed.
import t from 'tap'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import nexMetrics, { DEFAULTS, type MetricsOptions } from '../src/index.js'
import { normalizeOptions } from '../src/options.js'

t.test('defaults', async (t) => {
  const options = normalizeOptions()
  t.same(options, {
    path: '/metrics',
    authorize: null,
    registry: null,
    prefix: '',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    defaultMetrics: true,
    eventLoopMonitoringPrecision: 10
  })
  t.ok(Object.isFrozen(options))
  t.ok(Object.isFrozen(DEFAULTS.buckets))
})

t.test('valid options are kept', async (t) => {
  const registry = new Registry()
  const authorize = (): boolean => true
  const buckets = [0.01, 0.1, 1]
  const options = normalizeOptions({ path: '/_metrics', authorize, registry, prefix: 'shop_', buckets, defaultMetrics: false, eventLoopMonitoringPrecision: 20 })
  t.equal(options.registry, registry)
  t.equal(options.authorize, authorize)
  t.same(options.buckets, buckets)
  t.not(options.buckets, buckets, 'a frozen copy')
  t.equal(normalizeOptions({ path: false }).path, false)
})

const bad: Array<[string, MetricsOptions, RegExp]> = [
  ['path', { path: 'metrics' }, /option "path" must be a URL path starting with "\/" \(no query\) or false, got "metrics"/],
  ['path', { path: '/metrics?x=1' }, /"path"/],
  ['path', { path: true as unknown as false }, /"path".*got true/],
  ['authorize', { authorize: 'yes' as unknown as () => boolean }, /option "authorize" must be a function/],
  ['registry', { registry: {} as Registry }, /option "registry" must be a prom-client Registry \(new Registry\(\)\), got object/],
  ['prefix', { prefix: '1app_' }, /option "prefix".*got "1app_"/],
  ['prefix', { prefix: 'my-app' }, /"prefix"/],
  ['buckets', { buckets: [] }, /option "buckets" must be a non-empty array of ascending positive numbers of seconds, got \[\]/],
  ['buckets', { buckets: [1, 0.5] }, /"buckets".*got \[1, 0.5\]/],
  ['buckets', { buckets: [0, 1] }, /"buckets"/],
  ['buckets', { buckets: [0.1, Infinity] }, /"buckets"/],
  ['defaultMetrics', { defaultMetrics: 'no' as unknown as boolean }, /option "defaultMetrics" must be true or false, got "no"/],
  ['eventLoopMonitoringPrecision', { eventLoopMonitoringPrecision: 0 }, /option "eventLoopMonitoringPrecision" must be an integer ≥ 1 \(ms\), got 0/],
  ['eventLoopMonitoringPrecision', { eventLoopMonitoringPrecision: 2.5 }, /"eventLoopMonitoringPrecision"/]
]

for (const [option, options, message] of bad) {
  t.test(`bad ${option}: ${JSON.stringify(options)}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    let error: unknown = null
    try {
      await app.register(nexMetrics, options)
    } catch (thrown) {
      error = thrown
    }
    t.match(error, { code: 'FST_NEX_METRICS_INVALID_OPTION', message })
    t.ok(error instanceof TypeError, 'a TypeError')
    t.equal(app.hasDecorator('nexMetrics'), false, 'nothing was set up')
  })
}
