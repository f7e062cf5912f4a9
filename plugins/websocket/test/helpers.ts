/**
 * What the WebSocket tests share: an app listening on 127.0.0.1 with the plugin, `ws` clients that keep
 * what they receive and how they were closed, refused upgrades read as HTTP responses, and captured logs.
 */
import { Writable } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { WebSocket, type ClientOptions } from 'ws'
import nexWebSocket, { type WebSocketOptions } from '../src/index.js'

export interface Server {
  app: FastifyInstance
  /** `ws://127.0.0.1:<port>` */
  url: string
  /** `http://127.0.0.1:<port>`: the app's own origin. */
  origin: string
}

/** An app with the plugin and `routes`, listening on a free port; closed by the teardown of `t`. */
export async function startServer (
  t: Test,
  options: WebSocketOptions,
  routes: (app: FastifyInstance) => void | Promise<void>,
  fastifyOptions: FastifyServerOptions = {}
): Promise<Server> {
  const app = Fastify(fastifyOptions)
  await app.register(nexWebSocket, options)
  await routes(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a port')
  return { app, url: `ws://127.0.0.1:${address.port}`, origin: `http://127.0.0.1:${address.port}` }
}

export interface Closed {
  code: number
  reason: string
}

export interface Client {
  ws: WebSocket
  /** Everything received: text frames as strings, binary frames as Buffers. */
  messages: Array<string | Buffer>
  /** Resolves once the connection ended. */
  closed: Promise<Closed>
  /** The next message not yet taken by `next`. */
  next (timeout?: number): Promise<string | Buffer>
}

/** A connected client; rejects when the upgrade is refused. */
export async function connect (url: string, options: ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, options)
  const messages: Array<string | Buffer> = []
  let taken = 0
  let wake: (() => void) | null = null
  ws.on('message', (data, isBinary) => {
    messages.push(isBinary ? data as Buffer : (data as Buffer).toString('utf8'))
    wake?.()
  })
  // Writes may fail once the server dropped the connection (EPIPE, ECONNRESET): the close says what happened.
  ws.on('error', () => {})
  const closed = new Promise<Closed>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }))
    ws.once('close', () => wake?.())
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)))
    ws.once('close', () => reject(new Error('closed before open')))
  })

  async function next (timeout = 2000): Promise<string | Buffer> {
    const deadline = Date.now() + timeout
    while (taken >= messages.length) {
      if (ws.readyState === ws.CLOSED) throw new Error('closed while waiting for a message')
      if (Date.now() > deadline) throw new Error('no message within the timeout')
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 20)
      })
      wake = null
    }
    return messages[taken++] as string | Buffer
  }
  return { ws, messages, closed, next }
}

export interface Refusal {
  status: number
  headers: IncomingHttpHeaders
  body: { statusCode?: number, code?: string, message?: string }
  /** Whether the client ever saw `101 Switching Protocols`. */
  upgraded: boolean
}

/** An upgrade the server is expected to refuse: its HTTP response. Rejects when the upgrade succeeds. */
export async function refusedUpgrade (url: string, options: ClientOptions = {}): Promise<Refusal> {
  const ws = new WebSocket(url, options)
  ws.on('error', () => {})
  let upgraded = false
  ws.once('upgrade', () => { upgraded = true })
  return await new Promise<Refusal>((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the upgrade succeeded'))
    })
    ws.once('unexpected-response', (req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : JSON.parse(text), upgraded })
      })
    })
  })
}

/** Waits until `condition()` holds; fails after `timeout` ms. */
export async function waitFor (condition: () => boolean, timeout = 2000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

export interface LogEntry {
  level: number
  msg: string
  err?: { message: string, type?: string }
  [key: string]: unknown
}

/** Fastify logger options writing JSON lines into `entries`. */
export function captureLogs (level = 'info'): { logger: { level: string, stream: Writable }, entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') entries.push(JSON.parse(line) as LogEntry)
      }
      callback()
    }
  })
  return { logger: { level, stream }, entries }
}

export { sleep }
