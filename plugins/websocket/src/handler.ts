/**
 * The route handler of a WebSocket definition: wraps the `ws` socket in a `NexSocket`, applies the rate
 * limit, turns frames into strings (text) or Buffers (binary), and runs the callbacks so that a throw or
 * a rejection is logged and closes the socket with 1011 instead of reaching the process.
 */
import type { WebsocketHandler } from '@fastify/websocket'
import type { RawData } from 'ws'
import { describeValue } from '@nex/pubsub'
import { FST_NEX_WS_INVALID_DEFINITION } from './errors.js'
import { createTokenBucket } from './lib/token-bucket.js'
import { SocketConnection, type NexSocket, type SocketSettings } from './socket.js'
import { kFail } from './symbols.js'

/** The callbacks of a WebSocket route; each may be async. */
export interface WebSocketCallbacks<Context = unknown> {
  /** The connection is open. Messages that arrive before it finished wait for it. */
  open? (socket: NexSocket<Context>): unknown
  /** A message: a string for a text frame (UTF-8), a Buffer for a binary one. */
  message? (socket: NexSocket<Context>, data: string | Buffer, isBinary: boolean): unknown
  /** The connection ended (`1006` when it was cut without a close frame). */
  close? (socket: NexSocket<Context>, code: number, reason: string): unknown
  /** The client broke the protocol or a limit (a close follows). */
  error? (socket: NexSocket<Context>, err: Error): unknown
}

/** Callbacks, or a single function called on open. */
export type WebSocketDefinition<Context = unknown> = WebSocketCallbacks<Context> | ((socket: NexSocket<Context>) => unknown)

/**
 * What `@fastify/websocket` calls for an upgraded request (the `handler` of a `websocket: true` route).
 * Importing its type also brings @fastify/websocket's route typings to whoever imports this package.
 */
export type WebSocketRouteHandler = WebsocketHandler

/** What handlers need from the plugin. */
export interface HandlerHub extends SocketSettings {
  readonly rateLimit: { readonly messages: number, readonly interval: number } | null
  /** Takes each new socket into the plugin's care (tracking, and closing at once during shutdown). */
  adopt (socket: SocketConnection): void
}

const CALLBACKS: ReadonlySet<string> = new Set(['open', 'message', 'close', 'error'])
const CLOSE_POLICY_VIOLATION = 1008

type Callback<Context, K extends keyof WebSocketCallbacks<Context>> = WebSocketCallbacks<Context>[K] | undefined

interface Callbacks<Context> {
  readonly open: Callback<Context, 'open'>
  readonly message: Callback<Context, 'message'>
  readonly close: Callback<Context, 'close'>
  readonly error: Callback<Context, 'error'>
}

export function createWebSocketHandler<Context> (definition: WebSocketDefinition<Context>, hub: HandlerHub): WebSocketRouteHandler {
  const { open, message, close, error } = normalizeDefinition(definition)

  return function nexWebSocketHandler (raw, request) {
    const socket = new SocketConnection<Context>(raw, request, hub)
    const bucket = hub.rateLimit === null ? null : createTokenBucket(hub.rateLimit.messages, hub.rateLimit.interval, Date.now())
    // Messages that arrive while `open` runs (the socket is paused then, so at most one read's worth).
    let waiting: Array<[string | Buffer, boolean]> | null = open === undefined ? null : []

    raw.on('message', (data, isBinary) => {
      if (raw.readyState !== raw.OPEN) return
      if (bucket !== null && !bucket.take(Date.now())) {
        socket.close(CLOSE_POLICY_VIOLATION, 'rate limit')
        return
      }
      const payload = isBinary ? toBuffer(data) : toBuffer(data).toString('utf8')
      if (waiting !== null) waiting.push([payload, isBinary])
      else if (message !== undefined) invoke(socket, message, payload, isBinary)
    })
    raw.on('error', (err) => {
      if (error !== undefined) invoke(socket, error, err)
    })
    raw.once('close', (code, reason) => {
      waiting = null
      if (close !== undefined) invoke(socket, close, code, reason.toString('utf8'))
    })

    if (open !== undefined) {
      raw.pause()
      invoke(socket, open).then((opened) => {
        const queued = waiting ?? []
        waiting = null
        raw.resume()
        if (!opened || message === undefined) return
        for (const [payload, isBinary] of queued) invoke(socket, message, payload, isBinary)
      })
    }
    hub.adopt(socket as SocketConnection)
  }
}

/** Runs a callback; a throw or rejection is logged and closes the socket with 1011. Resolves to whether it succeeded. */
async function invoke<Context, Args extends unknown[]> (
  socket: SocketConnection<Context>,
  callback: (socket: NexSocket<Context>, ...args: Args) => unknown,
  ...args: Args
): Promise<boolean> {
  try {
    await callback(socket, ...args)
    return true
  } catch (err) {
    socket[kFail](err)
    return false
  }
}

function normalizeDefinition<Context> (definition: WebSocketDefinition<Context>): Callbacks<Context> {
  if (typeof definition === 'function') return { open: definition, message: undefined, close: undefined, error: undefined }
  if (typeof definition !== 'object' || definition === null) {
    throw new FST_NEX_WS_INVALID_DEFINITION(`got ${describeValue(definition)}`)
  }
  for (const key of Object.keys(definition)) {
    if (!CALLBACKS.has(key)) throw new FST_NEX_WS_INVALID_DEFINITION(`"${key}" is not one of them`)
  }
  const pick = <K extends keyof WebSocketCallbacks<Context>>(key: K): WebSocketCallbacks<Context>[K] => {
    const callback: unknown = definition[key]
    if (callback === undefined) return undefined
    if (typeof callback !== 'function') throw new FST_NEX_WS_INVALID_DEFINITION(`"${key}" must be a function, got ${describeValue(callback)}`)
    return callback.bind(definition)
  }
  return { open: pick('open'), message: pick('message'), close: pick('close'), error: pick('error') }
}

function toBuffer (data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}
