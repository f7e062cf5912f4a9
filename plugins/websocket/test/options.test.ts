// Options and definitions are checked once, at register / route time, with coded errors.
import t from 'tap'
import Fastify from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import { createMemoryEventLog } from '@nex/pubsub'
import nexWebSocket, { DEFAULTS, errors, type WebSocketDefinition, type WebSocketOptions } from '../src/index.js'
import { normalizeOptions } from '../src/options.js'

t.test('defaults', async (t) => {
  const normalized = normalizeOptions()
  t.equal(normalized.maxPayload, 65_536)
  t.same(normalized.rateLimit, { messages: 100, interval: 1000 })
  t.equal(normalized.maxConnections, 10_000)
  t.equal(normalized.maxConnectionsPerIp, 100)
  t.equal(normalized.maxBufferedBytes, 1_048_576)
  t.equal(normalized.heartbeat, 30_000)
  t.equal(normalized.closeTimeout, 1000)
  t.equal(normalized.topics, undefined)
  t.ok(Object.isFrozen(normalized))
  t.equal(DEFAULTS.maxPayload, 65_536)
  t.same(normalizeOptions({ rateLimit: { messages: 10 } }).rateLimit, { messages: 10, interval: 1000 }, 'a partial rateLimit')
  t.equal(normalizeOptions({ rateLimit: false }).rateLimit, null)
  t.equal(normalizeOptions({ heartbeat: 0 }).heartbeat, 0)
})

const invalid: Array<[string, unknown, RegExp]> = [
  ['maxPayload', 0, /"maxPayload" must be a positive integer, got 0/],
  ['maxPayload', '64k', /"maxPayload" must be a positive integer, got "64k"/],
  ['rateLimit', true, /"rateLimit" must be false or \{ messages, interval \}, got boolean/],
  ['rateLimit', { messages: 1.5 }, /"rateLimit.messages" must be a positive integer, got 1.5/],
  ['rateLimit', { interval: -1 }, /"rateLimit.interval" must be a positive integer, got -1/],
  ['allowedOrigins', 'https://example.com', /"allowedOrigins" must be an array of origins or a function/],
  ['allowedOrigins', ['example.com'], /"allowedOrigins" must be a list of origins like "https:\/\/example.com".*got "example.com"/],
  ['allowedOrigins', ['https://example.com/app'], /got "https:\/\/example.com\/app"/],
  ['allowedOrigins', ['*'], /got "\*"/],
  ['maxConnections', Infinity, /"maxConnections" must be a positive integer, got Infinity/],
  ['maxConnectionsPerIp', 0, /"maxConnectionsPerIp"/],
  ['maxBufferedBytes', null, /"maxBufferedBytes" must be a positive integer, got null/],
  ['heartbeat', -5, /"heartbeat" must be a positive integer \(ms\), or 0 for no pings, got -5/],
  ['closeTimeout', 0, /"closeTimeout"/],
  ['topics', {}, /"topics" must be an EventLog .* got an object without append, since, subscribe, close/],
  ['topics', 'redis', /"topics" must be an EventLog/]
]

for (const [option, value, message] of invalid) {
  t.test(`register fails on ${option}: ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(nexWebSocket, { [option]: value } as WebSocketOptions) }, {
      code: 'FST_NEX_WS_INVALID_OPTION',
      message
    })
  })
}

t.test('option and definition errors are TypeErrors', async (t) => {
  t.type(new errors.FST_NEX_WS_INVALID_OPTION('maxPayload', 'a positive integer', '0'), TypeError)
  t.type(new errors.FST_NEX_WS_INVALID_DEFINITION('got undefined'), TypeError)
})

t.test('a topics log given is used and not closed by the app', async (t) => {
  const topics = createMemoryEventLog()
  const app = Fastify()
  await app.register(nexWebSocket, { topics })
  t.equal(app.nexTopics, topics)
  await app.close()
  await t.resolves(topics.append('still', 'open'))
  await topics.close()
})

t.test('registering twice, or next to @fastify/websocket, fails with FST_NEX_WS_ALREADY_REGISTERED', async (t) => {
  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(nexWebSocket)
  await t.rejects(async () => { await twice.register(nexWebSocket) }, { code: 'FST_NEX_WS_ALREADY_REGISTERED' })

  const both = Fastify()
  t.teardown(() => both.close())
  await both.register(fastifyWebsocket)
  await t.rejects(async () => { await both.register(nexWebSocket) }, { code: 'FST_NEX_WS_ALREADY_REGISTERED', message: /@fastify\/websocket is already registered/ })
})

t.test('definitions are checked when the route is declared', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexWebSocket)
  const bad: Array<[unknown, RegExp]> = [
    [undefined, /got undefined/],
    ['open', /got "open"/],
    [{ onMessage () {} }, /"onMessage" is not one of them/],
    [{ message: 'echo' }, /"message" must be a function, got "echo"/]
  ]
  for (const [definition, message] of bad) {
    t.throws(() => app.nexWebSocket.route('/x', definition as WebSocketDefinition), { code: 'FST_NEX_WS_INVALID_DEFINITION', message })
    t.throws(() => app.nexWebSocket.handler(definition as WebSocketDefinition), { code: 'FST_NEX_WS_INVALID_DEFINITION' })
  }
  t.doesNotThrow(() => app.nexWebSocket.handler({ open: undefined, message () {} }))
})

t.test('the error catalogue: every code, with status', async (t) => {
  const statuses = Object.fromEntries(Object.entries(errors).map(([name, Ctor]) => [name, new (Ctor as new (...args: unknown[]) => { statusCode: number })('a', 1).statusCode]))
  t.same(statuses, {
    FST_NEX_WS_INVALID_OPTION: 500,
    FST_NEX_WS_ALREADY_REGISTERED: 500,
    FST_NEX_WS_INVALID_DEFINITION: 500,
    FST_NEX_WS_FORBIDDEN_ORIGIN: 403,
    FST_NEX_WS_TOO_MANY_CONNECTIONS: 503,
    FST_NEX_WS_SHUTTING_DOWN: 503,
    FST_NEX_WS_NOT_JSON: 500
  })
})
