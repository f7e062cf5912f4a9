// Oversized and flooding clients (RELIABILITY MEM-05) and the connection caps.
import t from 'tap'
import { connect, refusedUpgrade, startServer, waitFor } from './helpers.js'

const echo = { message (socket: { send (data: string | Buffer): boolean }, data: string | Buffer) { socket.send(data) } }

t.test('maxPayload: a message of maxPayload bytes passes, one byte more closes with 1009', async (t) => {
  const { url, app } = await startServer(t, { maxPayload: 1024 }, (app) => {
    app.nexWebSocket.route('/echo', { message (socket, data) { socket.send(String(data.length)) } })
  })
  const fits = await connect(`${url}/echo`)
  fits.ws.send('x'.repeat(1024))
  t.equal(await fits.next(), '1024')
  fits.ws.send('x'.repeat(1025))
  t.equal((await fits.closed).code, 1009)
  await waitFor(() => app.nexWebSocket.connections === 0)
})

t.test('maxPayload default (64 KiB): a 2 MiB frame closes with 1009, the next client is served', async (t) => {
  let received = 0
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/echo', {
      message (socket, data) {
        received++
        socket.send(data)
      }
    })
  })
  const big = await connect(`${url}/echo`)
  big.ws.send(Buffer.alloc(2 * 1024 * 1024, 1))
  t.equal((await big.closed).code, 1009)
  t.equal(received, 0, 'the oversized message never reached the handler')
  const next = await connect(`${url}/echo`)
  next.ws.send('still here')
  t.equal(await next.next(), 'still here')
  next.ws.close()
  await waitFor(() => app.nexWebSocket.connections === 0)
})

t.test('a flood of 10k messages closes with 1008 "rate limit"; the server stays responsive', async (t) => {
  let handled = 0
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/echo', {
      message (socket, data) {
        handled++
        socket.send(data)
      }
    })
    app.get('/health', async () => ({ ok: true }))
  })
  const flooder = await connect(`${url}/echo`)
  for (let i = 0; i < 10_000; i++) flooder.ws.send(`message ${i}`)
  t.same(await flooder.closed, { code: 1008, reason: 'rate limit' })
  t.ok(handled <= 101, `at most the burst was handled (${handled})`)

  const started = Date.now()
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  const other = await connect(`${url}/echo`)
  other.ws.send('hello')
  t.equal(await other.next(), 'hello')
  t.ok(Date.now() - started < 1000, 'served promptly')
  other.ws.close()
})

t.test('rateLimit: the bucket refills; false turns the limit off', async (t) => {
  const { url } = await startServer(t, { rateLimit: { messages: 5, interval: 200 } }, (app) => {
    app.nexWebSocket.route('/echo', echo)
  })
  const client = await connect(`${url}/echo`)
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) client.ws.send(`${round}.${i}`)
    for (let i = 0; i < 5; i++) t.equal(await client.next(), `${round}.${i}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  for (let i = 0; i < 6; i++) client.ws.send('burst')
  t.same(await client.closed, { code: 1008, reason: 'rate limit' })

  const unlimited = await startServer(t, { rateLimit: false }, (app) => {
    app.nexWebSocket.route('/echo', echo)
  })
  const fast = await connect(`${unlimited.url}/echo`)
  for (let i = 0; i < 1000; i++) fast.ws.send(String(i))
  await waitFor(() => fast.messages.length === 1000)
  t.equal(fast.messages.at(-1), '999')
  fast.ws.close()
})

t.test('maxConnections: past it the upgrade gets 503 FST_NEX_WS_TOO_MANY_CONNECTIONS with Retry-After', async (t) => {
  const { url, app } = await startServer(t, { maxConnections: 2 }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ok') })
    app.get('/plain', async () => 'plain')
  })
  const first = await connect(`${url}/ws`)
  const second = await connect(`${url}/ws`)
  const refused = await refusedUpgrade(`${url}/ws`)
  t.equal(refused.status, 503)
  t.equal(refused.upgraded, false)
  t.equal(refused.headers['retry-after'], '5')
  t.equal(refused.body.code, 'FST_NEX_WS_TOO_MANY_CONNECTIONS')
  t.match(refused.body.message, /maxConnections: 2/)
  t.equal(app.nexWebSocket.connections, 2)
  t.equal((await app.inject({ method: 'GET', url: '/plain' })).statusCode, 200, 'plain requests are not counted')

  first.ws.close()
  await first.closed
  await waitFor(() => app.nexWebSocket.connections === 1)
  const third = await connect(`${url}/ws`)
  t.equal(await third.next(), 'ok', 'a closed connection frees its slot')

  // Refused upgrades hold no slot: a 403 and a 404 leave room for the next one.
  second.ws.close()
  await second.closed
  t.equal((await refusedUpgrade(`${url}/ws`, { origin: 'http://evil.example' })).status, 403)
  t.equal((await refusedUpgrade(`${url}/nowhere`)).status, 404)
  const fourth = await connect(`${url}/ws`)
  t.equal(await fourth.next(), 'ok')
  third.ws.close()
  fourth.ws.close()
})

t.test('maxConnectionsPerIp: one address is capped, others still connect', async (t) => {
  const { url, app } = await startServer(t, { maxConnectionsPerIp: 2 }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send(socket.request.ip) })
  }, { trustProxy: true })
  const from = (ip: string): { headers: Record<string, string> } => ({ headers: { 'x-forwarded-for': ip } })
  const a1 = await connect(`${url}/ws`, from('10.0.0.1'))
  const a2 = await connect(`${url}/ws`, from('10.0.0.1'))
  const refused = await refusedUpgrade(`${url}/ws`, from('10.0.0.1'))
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5')
  t.match(refused.body.message, /maxConnectionsPerIp: 2/)
  const b1 = await connect(`${url}/ws`, from('10.0.0.2'))
  t.equal(await b1.next(), '10.0.0.2')
  t.equal(app.nexWebSocket.connections, 3)
  for (const client of [a1, a2, b1]) client.ws.close()
})
