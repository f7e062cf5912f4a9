// Cross-site WebSocket hijacking (RELIABILITY SEC-10): a real upgrade carrying a foreign Origin is refused
// with 403 before the upgrade; same-origin pages and non-browser clients connect.
import t from 'tap'
import { connect, refusedUpgrade, startServer } from './helpers.js'

t.test('default: a foreign Origin gets 403 FST_NEX_WS_FORBIDDEN_ORIGIN, no upgrade, no handler call', async (t) => {
  let opened = 0
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/ws', () => { opened++ })
  })
  const refused = await refusedUpgrade(`${url}/ws`, { origin: 'http://evil.example' })
  t.equal(refused.status, 403)
  t.equal(refused.upgraded, false, 'no 101 Switching Protocols')
  t.match(refused.headers['content-type'], /^application\/json/)
  t.equal(refused.body.code, 'FST_NEX_WS_FORBIDDEN_ORIGIN')
  t.equal(refused.body.statusCode, 403)
  t.match(refused.body.message, /"http:\/\/evil\.example".*allowedOrigins/)
  t.equal(opened, 0)
  t.equal(app.nexWebSocket.connections, 0)

  // Same host, other port: another origin. And the opaque origin of sandboxed frames and files.
  const port = Number(new URL(url).port)
  for (const origin of [`http://127.0.0.1:${port + 1}`, 'null', 'http://127.0.0.1.evil.example']) {
    t.equal((await refusedUpgrade(`${url}/ws`, { origin })).status, 403, origin)
  }
})

t.test('default: the same origin and clients without Origin (not browsers) connect', async (t) => {
  const { url, origin } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send(socket.request.headers.origin ?? 'none') })
  })
  const same = await connect(`${url}/ws`, { origin })
  t.equal(await same.next(), origin)
  same.ws.close()
  // A host name instead of the address: Host and Origin still agree.
  const port = new URL(url).port
  const named = await connect(`ws://localhost:${port}/ws`, { origin: `http://localhost:${port}`, family: 4 })
  t.equal(await named.next(), `http://localhost:${port}`)
  named.ws.close()
  const bare = await connect(`${url}/ws`)
  t.equal(await bare.next(), 'none')
  bare.ws.close()
})

t.test('allowedOrigins as a list: listed origins only (canonical comparison)', async (t) => {
  const { url, origin } = await startServer(t, { allowedOrigins: ['https://app.example.com', 'HTTP://Other.Example:8080/'] }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ok') })
  })
  for (const allowed of ['https://app.example.com', 'https://app.example.com:443', 'http://other.example:8080']) {
    const client = await connect(`${url}/ws`, { origin: allowed })
    t.equal(await client.next(), 'ok', allowed)
    client.ws.close()
  }
  for (const refused of ['http://app.example.com', 'https://evil.example', 'http://other.example', origin]) {
    t.equal((await refusedUpgrade(`${url}/ws`, { origin: refused })).status, 403, refused)
  }
  const bare = await connect(`${url}/ws`)
  t.equal(await bare.next(), 'ok', 'no Origin header')
  bare.ws.close()
})

t.test('allowedOrigins as a function (sync or async) gets the origin and the request', async (t) => {
  const calls: Array<[string, string]> = []
  const { url } = await startServer(t, {
    allowedOrigins: async (origin, request) => {
      calls.push([origin, request.url])
      return origin.endsWith('.trusted.example')
    }
  }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ok') })
  })
  const client = await connect(`${url}/ws`, { origin: 'https://a.trusted.example' })
  t.equal(await client.next(), 'ok')
  client.ws.close()
  t.equal((await refusedUpgrade(`${url}/ws`, { origin: 'http://evil.example' })).status, 403)
  t.same(calls, [['https://a.trusted.example', '/ws'], ['http://evil.example', '/ws']])
})

t.test('route() keeps the route\'s own preValidation hooks, after the Origin check', async (t) => {
  const order: string[] = []
  const { url } = await startServer(t, { allowedOrigins: () => { order.push('origin'); return true } }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ok') }, {
      preValidation: async () => { order.push('own') }
    })
  })
  const client = await connect(`${url}/ws`, { origin: 'https://x.example' })
  t.equal(await client.next(), 'ok')
  client.ws.close()
  t.same(order, ['origin', 'own'])
})
