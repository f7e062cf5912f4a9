/** Options of @nex/websocket: defaults, validation at register time, freezing. */
import type { FastifyRequest } from 'fastify'
import { describeValue, type EventLog } from '@nex/pubsub'
import { FST_NEX_WS_INVALID_OPTION } from './errors.js'
import { canonicalOrigin, isSameOrigin } from './lib/origin.js'

/** Decides whether a browser page of `origin` may open a WebSocket; may be async. */
export type OriginCheck = (origin: string, request: FastifyRequest) => boolean | Promise<boolean>

export interface RateLimitOptions {
  /** Messages a connection may send per `interval` (also the burst). @default 100 */
  messages?: number
  /** The window, in ms. @default 1000 */
  interval?: number
}

export interface WebSocketOptions {
  /** Largest message a client may send, in bytes; a bigger one closes the socket with 1009. @default 65_536 */
  maxPayload?: number
  /**
   * Messages per connection: a token bucket of `messages` refilled every `interval` ms. A client going
   * faster is closed with 1008 "rate limit". `false` turns the limit off.
   * @default { messages: 100, interval: 1000 }
   */
  rateLimit?: RateLimitOptions | false
  /**
   * Origins whose pages may connect (`'https://example.com'`), or a function deciding. An upgrade without
   * an `Origin` header (not a browser) is always allowed; others get 403.
   * @default same origin only: the Origin's host is the request's host (`request.host`)
   */
  allowedOrigins?: readonly string[] | OriginCheck
  /** Open WebSockets (and upgrades in progress) in all; past it upgrades get 503. @default 10_000 */
  maxConnections?: number
  /** Open WebSockets per client address (`request.ip`); past it upgrades get 503. @default 100 */
  maxConnectionsPerIp?: number
  /** Bytes waiting to be sent to one client before it counts as too slow and is terminated. @default 1_048_576 */
  maxBufferedBytes?: number
  /** Ms between pings; a socket that did not answer the previous ping is terminated. `0` turns pings off. @default 30_000 */
  heartbeat?: number
  /** Ms to wait for close handshakes (at shutdown, and after any close) before terminating. @default 1000 */
  closeTimeout?: number
  /**
   * The event log topics go through, e.g. `createRedisEventLog(...)` from @nex/redis for several processes.
   * Yours to close. @default the app's `nexTopics` (shared with @nex/sse), or an in-process log made it
   */
  topics?: EventLog
}

export interface NormalizedWebSocketOptions {
  readonly maxPayload: number
  readonly rateLimit: Readonly<Required<RateLimitOptions>> | null
  /** Whether a request with this (present) Origin header may upgrade. */
  readonly allowOrigin: OriginCheck
  readonly maxConnections: number
  readonly maxConnectionsPerIp: number
  readonly maxBufferedBytes: number
  readonly heartbeat: number
  readonly closeTimeout: number
  readonly topics: EventLog | undefined
}

export const DEFAULTS = Object.freeze({
  maxPayload: 65_536,
  rateLimit: Object.freeze({ messages: 100, interval: 1000 }),
  maxConnections: 10_000,
  maxConnectionsPerIp: 100,
  maxBufferedBytes: 1_048_576,
  heartbeat: 30_000,
  closeTimeout: 1000
})

const EVENT_LOG_METHODS = ['append', 'since', 'subscribe', 'close'] as const

export function normalizeOptions (options: WebSocketOptions = {}): NormalizedWebSocketOptions {
  return Object.freeze({
    maxPayload: positiveInteger('maxPayload', options.maxPayload, DEFAULTS.maxPayload),
    rateLimit: normalizeRateLimit(options.rateLimit),
    allowOrigin: normalizeAllowedOrigins(options.allowedOrigins),
    maxConnections: positiveInteger('maxConnections', options.maxConnections, DEFAULTS.maxConnections),
    maxConnectionsPerIp: positiveInteger('maxConnectionsPerIp', options.maxConnectionsPerIp, DEFAULTS.maxConnectionsPerIp),
    maxBufferedBytes: positiveInteger('maxBufferedBytes', options.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    heartbeat: options.heartbeat === 0 ? 0 : positiveInteger('heartbeat', options.heartbeat, DEFAULTS.heartbeat, 'a positive integer (ms), or 0 for no pings'),
    closeTimeout: positiveInteger('closeTimeout', options.closeTimeout, DEFAULTS.closeTimeout),
    topics: options.topics === undefined ? undefined : checkEventLog(options.topics)
  })
}

function normalizeRateLimit (value: unknown): NormalizedWebSocketOptions['rateLimit'] {
  if (value === false) return null
  if (value === undefined) return DEFAULTS.rateLimit
  if (typeof value !== 'object' || value === null) {
    throw new FST_NEX_WS_INVALID_OPTION('rateLimit', 'false or { messages, interval }', describe(value))
  }
  const { messages, interval } = value as RateLimitOptions
  return Object.freeze({
    messages: positiveInteger('rateLimit.messages', messages, DEFAULTS.rateLimit.messages),
    interval: positiveInteger('rateLimit.interval', interval, DEFAULTS.rateLimit.interval)
  })
}

function normalizeAllowedOrigins (value: unknown): OriginCheck {
  if (value === undefined) return (origin, request) => isSameOrigin(origin, request.host)
  if (typeof value === 'function') return value as OriginCheck
  if (!Array.isArray(value)) {
    throw new FST_NEX_WS_INVALID_OPTION('allowedOrigins', 'an array of origins or a function (origin, request) => boolean', describe(value))
  }
  const allowed = new Set<string>()
  for (const entry of value as unknown[]) {
    const canonical = typeof entry === 'string' ? canonicalOrigin(entry) : null
    if (canonical === null) {
      throw new FST_NEX_WS_INVALID_OPTION('allowedOrigins', 'a list of origins like "https://example.com" (scheme, host and port only)', describe(entry))
    }
    allowed.add(canonical)
  }
  return (origin) => {
    const canonical = canonicalOrigin(origin)
    return canonical !== null && allowed.has(canonical)
  }
}

function checkEventLog (value: unknown): EventLog {
  const missing = EVENT_LOG_METHODS.filter((name) => typeof (value as Record<string, unknown> | null)?.[name] !== 'function')
  if (missing.length > 0) {
    const got = typeof value === 'object' && value !== null ? `an object without ${missing.join(', ')}` : describe(value)
    throw new FST_NEX_WS_INVALID_OPTION('topics', 'an EventLog such as createMemoryEventLog() (methods append, since, subscribe, close)', got)
  }
  return value as EventLog
}

function positiveInteger (name: string, value: unknown, fallback: number, allowed = 'a positive integer'): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number
  throw new FST_NEX_WS_INVALID_OPTION(name, allowed, describe(value))
}

function describe (value: unknown): string {
  return typeof value === 'number' ? String(value) : describeValue(value)
}
