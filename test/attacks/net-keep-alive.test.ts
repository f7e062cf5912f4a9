// RELIABILITY §6 NET-04 (a): keep-alive hoarding. 500 connections (the row asks for 200–1 000) each send
// one request, read the answer and go idle; the server must close every one within keepAliveTimeout
// (K = 2 s in the test profile) + 1 s of its response, measured on the server side (RELIABILITY §7).
// Node arms the idle timer at K + 1 s (measured: 3 000 ± 5 ms here, 73 s for 72 s in the catalogue) so
// that a client honouring `Keep-Alive: timeout=2` hangs up first; the bound is therefore asserted with
// the suite's 1.2 tolerance, (K + 1 s)·1.2.
// NET-04 (b), the load-balancer idle race through a Debian nginx upstream with wrk, is proven in
// net-04b-nginx-idle-race.test.ts.
import net from 'node:net'
import t from 'tap'
import { PROFILE } from './fixtures/par-net/app.js'
import { startServerChild } from './helpers/server-child.ts'
import { parseResponses, until } from './helpers/raw-http.ts'

const K = PROFILE.keepAliveTimeout
const SOCKETS = 500

interface Idler { socket: net.Socket, answered: Promise<string>, closed: Promise<void> }

/** One connection that sends a single kept-alive request, reads the answer, then stays silent. */
async function idler (port: number): Promise<Idler> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let data = Buffer.alloc(0)
  const answered = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      const [response] = parseResponses(data, false)
      if (response !== undefined) resolve(response.headers['keep-alive'] ?? '')
    })
  })
  socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n')
  return { socket, answered, closed }
}

t.test(`NET-04 (a) ${SOCKETS} idle kept-alive connections: each closed within K + 1 s of its response`, async (t) => {
  const child = await startServerChild(t)
  const idlers: Idler[] = []
  for (let batch = 0; batch < SOCKETS / 50; batch++) {
    idlers.push(...await Promise.all(Array.from({ length: 50 }, async () => await idler(child.port))))
  }
  t.teardown(() => { for (const { socket } of idlers) socket.destroy() })
  const hints = new Set(await Promise.all(idlers.map(({ answered }) => answered)))
  t.same([...hints], [`timeout=${K / 1_000}`], 'every answer advertises Keep-Alive: timeout=2')
  const held = await child.stats()
  t.equal(held.serverConnections, SOCKETS, `the server holds all ${SOCKETS} connections after answering`)

  const stats = await until(async () => {
    const now = await child.stats()
    return now.serverConnections === 0 ? now : undefined
  }, K + 3_000) ?? await child.stats()
  const idle = stats.connections.map((connection) => (connection.closedAt ?? Number.POSITIVE_INFINITY) - (connection.lastResponseAt ?? Number.NaN))
  t.comment(`idle connections closed ${Math.round(Math.min(...idle))}–${Math.round(Math.max(...idle))} ms after their response (K = ${K})`)
  t.equal(stats.connections.length, SOCKETS, 'one server-side record per connection')
  t.ok(stats.connections.every((connection) => connection.statuses.join() === '200'), 'each got exactly one response, 200')
  t.ok(idle.every((ms) => ms >= K), 'none closed before keepAliveTimeout')
  t.ok(idle.every((ms) => ms <= (K + 1_000) * 1.2), `every one closed by the server within (K + 1 s)·1.2 = ${(K + 1_000) * 1.2} ms of its response`)
  t.ok(stats.connections.every((connection) => !connection.clientEnded), 'the server closed them, not the clients')
  t.equal(stats.serverConnections, 0, 'no connection left')
  await Promise.all(idlers.map(({ closed }) => closed))
  t.pass('every client saw its connection closed')
})
