/** Options of @nex/sse: defaults, validation at register time, freezing. */
import type { EventLog } from '@nex/pubsub'
import { FST_NEX_SSE_INVALID_OPTION } from './errors.js'
import type { AllowedOrigins } from './lib/origin.js'

export interface SseOptions {
  /**
   * Topics: ids, replay buffer and delivery (across processes with the Redis log from `redisFromEnv()`).
   * @default the app's shared `nexTopics` log, or a new in-process one
   */
  topics?: EventLog
  /**
   * Interval of heartbeat comments in ms. Keep it below the server's `connectionTimeout` (checked at
   * startup) and below proxies' idle timeouts; a stream that had nothing to send for this long gets `:`.
   * @default 15_000
   */
  heartbeat?: number
  /**
   * Bytes one stream may have waiting to be sent. A client that stops reading is dropped when it passes
   * this, or when nothing it was sent drained for two heartbeats.
   * @default 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number
  /** Streams open at once in this process; 503 with Retry-After beyond it. @default 10_000 */
  maxStreams?: number
  /** Streams open at once per client IP (`request.ip`: set Fastify's `trustProxy` behind a proxy). @default 100 */
  maxStreamsPerIp?: number
  /** Origins besides the page's own that may open streams: a list of origins or a function. @default 'same' */
  allowedOrigins?: AllowedOrigins
  /** `retry:` (ms) sent with the shutdown event: how long browsers wait before reconnecting elsewhere. @default 1000 */
  shutdownRetry?: number
  /** Seconds in `Retry-After` of the 503s past a stream limit or during shutdown. @default 5 */
  retryAfter?: number
}

export interface NormalizedSseOptions {
  readonly topics: EventLog | undefined
  readonly heartbeat: number
  readonly maxBufferedBytes: number
  readonly maxStreams: number
  readonly maxStreamsPerIp: number
  readonly allowedOrigins: AllowedOrigins
  readonly shutdownRetry: number
  readonly retryAfter: number
}

export const DEFAULTS = Object.freeze({
  heartbeat: 15_000,
  maxBufferedBytes: 1_048_576,
  maxStreams: 10_000,
  maxStreamsPerIp: 100,
  allowedOrigins: 'same' as AllowedOrigins,
  shutdownRetry: 1000,
  retryAfter: 5
})

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

function integer (options: SseOptions, name: keyof typeof DEFAULTS, min: number): number {
  const value = options[name]
  if (value === undefined) return DEFAULTS[name] as number
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new FST_NEX_SSE_INVALID_OPTION(name, `an integer ≥ ${min}`, describe(value))
  }
  return value
}

function origins (value: unknown): AllowedOrigins {
  if (value === undefined || value === 'same' || typeof value === 'function') return (value ?? 'same') as AllowedOrigins
  if (Array.isArray(value) && value.every(item => typeof item === 'string' && /^https?:\/\/[^/]+$/.test(item))) return Object.freeze([...value] as string[])
  throw new FST_NEX_SSE_INVALID_OPTION('allowedOrigins', '"same", an array of origins like "https://example.com" (no path), or a function', describe(value))
}

const EVENT_LOG_METHODS = ['append', 'since', 'subscribe', 'close'] as const

export function normalizeOptions (options: SseOptions = {}): NormalizedSseOptions {
  const topics = options.topics
  if (topics !== undefined && (typeof topics !== 'object' || topics === null || EVENT_LOG_METHODS.some(m => typeof (topics as unknown as Record<string, unknown>)[m] !== 'function'))) {
    throw new FST_NEX_SSE_INVALID_OPTION('topics', 'an EventLog (createMemoryEventLog() from @nex/pubsub, createRedisEventLog() from @nex/redis)', describe(topics))
  }
  return Object.freeze({
    topics,
    heartbeat: integer(options, 'heartbeat', 10),
    maxBufferedBytes: integer(options, 'maxBufferedBytes', 1024),
    maxStreams: integer(options, 'maxStreams', 1),
    maxStreamsPerIp: integer(options, 'maxStreamsPerIp', 1),
    allowedOrigins: origins(options.allowedOrigins),
    shutdownRetry: integer(options, 'shutdownRetry', 0),
    retryAfter: integer(options, 'retryAfter', 0)
  })
}
