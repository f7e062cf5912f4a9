// A client that stops reading while the server keeps sending (RELIABILITY MEM-05): it is terminated once
// more than maxBufferedBytes wait for it, and the server's memory stays bounded.
import t from 'tap'
import type { Socket } from 'node:net'
import { captureLogs, connect, startServer, waitFor } from './helpers.js'

const KB = Buffer.alloc(1024, 'x').toString()

t.test('a paused client is terminated; the connection count returns to 0; RSS stays bounded', async (t) => {
  const { logger, entries } = captureLogs('warn')
  let sent = 0
  let stoppedBy: 'refused' | 'closed' | undefined
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/firehose', (socket) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 64; i++) {
          if (!socket.send(KB)) {
            stoppedBy = socket.signal.aborted ? 'closed' : 'refused'
            clearInterval(timer)
            return
          }
          sent++
        }
      }, 1)
      socket.signal.addEventListener('abort', () => clearInterval(timer))
    })
  }, { logger })

  global.gc?.()
  const rssBefore = process.memoryUsage().rss
  const client = await connect(`${url}/firehose`)

  const clientSocket = (client.ws as unknown as { _socket: Socket })._socket
  clientSocket.pause()

  await waitFor(() => app.nexWebSocket.connections === 0, 10_000, 'the server to drop the slow client')
  // The paused client only notices once it reads again.
  clientSocket.resume()
  t.equal((await client.closed).code, 1006, 'terminated, no close handshake')
  t.ok(stoppedBy !== undefined, `send() returned false after ${sent} KiB (${stoppedBy})`)
  t.ok(entries.some((entry) => /too slow to read/.test(entry.msg)), 'a warning says why')

  const growth = process.memoryUsage().rss - rssBefore
  t.ok(growth < 128 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`)
})

t.test('maxBufferedBytes is an option; bursts under it to a client that reads do not drop it', async (t) => {
  const { url, app } = await startServer(t, { maxBufferedBytes: 64 * 1024 }, (app) => {
    app.nexWebSocket.route('/burst', {
      message (socket) {
        for (let i = 0; i < 48; i++) socket.send(KB)
        socket.send('done')
      }
    })
  })
  const client = await connect(`${url}/burst`)
  for (let round = 0; round < 3; round++) {
    client.ws.send('go')
    await waitFor(() => client.messages.at(-1) === 'done', 5000)
    client.messages.length = 0
  }
  t.equal(app.nexWebSocket.connections, 1, 'still connected')
  client.ws.close()
})
