// The request histogram and the in-flight gauge (RELIABILITY OBS-01): labelled by route pattern, method
// and status class, for file-routed pages and APIs, hand-written routes and the not-found handler; the
// scrape route and opted-out routes are left out; requests in flight go back to 0 however they end.
import http from 'node:http'
import t from 'tap'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import { APP_FIXTURE, SECRET, build, eventually, requestCount, scrape } from './helpers.js'

t.test('pages, APIs and 404s: route pattern, method, status class', async (t) => {
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(nexState, { secret: SECRET })
      await app.register(nexRoutes, { dir: APP_FIXTURE, dev: false, assets: false })
    }
  })
  t.equal((await app.inject('/')).statusCode, 200)
  t.equal((await app.inject('/users/1')).statusCode, 200)
  t.equal((await app.inject('/users/2')).statusCode, 200)
  t.equal((await app.inject({ method: 'HEAD', url: '/users/3' })).statusCode, 200)
  t.equal((await app.inject('/api/todos')).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/api/todos', payload: { text: 'x' } })).statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: '/api/todos' })).statusCode, 405)
  t.equal((await app.inject('/no/such/page')).statusCode, 404)
  t.equal((await app.inject({ method: 'PROPFIND', url: '/elsewhere' })).statusCode, 404)

  const metrics = await scrape(app)
  t.equal(metrics.types.get('http_request_duration_seconds'), 'histogram')
  t.equal(requestCount(metrics, { route: '/', method: 'GET', status_code: '2xx' }), 1, 'the home page')
  t.equal(requestCount(metrics, { route: '/users/:id', method: 'GET', status_code: '2xx' }), 2, 'a page with a param: its pattern, not its URLs')
  t.equal(requestCount(metrics, { route: '/users/:id', method: 'HEAD', status_code: '2xx' }), 1)
  t.equal(requestCount(metrics, { route: '/api/todos', method: 'GET', status_code: '2xx' }), 1, 'an API')
  t.equal(requestCount(metrics, { route: '/api/todos', method: 'POST', status_code: '2xx' }), 1)
  t.equal(requestCount(metrics, { route: '/api/todos', method: 'DELETE', status_code: '4xx' }), 1, 'a 405 of a known route keeps its route')
  t.equal(requestCount(metrics, { route: '__unknown__', method: 'GET', status_code: '4xx' }), 1, 'the not-found handler')
  t.equal(requestCount(metrics, { route: '__unknown__', method: 'OTHER', status_code: '4xx' }), 1, 'methods outside the set are OTHER')

  const durations = metrics.find('http_request_duration_seconds_count')
  t.same(new Set(durations.flatMap(sample => Object.keys(sample.labels))), new Set(['route', 'method', 'status_code']), 'exactly these labels')
  t.notOk(durations.some(sample => sample.labels.route?.includes('/users/1')), 'no URL is a label')
  t.notOk(metrics.find('http_request_duration_seconds_count', { route: '/metrics' }).length, 'the scrape is not counted')

  const buckets = metrics.find('http_request_duration_seconds_bucket', { route: '/', method: 'GET', status_code: '2xx' })
  t.same(buckets.map(sample => sample.labels.le), ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'], 'default buckets')
  t.equal(buckets.at(-1)?.value, 1)
  const sum = metrics.value('http_request_duration_seconds_sum', { route: '/', method: 'GET', status_code: '2xx' }) ?? -1
  t.ok(sum > 0 && sum < 10, `the duration is in seconds (${sum})`)
})

t.test('status classes, hand-written routes and custom buckets', async (t) => {
  const app = await build(t, { buckets: [0.1, 1] }, {
    setup: (app) => {
      app.get('/code/:status', async (request, reply) => {
        await reply.code(Number((request.params as { status: string }).status)).send('')
      })
      app.get('/boom', async () => { throw new Error('boom') })
    }
  })
  for (const status of [200, 204, 301, 304, 400, 404, 410, 418, 500, 502, 599]) await app.inject(`/code/${status}`)
  await app.inject('/boom')
  const metrics = await scrape(app)
  const route = { route: '/code/:status', method: 'GET' }
  t.equal(requestCount(metrics, { ...route, status_code: '2xx' }), 2)
  t.equal(requestCount(metrics, { ...route, status_code: '3xx' }), 2)
  t.equal(requestCount(metrics, { ...route, status_code: '4xx' }), 4)
  t.equal(requestCount(metrics, { ...route, status_code: '5xx' }), 3)
  t.equal(requestCount(metrics, { route: '/boom', method: 'GET', status_code: '5xx' }), 1, 'a thrown error')
  t.same(metrics.find('http_request_duration_seconds_bucket', { route: '/boom' }).map(sample => sample.labels.le), ['0.1', '1', '+Inf'])
})

t.test('a route with config.metrics false is left out', async (t) => {
  const app = await build(t, {}, {
    setup: (app) => {
      app.get('/healthz', { config: { metrics: false } }, async () => 'ok')
      app.get('/counted', { config: { metrics: true } }, async () => 'ok')
    }
  })
  await app.inject('/healthz')
  await app.inject('/counted')
  const metrics = await scrape(app)
  t.equal(metrics.find('http_request_duration_seconds_count', { route: '/healthz' }).length, 0)
  t.equal(requestCount(metrics, { route: '/counted', method: 'GET', status_code: '2xx' }), 1)
})

t.test('routes registered before the plugin and in encapsulated contexts are counted too', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: nexMetrics } = await import('../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/early', async () => 'ok')
  await app.register(async (child) => {
    child.setNotFoundHandler(async (_request, reply) => await reply.code(404).send('not here'))
    child.get('/items/:id', async () => 'ok')
  }, { prefix: '/v1' })
  await app.register(nexMetrics)
  await app.inject('/early')
  await app.inject('/v1/items/9')
  await app.inject('/v1/nothing')
  const metrics = await scrape(app)
  t.equal(requestCount(metrics, { route: '/early', status_code: '2xx' }), 1)
  t.equal(requestCount(metrics, { route: '/v1/items/:id', status_code: '2xx' }), 1, 'the pattern with its prefix')
  t.equal(requestCount(metrics, { route: '__unknown__', status_code: '4xx' }), 1, 'a prefix\'s own not-found handler')
})

t.test('requests in flight: counted while handled, back to 0 when answered or abandoned', async (t) => {
  const release: Array<() => void> = []
  let entered = 0
  const app = await build(t, {}, {
    setup: (app) => {
      app.get('/wait', async () => {
        entered++
        await new Promise<void>(resolve => release.push(resolve))
        return 'done'
      })
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const inFlight = async (): Promise<number | undefined> => (await scrape(app)).value('nex_http_requests_in_flight')

  t.equal(await inFlight(), 0, 'a scrape does not count itself')
  const answered = Array.from({ length: 3 }, async () => await fetch(`http://127.0.0.1:${port}/wait`).then(async response => await response.text()))
  const left = http.get(`http://127.0.0.1:${port}/wait`)
  left.on('error', () => {})
  t.ok(await eventually(() => entered === 4), 'four requests reached the handler')
  t.equal(await inFlight(), 4)

  left.destroy()
  t.ok(await eventually(async () => await inFlight() === 3), 'the client that left is no longer in flight')
  for (const resolve of release.splice(0)) resolve()
  t.same(await Promise.all(answered), ['done', 'done', 'done'])
  t.ok(await eventually(async () => await inFlight() === 0), 'all answered: 0')
  const metrics = await scrape(app)
  t.equal(requestCount(metrics, { route: '/wait', status_code: '2xx' }), 3, 'the abandoned request has no duration (it was never answered)')
})
