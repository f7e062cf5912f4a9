// WebSocket routes through `fastify.nexWebSocket`: callbacks, frames, JSON, context, params, signal, and
// routes registered by another plugin with `handler()` and `checkOrigin`.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import nexWebSocket from '../src/index.js'
import type { NexSocket } from '../src/index.js'
import { connect, refusedUpgrade, startServer, waitFor } from './helpers.js'

t.test('echo: text frames arrive as strings, binary frames as Buffers, and go back the same way', async (t) => {
  const seen: Array<[string, boolean]> = []
  const { url } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/echo', {
      message (socket, data, isBinary) {
        seen.push([typeof data === 'string' ? 'string' : Buffer.isBuffer(data) ? 'buffer' : typeof data, isBinary])
        socket.send(data)
      }
    })
  })
  const client = await connect(`${url}/echo`)
  client.ws.send('héllo ✓')
  t.equal(await client.next(), 'héllo ✓')
  client.ws.send(Buffer.from([0, 1, 2, 255]))
  t.same(await client.next(), Buffer.from([0, 1, 2, 255]))
  t.same(seen, [['string', false], ['buffer', true]])
  client.ws.close()
  t.equal((await client.closed).code, 1005)
})

t.test('send: values other than strings and bytes go as JSON text; nothing is sent once closed', async (t) => {
  const results: boolean[] = []
  let last: NexSocket | undefined
  const { url } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/json', (socket) => {
      last = socket
      socket.send({ hello: 'world', n: [1, 2] })
      socket.send(42)
      socket.send(null)
      socket.send(['a'])
    })
  })
  const client = await connect(`${url}/json`)
  t.same(JSON.parse(await client.next() as string), { hello: 'world', n: [1, 2] })
  t.equal(await client.next(), '42')
  t.equal(await client.next(), 'null')
  t.equal(await client.next(), '["a"]')
  client.ws.close(1000, 'bye')
  await client.closed
  await waitFor(() => last?.signal.aborted === true, 2000, 'the signal')
  results.push(last?.send('late') ?? true)
  t.same(results, [false], 'send() on a closed socket is a no-op returning false')
})

t.test('a function is the open callback; params, request and context; close gets code and reason', async (t) => {
  const closes: Array<[number, string, unknown]> = []
  const { url } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route<{ room: string }>('/rooms/:room', {
      async open (socket) {
        t.type(socket.raw.send, 'function', 'raw is the ws socket')
        t.equal(socket.context, undefined)
        await sleep(50)
        socket.context = { room: socket.params.room ?? '' }
        socket.send(`joined ${socket.params.room} from ${socket.request.url}`)
      },
      message (socket, data) {
        // Messages sent while open was still running wait for it: context is set.
        socket.send(`${socket.context?.room}: ${String(data)}`)
      },
      close (socket, code, reason) {
        closes.push([code, reason, socket.signal.aborted])
      }
    })
    app.nexWebSocket.route('/hello', (socket) => { socket.send('hi') })
  })

  const client = await connect(`${url}/rooms/blue`)
  client.ws.send('one')
  client.ws.send('two')
  t.equal(await client.next(), 'joined blue from /rooms/blue')
  t.equal(await client.next(), 'blue: one')
  t.equal(await client.next(), 'blue: two')
  client.ws.close(4000, 'leaving')
  await client.closed
  await waitFor(() => closes.length === 1)
  t.same(closes, [[4000, 'leaving', true]])

  const hello = await connect(`${url}/hello`)
  t.equal(await hello.next(), 'hi')
  hello.ws.close()
})

t.test('socket.close(code, reason) reaches the client; signal aborts', async (t) => {
  let signal: AbortSignal | undefined
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/kick', {
      open (socket) { signal = socket.signal },
      message (socket) { socket.close(4001, 'kicked') }
    })
  })
  const client = await connect(`${url}/kick`)
  t.equal(app.nexWebSocket.connections, 1)
  t.equal(signal?.aborted, false)
  client.ws.send('x')
  t.same(await client.closed, { code: 4001, reason: 'kicked' })
  await waitFor(() => signal?.aborted === true && app.nexWebSocket.connections === 0)
  t.pass('the signal aborted and the connection count went back to 0')
})

t.test('route() registers on the encapsulated instance: its prefix and hooks apply', async (t) => {
  const { url } = await startServer(t, {}, async (app) => {
    await app.register(async (child) => {
      child.addHook('onRequest', async (request) => {
        if (request.headers['x-token'] !== 'secret') throw Object.assign(new Error('no token'), { statusCode: 401 })
      })
      child.nexWebSocket.route('/feed', (socket) => { socket.send('feed') })
    }, { prefix: '/api' })
  })
  const client = await connect(`${url}/api/feed`, { headers: { 'x-token': 'secret' } })
  t.equal(await client.next(), 'feed')
  client.ws.close()
  const refused = await refusedUpgrade(`${url}/api/feed`)
  t.equal(refused.status, 401)
  const missing = await refusedUpgrade(`${url}/feed`)
  t.equal(missing.status, 404)
})

t.test('another plugin registers its own route with handler() and checkOrigin (file routes do this)', async (t) => {
  const fileRoutes = fp(async (app: FastifyInstance) => {
    app.route({
      method: 'GET',
      url: '/live/:id',
      websocket: true,
      preValidation: app.nexWebSocket.checkOrigin,
      handler: app.nexWebSocket.handler({
        message (socket, data) { socket.send({ id: socket.params.id, got: String(data) }) }
      })
    })
  })
  const { url, origin } = await startServer(t, {}, async (app) => { await app.register(fileRoutes) })
  const client = await connect(`${url}/live/7`, { origin })
  client.ws.send('ping')
  t.same(JSON.parse(await client.next() as string), { id: '7', got: 'ping' })
  client.ws.close()
  const refused = await refusedUpgrade(`${url}/live/7`, { origin: 'http://evil.example' })
  t.equal(refused.status, 403)
  t.equal(refused.body.code, 'FST_NEX_WS_FORBIDDEN_ORIGIN')
})

t.test('a plain GET on a WebSocket route is a 404, not an upgrade', async (t) => {
  const { app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/ws', () => {})
  })
  const res = await app.inject({ method: 'GET', url: '/ws' })
  t.equal(res.statusCode, 404)
})

t.test('@fastify/websocket\'s injectWS works with these routes (no TCP socket), and close() after it', async (t) => {
  const app = Fastify()
  await app.register(nexWebSocket)
  app.nexWebSocket.route('/echo', { message (socket, data) { socket.send(`echo ${String(data)}`) } })
  await app.ready()
  const ws = await app.injectWS('/echo')
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))))
  ws.send('hi')
  t.equal(await reply, 'echo hi')
  t.equal(app.nexWebSocket.connections, 1)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 2000)
  t.equal(app.nexWebSocket.connections, 0)
})

t.test('socket.close() to a client that never answers: terminated after closeTimeout', async (t) => {
  const { url, app } = await startServer(t, { closeTimeout: 300 }, (app) => {
    app.nexWebSocket.route('/bye', { message (socket) { socket.close(4002, 'bye') } })
  })
  const client = await connect(`${url}/bye`)
  const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
  // Reading stops before the server's close frame can arrive: the client will never answer it.
  socket.pause()
  const started = Date.now()
  client.ws.send('x')
  await waitFor(() => app.nexWebSocket.connections === 0, 3000, 'the close timeout')
  const elapsed = Date.now() - started
  t.ok(elapsed >= 250 && elapsed < 1500, `gone after ${elapsed} ms`)
  socket.resume()
  await client.closed
})
