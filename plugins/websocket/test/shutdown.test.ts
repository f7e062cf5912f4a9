// Graceful shutdown (RELIABILITY SHU-02, §5): app.close() closes every WebSocket with 1001, terminates
// clients that do not answer within closeTimeout, refuses new upgrades, and never hangs.
import t from 'tap'
import type { Socket } from 'node:net'
import { createMemoryEventLog, createMemoryPubSub } from '@nex/pubsub'
import { connect, refusedUpgrade, startServer, type Client } from './helpers.js'

t.test('100 open clients: close() resolves within closeTimeout + 2 s and every client got 1001', async (t) => {
  const bus = createMemoryPubSub()
  const topics = createMemoryEventLog({ pubsub: bus })
  t.teardown(async () => { await topics.close(); await bus.close() })
  const closeCallbacks: number[] = []
  const { url, app } = await startServer(t, { closeTimeout: 1000, topics }, (app) => {
    app.nexWebSocket.route('/ws', {
      async open (socket) {
        await socket.subscribe('everyone')
        socket.send('ready')
      },
      close (_socket, code) { closeCallbacks.push(code) }
    })
  })
  const clients: Client[] = []
  for (let i = 0; i < 100; i++) clients.push(await connect(`${url}/ws`))
  await Promise.all(clients.map(async (client) => await client.next()))
  t.equal(app.nexWebSocket.connections, 100)
  t.equal(bus.topicCount, 1)

  const started = Date.now()
  await app.close()
  const elapsed = Date.now() - started
  t.ok(elapsed < 3000, `close() took ${elapsed} ms`)
  const closes = await Promise.all(clients.map(async (client) => await client.closed))
  t.ok(closes.every((closed) => closed.code === 1001 && closed.reason === 'server shutting down'), 'all got 1001')
  t.equal(closeCallbacks.length, 100)
  t.equal(app.nexWebSocket.connections, 0)
  t.equal(bus.topicCount, 0, 'subscriptions released before the log closes')
})

t.test('a client that never answers the close is terminated after closeTimeout; upgrades meanwhile get 503 and do not keep close() pending', async (t) => {
  const { url, app } = await startServer(t, { closeTimeout: 500 }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ready') })
  })
  const polite = await connect(`${url}/ws`)
  const deaf = await connect(`${url}/ws`)
  await polite.next()
  await deaf.next()
  // The deaf client's socket stops reading: it never sees the close frame, never answers it.
  const deafSocket = (deaf.ws as unknown as { _socket: Socket })._socket
  deafSocket.pause()

  const started = Date.now()
  const closing = app.close()
  t.equal((await polite.closed).code, 1001)
  // Still waiting for the deaf client: the server is up, but refuses new WebSocket connections.
  const refused = await refusedUpgrade(`${url}/ws`)
  t.equal(refused.status, 503)
  await closing
  const elapsed = Date.now() - started
  t.ok(elapsed >= 450 && elapsed < 2500, `close() took ${elapsed} ms`)
  t.equal(app.nexWebSocket.connections, 0, 'terminated')
  // Reading again, it finds the close frame the server sent before giving up on it.
  deafSocket.resume()
  t.equal((await deaf.closed).code, 1001)
})

t.test('with return503OnClosing: false the plugin refuses upgrades itself, with FST_NEX_WS_SHUTTING_DOWN', async (t) => {
  const { url, app } = await startServer(t, { closeTimeout: 500 }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ready') })
  }, { return503OnClosing: false })
  const deaf = await connect(`${url}/ws`)
  await deaf.next()
  const deafSocket = (deaf.ws as unknown as { _socket: Socket })._socket
  deafSocket.pause()
  const closing = app.close()
  const refused = await refusedUpgrade(`${url}/ws`)
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'FST_NEX_WS_SHUTTING_DOWN')
  t.equal(refused.headers['retry-after'], '1')
  await closing
  deafSocket.resume()
  await deaf.closed
})

t.test('close() with no WebSocket ever opened is immediate', async (t) => {
  const { app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/ws', () => {})
  })
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 200)
})
