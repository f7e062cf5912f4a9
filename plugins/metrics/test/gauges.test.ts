// Gauges of the Nex plugins, read at scrape time from real clients: pages held by the in-memory page
// store, open SSE streams, open WebSockets; the compare-and-set retries of a Redis page store. Present only when their plugin is registered, whatever the
// registration order.
import http from 'node:http'
import t from 'tap'
import { WebSocket } from 'ws'
import Fastify from 'fastify'
import nexState, { createMemoryStore } from '@nex/state'
import nexRoutes from '@nex/routes'
import nexSse from '@nex/sse'
import nexWebSocket from '@nex/websocket'
import { createRedisStore } from '@nex/redis'
import { countingStore, startRedisServer } from '@nex/testing'
import nexMetrics from '../src/index.js'
import { APP_FIXTURE, SECRET, build, eventually, scrape } from './helpers.js'

const GAUGES = ['nex_page_state_pages', 'nex_page_state_bytes', 'nex_sse_streams', 'nex_websocket_connections']

t.test('without the Nex plugins there are no Nex gauges', async (t) => {
  const app = await build(t)
  const metrics = await scrape(app)
  for (const name of GAUGES) t.notOk(metrics.types.has(name), `no ${name}`)
  t.equal(metrics.types.get('nex_http_requests_in_flight'), 'gauge')
})

t.test('page state, SSE streams and WebSockets opened by real clients', async (t) => {
  // @nex/metrics first: the gauges are added at onReady, once the others are there.
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(nexState, { secret: SECRET })
      await app.register(nexSse)
      await app.register(nexWebSocket)
      await app.register(nexRoutes, { dir: APP_FIXTURE, dev: false, assets: false })
      app.get('/events', (_request, reply) => reply.sse(async (stream) => {
        stream.comment('open')
        await stream.whenClosed()
      }))
      app.nexWebSocket.route('/ws', { message: (socket, data) => { socket.send(data) } })
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const value = async (name: string): Promise<number | undefined> => (await scrape(app)).value(name)

  let metrics = await scrape(app)
  for (const name of GAUGES) t.equal(metrics.types.get(name), 'gauge', `${name} is there`)
  t.equal(metrics.value('nex_page_state_pages'), 0)
  t.equal(metrics.value('nex_page_state_bytes'), 0)
  t.equal(metrics.value('nex_sse_streams'), 0)
  t.equal(metrics.value('nex_websocket_connections'), 0)

  // Three page views, each a page with state in the store.
  for (let i = 0; i < 3; i++) t.equal((await fetch(`http://127.0.0.1:${port}/counter`)).status, 200)
  metrics = await scrape(app)
  t.equal(metrics.value('nex_page_state_pages'), 3, 'three pages held')
  t.ok((metrics.value('nex_page_state_bytes') ?? 0) > 0, 'holding bytes')

  const streams = await Promise.all(Array.from({ length: 3 }, async () =>
    await new Promise<http.IncomingMessage>((resolve) => http.get(`http://127.0.0.1:${port}/events`, resolve))))
  t.same(streams.map(response => response.statusCode), [200, 200, 200])
  t.equal(await value('nex_sse_streams'), 3, 'three open streams')
  t.equal(await value('nex_http_requests_in_flight'), 3, 'open streams are requests in flight')

  const sockets = await Promise.all(Array.from({ length: 2 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    await new Promise((resolve, reject) => { ws.once('open', resolve).once('error', reject) })
    return ws
  }))
  t.equal(await value('nex_websocket_connections'), 2, 'two open WebSockets')
  t.equal(await value('nex_http_requests_in_flight'), 3, 'WebSockets are not requests in flight')

  streams[0]?.destroy()
  t.ok(await eventually(async () => await value('nex_sse_streams') === 2), 'a stream closed by its client')
  t.ok(await eventually(async () => await value('nex_http_requests_in_flight') === 2))
  const closed = new Promise(resolve => sockets[0]?.once('close', resolve))
  sockets[0]?.close()
  await closed
  t.ok(await eventually(async () => await value('nex_websocket_connections') === 1), 'a WebSocket closed by its client')
  // close() ends the rest (preClose of @nex/sse and @nex/websocket).
})

t.test('@nex/metrics registered last reads the same plugins', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexSse)
  await app.register(nexWebSocket)
  await app.register(nexState, { secret: SECRET })
  await app.register(nexMetrics)
  const metrics = await scrape(app)
  for (const name of GAUGES) t.equal(metrics.value(name), 0, `${name} is 0`)
})

t.test('a page store that does not count (not the in-memory one) has no page-state gauges', async (t) => {
  const app = await build(t, {}, {
    setup: async (app) => { await app.register(nexState, { secret: SECRET, store: countingStore(createMemoryStore()).store }) }
  })
  const metrics = await scrape(app)
  t.notOk(metrics.types.has('nex_page_state_pages'))
  t.notOk(metrics.types.has('nex_page_state_bytes'))
})

t.test('a store passed in that counts is read too', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  const app = await build(t, {}, {
    setup: async (app) => { await app.register(nexState, { secret: SECRET, store }) }
  })
  await app.nexState.handle(app.nexState.issuePageId()).set('a', 'b')
  t.equal((await scrape(app)).value('nex_page_state_pages'), 1)
  t.equal((await scrape(app)).value('nex_page_state_bytes'), store.bytes)
})

t.test('a Redis page store: compare-and-set retries per update, as a histogram, from two stores on one redis-server', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const store = createRedisStore({ url: redis.url, maxUpdateAttempts: 3 })
  const otherProcess = createRedisStore({ url: redis.url })
  t.teardown(() => Promise.all([store.close(), otherProcess.close()]))
  const app = await build(t, {}, { setup: async (app) => { await app.register(nexState, { secret: SECRET, store }) } })

  let metrics = await scrape(app)
  t.equal(metrics.types.get('nex_page_state_update_retries'), 'histogram')
  t.equal(metrics.types.get('nex_page_state_updates_given_up_total'), 'counter')
  t.equal(metrics.value('nex_page_state_update_retries_count'), 0, 'no update yet')
  t.notOk(metrics.types.has('nex_page_state_pages'), 'a Redis store has no in-memory size gauges')

  // The "other process" writes the page while each of the first two attempts of fn runs: two retries.
  const page = app.nexState.issuePageId()
  let runs = 0
  t.equal(await app.nexState.handle(page).update('n', 0, async (n) => {
    if (++runs <= 2) await otherProcess.set(page, 'n', 10 * runs)
    return n + 1
  }), 21)
  await app.nexState.handle(page).update('n', 0, (n) => n + 1)

  metrics = await scrape(app)
  t.equal(metrics.value('nex_page_state_update_retries_count'), 2, 'two updates')
  t.equal(metrics.value('nex_page_state_update_retries_sum'), 2, 'two retries in all')
  t.equal(metrics.value('nex_page_state_update_retries_bucket', { le: '0' }), 1, 'one update written at the first attempt')
  t.equal(metrics.value('nex_page_state_update_retries_bucket', { le: '1' }), 1)
  t.equal(metrics.value('nex_page_state_update_retries_bucket', { le: '2' }), 2, 'one after two retries')
  t.equal(metrics.value('nex_page_state_update_retries_bucket', { le: '+Inf' }), 2)
  t.equal(metrics.value('nex_page_state_updates_given_up_total'), 0)

  // Out of attempts (3): the update answers 503 and is counted as given up, not in the histogram.
  await t.rejects(app.nexState.handle(page).update('n', 0, async (n) => {
    await otherProcess.set(page, 'n', 0)
    return n + 1
  }), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  metrics = await scrape(app)
  t.equal(metrics.value('nex_page_state_updates_given_up_total'), 1, 'one update gave up')
  t.equal(metrics.value('nex_page_state_update_retries_count'), 2, 'still two written updates')

  app.nexMetrics.registry.resetMetrics()
  metrics = await scrape(app)
  t.equal(metrics.value('nex_page_state_update_retries_count'), 0, 'a registry reset starts the histogram again')
  await app.nexState.handle(page).update('n', 0, (n) => n + 1)
  t.equal((await scrape(app)).value('nex_page_state_update_retries_count'), 1, 'and counts what follows')
})
