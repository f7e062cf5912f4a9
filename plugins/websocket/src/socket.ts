/**
 * `NexSocket`: one WebSocket connection as route code sees it, and `SocketConnection`, the class behind
 * it. It sends with a cap on what may wait for a slow client, forwards topics and releases every
 * subscription when the connection ends, and aborts `signal` then.
 *
 * The public type is an interface, not the class: an interface with no private members stays the same
 * type when a program loads this package twice (its sources and its build, as a monorepo typecheck
 * does), so the `nexWebSocket` declarations of both copies agree.
 */
import type { FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { describeValue, isTopicMessage, type EventLog, type JsonValue, type TopicMessage, type Unsubscribe } from '@nex/pubsub'
import { FST_NEX_WS_NOT_JSON } from './errors.js'
import { kFail, kReleased } from './symbols.js'

/** What `send` takes: strings go as text frames, bytes as binary frames, anything else as JSON text. */
export type OutgoingMessage = string | Uint8Array | ArrayBuffer | JsonValue | object

/** Receives each message of a subscribed topic (its own copy), with the topic and the event's id. */
export type TopicHandler = (message: JsonValue, topic: string, id: number) => void | Promise<void>

/** What a socket needs from the plugin that created it. */
export interface SocketSettings {
  readonly topics: EventLog
  readonly maxBufferedBytes: number
}

const CLOSE_INTERNAL_ERROR = 1011

async function unsubscribed (): Promise<void> {}

/** One WebSocket connection, as the callbacks of a route get it. */
export interface NexSocket<Context = unknown> {
  /** The `ws` WebSocket underneath. */
  readonly raw: WebSocket
  /** The upgrade request. */
  readonly request: FastifyRequest
  /** The route's path parameters. */
  readonly params: Record<string, string>
  /** Aborted when the connection closes: hand it to what the connection started (fetches, timers). */
  readonly signal: AbortSignal
  /** What the route keeps for this connection (the user, a room); starts undefined. */
  context: Context | undefined
  send (data: OutgoingMessage): boolean
  /**
   * Subscribes to `topic` until the socket closes; resolves to the function that ends the subscription
   * sooner. By default each message is sent on: the `data` of a `{ event?, data }` message, else the whole
   * message. A handler that throws closes the socket with 1011.
   */
  subscribe (topic: string, handler?: TopicHandler): Promise<Unsubscribe>
  /** Appends `message` to `topic` for every subscriber (in every process sharing the log); resolves to its id. */
  publish (topic: string, message: JsonValue | TopicMessage): Promise<number>
  /** Starts the close handshake (default 1000); the socket is terminated if the client does not answer within `closeTimeout`. */
  close (code?: number, reason?: string): void
}

export class SocketConnection<Context = unknown> implements NexSocket<Context> {
  readonly raw: WebSocket
  readonly request: FastifyRequest
  readonly signal: AbortSignal
  context: Context | undefined = undefined
  readonly [kReleased]: Promise<void>
  readonly #settings: SocketSettings
  readonly #closed = new AbortController()
  readonly #subscriptions = new Set<Unsubscribe>()

  constructor (raw: WebSocket, request: FastifyRequest, settings: SocketSettings) {
    this.raw = raw
    this.request = request
    this.signal = this.#closed.signal
    this.#settings = settings
    this[kReleased] = new Promise((resolve) => {
      raw.once('close', () => {
        this.#closed.abort()
        resolve(this.#releaseSubscriptions())
      })
    })
  }

  get params (): Record<string, string> {
    return this.request.params as Record<string, string>
  }

  send (data: OutgoingMessage): boolean {
    const { raw } = this
    if (raw.readyState !== raw.OPEN) return false
    if (raw.bufferedAmount > this.#settings.maxBufferedBytes) {
      this.request.log.warn({ bufferedAmount: raw.bufferedAmount },
        '@nex/websocket: terminated a client too slow to read what it is sent (over maxBufferedBytes)')
      raw.terminate()
      return false
    }
    raw.send(encodeFrame(data))
    return true
  }

  async subscribe (topic: string, handler?: TopicHandler): Promise<Unsubscribe> {
    if (this.signal.aborted) return unsubscribed
    const deliver = handler ?? ((message: JsonValue) => { this.send(isTopicMessage(message) ? message.data : message) })
    const unsubscribe = await this.#settings.topics.subscribe(topic, async (event, name) => {
      if (this.signal.aborted) return
      try {
        await deliver(event.message, name, event.id)
      } catch (err) {
        this[kFail](err)
      }
    })
    let done = false
    const release: Unsubscribe = async () => {
      if (done) return
      done = true
      this.#subscriptions.delete(release)
      await unsubscribe()
    }
    // Closed while subscribing: the close already released the others.
    if (this.signal.aborted) await release()
    else this.#subscriptions.add(release)
    return release
  }

  async publish (topic: string, message: JsonValue | TopicMessage): Promise<number> {
    return await this.#settings.topics.append(topic, message as JsonValue)
  }

  close (code = 1000, reason?: string): void {
    const { raw } = this
    if (raw.readyState === raw.OPEN || raw.readyState === raw.CONNECTING) raw.close(code, reason)
  }

  /** Logs a failed callback and closes with 1011; never throws. */
  [kFail] (err: unknown): void {
    this.request.log.error({ err }, '@nex/websocket: a WebSocket callback failed; closing the socket with 1011')
    try {
      this.close(CLOSE_INTERNAL_ERROR, 'internal error')
    } catch {
      this.raw.terminate()
    }
  }

  async #releaseSubscriptions (): Promise<void> {
    await Promise.all(Array.from(this.#subscriptions, async (release) => {
      try {
        await release()
      } catch (err) {
        this.request.log.warn({ err }, '@nex/websocket: could not end a topic subscription of a closed socket')
      }
    }))
  }
}

function encodeFrame (data: OutgoingMessage): string | Uint8Array | ArrayBuffer {
  if (typeof data === 'string' || data instanceof Uint8Array || data instanceof ArrayBuffer) return data
  const json: string | undefined = JSON.stringify(data)
  if (json === undefined) throw new FST_NEX_WS_NOT_JSON(describeValue(data))
  return json
}
