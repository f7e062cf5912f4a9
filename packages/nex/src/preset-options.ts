/** Options of the `nex` preset: one entry per plugin (its options, or `false` to leave it out). */
import type { FastifyUnderPressureOptions as UnderPressureOptions } from '@fastify/under-pressure'
import type { StateOptions } from '@nex/state'
import type { SessionOptions } from '@nex/session'
import type { SseOptions } from '@nex/sse'
import type { WebSocketOptions } from '@nex/websocket'
import type { RoutesOptions } from '@nex/routes'
import type { SecurityOptions } from '@nex/security'
import type { MetricsOptions } from '@nex/metrics'
import type { RedisBackends } from '@nex/redis'
import type { HealthOptions } from './health-options.js'
import type { ErrorHandlerOptions } from './error-handler.js'
import type { StaticOptions } from './static-files.js'
import type { CompressionOptions } from './compression.js'
import { FST_NEX_INVALID_OPTION } from './errors.js'

export interface NexOptions {
  /** The app's folder: file routes in `<dir>/src` (pages, api), static files in `<dir>/public`. */
  dir: string
  /**
   * The app secret (≥ 32 characters; an array rotates: the first signs, all verify) shared by page ids,
   * sessions and CSRF tokens. @default env.NEX_SECRET; outside production a random per-process secret
   */
  secret?: string | readonly string[]
  /** Where `NODE_ENV`, `NEX_SECRET` and `REDIS_URL` are read. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Development mode: error details in responses. @default env.NODE_ENV !== 'production' */
  dev?: boolean
  /**
   * The Redis backends (page and session stores, topics, rate-limit counters), or null for the in-process
   * defaults. The caller owns what it passes. @default redisFromEnv({ env }): Redis when REDIS_URL is set
   */
  redis?: RedisBackends | null
  /** The app-wide error handler (HTML, htmx fragment or JSON by request kind). */
  errors?: Omit<ErrorHandlerOptions, 'dev'> | false
  /** `/healthz` and `/readyz` (page-store ping, draining during shutdown). */
  health?: HealthOptions | false
  /** Prometheus `/metrics`. */
  metrics?: MetricsOptions | false
  /**
   * Load shedding by @fastify/under-pressure: 503 + `Retry-After` while the process is overloaded.
   * @default { maxEventLoopDelay: 1000, retryAfter: 5 }
   */
  underPressure?: UnderPressureOptions | false
  /** CSP with nonces, CSRF, rate limits, host and redirect guards (@nex/security). */
  security?: SecurityOptions | false
  /** Compression of responses over a threshold. */
  compress?: CompressionOptions | false
  /** Page state (@nex/state); the store is Redis's when `redis` has one. */
  state?: StateOptions | false
  /** Sessions and flash messages (@nex/session); nothing is stored until a request writes. */
  session?: SessionOptions | false
  /** Server-sent events (@nex/sse); topics are Redis's when `redis` has them. */
  sse?: SseOptions | false
  /** WebSockets (@nex/websocket). */
  websocket?: WebSocketOptions | false
  /** File routes (@nex/routes) from `<dir>/src`. */
  routes?: Omit<RoutesOptions, 'dir'> | false
  /** Static files from `<dir>/public`. */
  static?: Omit<StaticOptions, 'root'> | false
}

/**
 * Load shedding thresholds. An event loop delayed by a second means requests already wait longer than
 * any user would: refusing new ones (503, retry in 5 s) lets the queued ones finish and a load balancer
 * move traffic. Event-loop utilisation is not a default: a process serving at full speed sits near 100%
 * while its latency is still fine, and shedding there would cut throughput at its peak (measured: the
 * counter benchmark got 503s at 0.98). Memory limits are left to the platform (container limits).
 */
export const UNDER_PRESSURE_DEFAULTS = Object.freeze({
  maxEventLoopDelay: 1000,
  retryAfter: 5
})

export interface NormalizedNexOptions extends Omit<NexOptions, 'env' | 'dev' | 'underPressure' | 'security' | 'errors'> {
  readonly env: NodeJS.ProcessEnv
  readonly dev: boolean
  readonly underPressure: UnderPressureOptions | false
  readonly security: SecurityOptions | false
  readonly errors: Omit<ErrorHandlerOptions, 'dev'> | false
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

const PARTS = ['errors', 'health', 'metrics', 'underPressure', 'security', 'compress', 'state', 'session', 'sse', 'websocket', 'routes', 'static'] as const
const KEYS: ReadonlySet<string> = new Set(['dir', 'secret', 'env', 'dev', 'redis', ...PARTS])

export function normalizePresetOptions (options: NexOptions): NormalizedNexOptions {
  if (options === null || typeof options !== 'object') throw new FST_NEX_INVALID_OPTION('options', 'an object with at least `dir`', describe(options))
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new FST_NEX_INVALID_OPTION('dir', "the app's folder (holding src/ and public/), e.g. import.meta.dirname", describe(options.dir))
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) {
      const hint = key === 'server' ? ' (server options go to createApp() or createServer(), not to the preset)' : ''
      throw new FST_NEX_INVALID_OPTION(key, `one of ${[...KEYS].join(', ')}${hint}`, 'an unknown option')
    }
  }
  if (options.dev !== undefined && typeof options.dev !== 'boolean') throw new FST_NEX_INVALID_OPTION('dev', 'a boolean', describe(options.dev))
  if (options.redis !== undefined && options.redis !== null && (typeof options.redis !== 'object' || typeof options.redis.close !== 'function')) {
    throw new FST_NEX_INVALID_OPTION('redis', 'the backends of redisFromEnv() (or null for the in-process defaults)', describe(options.redis))
  }
  for (const part of PARTS) {
    const value = options[part]
    if (value !== undefined && value !== false && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new FST_NEX_INVALID_OPTION(part, 'an options object for that plugin, or false to leave it out', describe(value))
    }
  }
  const env = options.env ?? process.env
  return Object.freeze({
    ...options,
    env,
    dev: options.dev ?? env.NODE_ENV !== 'production',
    underPressure: options.underPressure === false ? false : { ...UNDER_PRESSURE_DEFAULTS, ...options.underPressure },
    security: options.security === false ? false : { ...options.security },
    errors: options.errors === false ? false : { ...options.errors }
  })
}
