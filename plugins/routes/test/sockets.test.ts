// WebSocket handlers in API files through @nex/websocket, on real sockets: the upgrade and the HTTP GET
// share the file's URL, the socket gets the route's context, the Origin is checked before the upgrade,
// and a socket export without @nex/websocket is a startup error.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import nexWebSocket from '@nex/websocket'
import nexRoutes from '../src/index.js'
import { fixture } from './helpers.js'

async function listen (t: Test): Promise<{ app: FastifyInstance, base: string }> {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(nexWebSocket)
  await app.register(nexRoutes, { dir: fixture('sockets') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return { app, base: `127.0.0.1:${address.port}` }
}

/** Opens a socket and collects its first `count` messages. */
async function messages (url: string, count: number, send: string[] = [], headers: Record<string, string> = {}): Promise<string[]> {
  const socket = new WebSocket(url, { headers })
  const received: string[] = []
  const done = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      received.push(String(data))
      if (received.length === count) resolve()
    })
    socket.on('error', reject)
    socket.on('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)))
  })
  // The upgrade can be refused before 'open': wait for whichever comes first.
  await Promise.race([once(socket, 'open'), done])
  for (const message of send) socket.send(message)
  await done
  socket.close()
  return received
}

t.test('an API file serves its socket and its GET on one URL, with the route context', async (t) => {
  const { base } = await listen(t)
  const http = await fetch(`http://${base}/api/rooms/lobby`)
  t.same(await http.json(), { room: 'lobby', http: true }, 'a plain GET reaches the GET export')
  const got = await messages(`ws://${base}/api/rooms/lobby`, 2, ['hi'])
  t.same(got, ['{"joined":"lobby"}', 'lobby: hi'], 'the socket sees ctx.params')
  t.same(await messages(`ws://${base}/api/only`, 1), ['hello'], 'a function export is called on open')
  const plain = await fetch(`http://${base}/api/only`)
  t.equal(plain.status, 405, 'a socket-only file answers plain GETs with 405')
})

t.test('the upgrade is refused for another origin; plain GETs are not origin-checked', async (t) => {
  const { base } = await listen(t)
  await t.rejects(messages(`ws://${base}/api/rooms/lobby`, 1, [], { origin: 'http://evil.example' }), /upgrade refused: 403/)
  const http = await fetch(`http://${base}/api/rooms/lobby`, { headers: { origin: 'http://evil.example' } })
  t.equal(http.status, 200)
  t.same(await messages(`ws://${base}/api/rooms/lobby`, 1, [], { origin: `http://${base}` }), ['{"joined":"lobby"}'], 'same origin is fine')
})

t.test('a socket export without @nex/websocket fails at startup, naming the file', async (t) => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  app.register(nexRoutes, { dir: fixture('sockets-no-ws') })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_NEX_ROUTES_NO_WEBSOCKET', message: /api\/chat\.ts/ })
})
