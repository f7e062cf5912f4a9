// SHU-02: SIGTERM with 100 SSE streams and 100 WebSockets open, in a real server process on the `nex` preset
// (security, health, metrics, … in front of every route; `serve()` handles the signal). Every SSE client
// gets `event: shutdown` then EOF, every WebSocket the close code 1001, and the process exits 0 within
// 2 s of the signal (DRAIN_DELAY=0: no load balancer watches /readyz here).
import t from 'tap'
import { request, type IncomingMessage } from 'node:http'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { httpRequest, startServer } from '../helpers/server-process.js'
import { csrfFrom } from '../helpers/csrf.js'

const APP = fileURLToPath(new URL('./fixtures/realtime-app/', import.meta.url))
const CLIENTS = 100

interface SseClient {
  text: string
  /** Resolves once the server ended the response (EOF), with everything it sent. */
  ended: Promise<string>
}

async function openStream (host: string, port: number): Promise<SseClient> {
  return await new Promise((resolve, reject) => {
    // What Chromium's EventSource sends to its own origin: the security checks must let it through.
    const headers = { accept: 'text/event-stream', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }
    const req = request({ host, port, path: '/events', headers, agent: false }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`stream refused: ${res.statusCode}`))
      const client: SseClient = { text: '', ended: Promise.resolve('') }
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { client.text += chunk })
      client.ended = new Promise((resolve, reject) => {
        res.on('end', () => resolve(client.text))
        res.on('error', reject)
        res.on('aborted', () => reject(new Error('stream cut without EOF')))
      })
      resolve(client)
    })
    req.on('error', reject)
    req.end()
  })
}

async function openSocket (host: string, port: number): Promise<{ socket: WebSocket, closed: Promise<number> }> {
  // A browser's WebSocket always sends its page's Origin: the same origin passes the Origin checks.
  const socket = new WebSocket(`ws://${host}:${port}/ws`, { origin: `http://${host}:${port}` })
  const closed = new Promise<number>(resolve => socket.once('close', (code) => resolve(code)))
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  return { socket, closed }
}

t.test('SIGTERM with 100 SSE and 100 WebSocket clients: shutdown events, 1001, exit 0 within 2 s', async (t) => {
  const server = await startServer(t, APP, { LOG_LEVEL: 'info' })
  const { host, port } = server
  const streams = await Promise.all(Array.from({ length: CLIENTS }, async () => await openStream(host, port)))
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, async () => await openSocket(host, port)))
  // Both kinds follow the topic: a publish reaches all 200 before the shutdown.
  let counts = JSON.parse((await httpRequest(host, port, '/counts')).body) as { streams: number, sockets: number }
  for (let i = 0; i < 50 && counts.sockets < CLIENTS; i++) {
    await new Promise(resolve => setTimeout(resolve, 20))
    counts = JSON.parse((await httpRequest(host, port, '/counts')).body)
  }
  t.same(counts, { streams: CLIENTS, sockets: CLIENTS }, 'all clients are connected')
  const socketMessages = sockets.map(({ socket }) => new Promise<string>(resolve => socket.once('message', (data) => resolve(String(data)))))
  // The publish is an unsafe request: without the page's token it is refused and reaches no client.
  const refused = await httpRequest(host, port, '/publish?text=forged', { method: 'POST', headers: { accept: 'application/json' } })
  t.equal(refused.status, 403, 'a publish without a CSRF token is refused')
  t.equal((JSON.parse(refused.body) as { code?: string }).code, 'FST_NEX_SECURITY_CSRF_MISSING', 'by the CSRF check')
  const page = await httpRequest(host, port, '/')
  const published = await httpRequest(host, port, '/publish', { method: 'POST', headers: { ...csrfFrom(page) } })
  t.equal(published.status, 200, 'with the cookie and token of a page it is published')
  t.same(new Set(await Promise.all(socketMessages)), new Set(['hello']), 'every socket got the published message')

  const started = Date.now()
  const exit = await server.stop()
  const elapsed = Date.now() - started
  t.same(exit, { code: 0, signal: null }, 'the process exits 0')
  t.ok(elapsed < 2000, `exited ${elapsed} ms after SIGTERM (budget 2000 ms)`)

  const texts = await Promise.all(streams.map(async (stream) => await stream.ended))
  t.equal(texts.filter(text => text.includes('data: hello\n\n')).length, CLIENTS, 'every stream got the published event')
  t.equal(texts.filter(text => text.includes('forged')).length, 0, 'and none the refused one')
  t.equal(texts.filter(text => /event: shutdown\nretry: \d+\ndata: \n\n$/.test(text)).length, CLIENTS, 'every stream ends with the shutdown event, then EOF')
  const codes = await Promise.all(sockets.map(async ({ closed }) => await closed))
  t.same(new Set(codes), new Set([1001]), 'every WebSocket was closed with 1001 (going away)')
})
