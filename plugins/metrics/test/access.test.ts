// The scrape route: Prometheus text with the registry's content type, at `path` (or nowhere), and
// `authorize` deciding who may read it (403 otherwise).
import t from 'tap'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { build, parseMetrics } from './helpers.js'

t.test('GET /metrics: Prometheus text format', async (t) => {
  const app = await build(t)
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.match(response.body, /^# HELP /m)
  t.match(response.body, /^# TYPE http_request_duration_seconds histogram$/m)
  t.match(response.body, /^nodejs_eventloop_lag_p99_seconds \S+$/m, 'event-loop delay')
  t.doesNotThrow(() => parseMetrics(response.body))
  t.equal((await app.inject({ method: 'HEAD', url: '/metrics' })).statusCode, 200, 'HEAD too')
  t.equal((await app.inject({ method: 'POST', url: '/metrics' })).statusCode, 404, 'nothing else')
})

t.test('an OpenMetrics registry is served with its content type', async (t) => {
  const registry = new Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'>()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  const app = await build(t, { registry })
  const response = await app.inject('/metrics')
  t.equal(response.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8')
  t.match(response.body, /# EOF\n$/)
})

t.test('path: another URL, or none', async (t) => {
  const moved = await build(t, { path: '/internal/metrics' })
  t.equal((await moved.inject('/internal/metrics')).statusCode, 200)
  t.equal((await moved.inject('/metrics')).statusCode, 404)

  const none = await build(t, { path: false })
  t.equal((await none.inject('/metrics')).statusCode, 404)
  t.match(await none.nexMetrics.registry.metrics(), /http_request_duration_seconds/, 'the registry is there to serve yourself')
})

t.test('serving the registry from a second server on a private port', async (t) => {
  const app = await build(t, { path: false }, { setup: (app) => { app.get('/', async () => 'public') } })
  const internal = Fastify()
  t.teardown(() => internal.close())
  internal.get('/metrics', async (_request, reply) => {
    reply.type(app.nexMetrics.registry.contentType)
    return await app.nexMetrics.registry.metrics()
  })
  await app.inject('/')
  const metrics = parseMetrics((await internal.inject('/metrics')).body)
  t.equal(metrics.value('http_request_duration_seconds_count', { route: '/' }), 1)
})

t.test('authorize: true serves, false is a 403, and so is anything but true', async (t) => {
  const seen: string[] = []
  const app = await build(t, {
    authorize: async (request) => {
      seen.push(request.url)
      return request.headers.authorization === 'Bearer scrape-token'
    }
  })
  const allowed = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token' } })
  t.equal(allowed.statusCode, 200)
  t.match(allowed.body, /http_request_duration_seconds/)
  const refused = await app.inject('/metrics')
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FST_NEX_METRICS_FORBIDDEN')
  t.notMatch(refused.body, /http_request_duration_seconds/, 'no metrics in the refusal')
  t.same(seen, ['/metrics', '/metrics'])

  const sync = await build(t, { authorize: (request) => request.ip === '127.0.0.1' })
  t.equal((await sync.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200, 'a synchronous check')
  t.equal((await sync.inject({ url: '/metrics', remoteAddress: '10.0.0.8' })).statusCode, 403)

  const truthy = await build(t, { authorize: (() => 'yes') as unknown as () => boolean })
  t.equal((await truthy.inject('/metrics')).statusCode, 403, 'fails closed')
})

t.test('authorize throwing is a 500 through the error handler, not a scrape', async (t) => {
  const app = await build(t, { authorize: () => { throw new Error('token store down') } })
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 500)
  t.notMatch(response.body, /http_request_duration_seconds/)
})
