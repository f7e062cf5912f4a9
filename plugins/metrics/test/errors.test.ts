// nex_http_errors_total{route, reason} (RELIABILITY OBS-01): a handler timeout (APP-01), a page-state
// store outage on a real redis-server (RED-01), a rate limit, shedding by a stream cap, and the generic
// server and client errors, each under its closed reason.
import http from 'node:http'
import { Readable } from 'node:stream'
import t from 'tap'
import rateLimit from '@fastify/rate-limit'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import nexSse from '@nex/sse'
import { createRedisStore } from '@nex/redis'
import { startRedisServer } from '@nex/testing'
import { APP_FIXTURE, SECRET, build, eventually, requestCount, scrape } from './helpers.js'

t.test('APP-01: a hung handler past handlerTimeout is a 503 counted as handler_timeout', async (t) => {
  const app = await build(t, {}, {
    fastify: { handlerTimeout: 50 },
    setup: (app) => {
      app.get('/hang', () => new Promise(() => {}))
      app.get('/fast', async () => 'ok')
    }
  })
  const hung = await app.inject('/hang')
  t.equal(hung.statusCode, 503)
  t.equal(hung.json().code, 'FST_ERR_HANDLER_TIMEOUT')
  await app.inject('/fast')
  const metrics = await scrape(app)
  t.equal(metrics.types.get('nex_http_errors_total'), 'counter')
  t.equal(metrics.value('nex_http_errors_total', { route: '/hang', reason: 'handler_timeout' }), 1)
  t.equal(metrics.find('nex_http_errors_total', { route: '/hang' }).length, 1, 'under that reason only (not also server_error)')
  t.equal(requestCount(metrics, { route: '/hang', status_code: '5xx' }), 1, 'and in the histogram as a 5xx')
  t.equal(metrics.find('nex_http_errors_total', { route: '/fast' }).length, 0, 'a 200 is no error')
})

t.test('a streamed response cut by handlerTimeout is counted as handler_timeout too', async (t) => {
  const app = await build(t, {}, {
    fastify: { handlerTimeout: 50 },
    setup: (app) => {
      app.get('/stream', async (_request, reply) => {
        const body = new Readable({ read () {} })
        body.push('started')
        return await reply.send(body)
      })
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const ended = new Promise<string>((resolve) => {
    http.get(`http://127.0.0.1:${port}/stream`, (response) => {
      response.resume()
      response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      response.on('end', () => resolve('end'))
    }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
  })
  t.equal(await ended, 'ECONNRESET', 'Fastify destroys a response already under way')
  t.ok(await eventually(async () => (await scrape(app)).value('nex_http_errors_total', { route: '/stream', reason: 'handler_timeout' }) === 1))
  t.equal((await scrape(app)).value('nex_http_requests_in_flight'), 0)
})

t.test('a 429 from @fastify/rate-limit is rate_limited; the scrape itself is never limited', async (t) => {
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(rateLimit, { max: 2, timeWindow: 60_000 })
      app.get('/login', async () => 'ok')
    }
  })
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await app.inject('/login')).statusCode)
  t.same(statuses, [200, 200, 429, 429, 429])
  for (let i = 0; i < 3; i++) await scrape(app)
  const metrics = await scrape(app)
  t.equal(metrics.value('nex_http_errors_total', { route: '/login', reason: 'rate_limited' }), 3)
  t.equal(requestCount(metrics, { route: '/login', status_code: '4xx' }), 3)
})

t.test('a rate limit registered before the plugin (its hook answers first) is still counted', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: nexMetrics } = await import('../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(rateLimit, { max: 1, timeWindow: 60_000 })
  await app.register(nexMetrics)
  app.get('/login', async () => 'ok')
  await app.inject('/login')
  t.equal((await app.inject('/login')).statusCode, 429)
  const metrics = await scrape(app)
  t.equal(metrics.value('nex_http_errors_total', { route: '/login', reason: 'rate_limited' }), 1)
  t.equal(metrics.value('nex_http_requests_in_flight'), 0, 'not left in flight')
})

t.test('RED-01: page-state store down (real redis-server killed) is store_unavailable', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const store = createRedisStore({ url: redis.url, clientOptions: { commandTimeout: 500 } })
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(nexState, { secret: SECRET, store })
      await app.register(nexRoutes, { dir: APP_FIXTURE, dev: false, assets: false })
      app.addHook('onClose', async () => await store.close())
    }
  })
  const page = await app.inject('/counter')
  t.equal(page.statusCode, 200, 'the page renders while Redis is up')
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1] ?? ''
  t.ok(pageId, 'with a page id')

  await redis.crash()
  const action = await app.inject({
    method: 'POST',
    url: '/counter?/increment',
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId }
  })
  t.equal(action.statusCode, 503, 'the action answers 503')
  t.equal((await app.inject('/counter')).statusCode, 503, 'so does the page')
  t.equal((await app.inject('/users/1')).statusCode, 200, 'a page without state still works')

  const metrics = await scrape(app)
  t.equal(metrics.value('nex_http_errors_total', { route: '/counter', reason: 'store_unavailable' }), 2)
  t.equal(metrics.find('nex_http_errors_total', { reason: 'server_error' }).length, 0, 'not a server_error')
  t.equal(requestCount(metrics, { route: '/counter', method: 'POST', status_code: '5xx' }), 1)
})

t.test('an SSE stream cap refusing a stream is overloaded', async (t) => {
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(nexSse, { maxStreams: 1 })
      app.get('/events', (_request, reply) => reply.sse(async (stream) => {
        stream.comment('open')
        await stream.whenClosed()
      }))
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const first = await new Promise<http.IncomingMessage>((resolve) => http.get(`http://127.0.0.1:${port}/events`, resolve))
  t.equal(first.statusCode, 200)
  const second = await fetch(`http://127.0.0.1:${port}/events`)
  t.equal(second.status, 503)
  t.equal((await second.json() as { code: string }).code, 'FST_NEX_SSE_TOO_MANY_STREAMS')
  first.destroy()
  const metrics = await scrape(app)
  t.equal(metrics.value('nex_http_errors_total', { route: '/events', reason: 'overloaded' }), 1)
})

t.test('other errors: server_error and client_error; 404s of unknown paths are __unknown__', async (t) => {
  const app = await build(t, {}, {
    setup: (app) => {
      app.get('/boom', async () => { throw new Error('boom') })
      app.post('/echo', { schema: { body: { type: 'object', required: ['text'] } } }, async (request) => request.body)
      app.get('/gone', async (_request, reply) => await reply.code(410).send())
    }
  })
  await app.inject('/boom')
  await app.inject({ method: 'POST', url: '/echo', payload: {} })
  await app.inject('/gone')
  await app.inject('/nothing/here')
  const metrics = await scrape(app)
  t.equal(metrics.value('nex_http_errors_total', { route: '/boom', reason: 'server_error' }), 1)
  t.equal(metrics.value('nex_http_errors_total', { route: '/echo', reason: 'client_error' }), 1, 'a validation 400')
  t.equal(metrics.value('nex_http_errors_total', { route: '/gone', reason: 'client_error' }), 1, 'a status set without an error')
  t.equal(metrics.value('nex_http_errors_total', { route: '__unknown__', reason: 'client_error' }), 1)
})
