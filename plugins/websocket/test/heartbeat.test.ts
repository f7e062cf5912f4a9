// Pings: a peer that stops answering them is terminated; live ones stay.
import t from 'tap'
import { connect, sleep, startServer, waitFor } from './helpers.js'

t.test('a client that does not answer pings is terminated; one that does stays', async (t) => {
  const { url, app } = await startServer(t, { heartbeat: 100 }, (app) => {
    app.nexWebSocket.route('/ws', (socket) => { socket.send('ready') })
  })
  let pings = 0
  const dead = await connect(`${url}/ws`, { autoPong: false })
  dead.ws.on('ping', () => { pings++ })
  const alive = await connect(`${url}/ws`)
  await dead.next()
  await alive.next()

  const started = Date.now()
  t.equal((await dead.closed).code, 1006, 'terminated: no close handshake')
  const elapsed = Date.now() - started
  t.ok(elapsed < 1000, `within two intervals or so (${elapsed} ms)`)
  t.ok(pings >= 1, `it was pinged (${pings})`)
  await waitFor(() => app.nexWebSocket.connections === 1)
  await sleep(300)
  t.equal(alive.ws.readyState, alive.ws.OPEN, 'the client answering pings is still connected')
  alive.ws.close()
})

t.test('heartbeat: 0 sends no pings', async (t) => {
  const { url } = await startServer(t, { heartbeat: 0 }, (app) => {
    app.nexWebSocket.route('/ws', () => {})
  })
  let pings = 0
  const client = await connect(`${url}/ws`, { autoPong: false })
  client.ws.on('ping', () => { pings++ })
  await sleep(200)
  t.equal(pings, 0)
  t.equal(client.ws.readyState, client.ws.OPEN)
  client.ws.close()
})
