/**
 * Options of the rate limits of @nex/security: defaults, validation once at `register`, freezing.
 *
 * Three classes of routes, each with its own counters per client IP:
 * - default: every route (page GETs, API routes, assets) without a class or a per-route config;
 * - actions: page action routes (`config.nex.kind === 'action'`, set by @nex/routes);
 * - login: the unsafe methods of routes marked `config.rateLimit: 'login'`.
 */
import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { normalizeIP } from '@fastify/rate-limit'
import { FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION } from './rate-limit-errors.js'

/** The limit of one class of routes: a fixed window per client IP (`request.ip`). */
export interface RateLimitClassOptions {
  /** Requests one client IP may make per window; the next one gets 429 with `Retry-After`. */
  max?: number
  /** Length of the (fixed) window in ms. */
  timeWindow?: number
  /**
   * What a request does when the store fails (Redis down or stalled past its `commandTimeout`):
   * `true` lets it through unlimited (fail open), `false` answers 503 with `Retry-After` (fail closed).
   * Never a 500, never a hang.
   */
  skipOnError?: boolean
}

/**
 * The ioredis client the limits share when they live in Redis (what @fastify/rate-limit needs of it).
 * The client is yours: the plugin never connects or closes it. Use fail-fast options
 * (`enableOfflineQueue: false`, `commandTimeout`, `maxRetriesPerRequest: 1`), as `redisFromEnv()` does.
 */
export interface RateLimitRedisClient {
  defineCommand (name: string, definition: { lua: string, numberOfKeys?: number }): void
  readonly options?: { readonly commandTimeout?: number | undefined }
}

/** Decides per request that a client is never limited (e.g. a metrics scraper). `key` is its normalized IP. */
export type RateLimitAllowListFunction = (request: FastifyRequest, key: string) => boolean | Promise<boolean>

export interface RateLimitOptions {
  /**
   * Limit every route by default (with `max`, `timeWindow`, `skipOnError` below). With `false`, only page
   * actions, login-like routes and routes with their own `config.rateLimit` object are limited.
   * @default true
   */
  global?: boolean
  /** Requests per client IP per window on routes of the default class. @default 600 */
  max?: number
  /** Window of the default class in ms. @default 60_000 (1 minute) */
  timeWindow?: number
  /**
   * Default class when the store fails: `true` lets requests through (fail open), so a Redis outage does
   * not take every page down. Also the default of per-route `config.rateLimit` objects. @default true
   */
  skipOnError?: boolean
  /**
   * Page actions (`POST|PUT|PATCH|DELETE <page>?/<name>`).
   * @default { max: 120, timeWindow: 60_000, skipOnError: true }
   */
  actions?: RateLimitClassOptions
  /**
   * Unsafe methods of routes marked `config.rateLimit: 'login'` (the GET of the same page stays in the
   * default class, so reloading the form never uses up attempts).
   * @default { max: 10, timeWindow: 600_000, skipOnError: false } (fail closed: no unlimited guessing while Redis is down)
   */
  login?: RateLimitClassOptions
  /**
   * An ioredis client: counters live in Redis and are shared by every process of the app. Without it
   * each process counts in memory (a bounded LRU per class). @default null
   */
  redis?: RateLimitRedisClient | null
  /** Prefix of the Redis keys (`<prefix><class>:<ip>`). @default 'nex:rate-limit:' */
  prefix?: string
  /**
   * Client IPs never limited (e.g. a metrics scraper), or a function deciding per request. IPv6 entries
   * match their /64, like the key. Health and metrics routes are better opted out per route with
   * `config: { rateLimit: false }`. @default none
   */
  allowList?: readonly string[] | RateLimitAllowListFunction | null
  /** Client IPs remembered per class by the in-memory store (least recently seen evicted). @default 5000 */
  cache?: number
  /**
   * Send `x-ratelimit-limit`, `-remaining` and `-reset` on responses under the limit too (API clients that
   * pace themselves read them). Off by default: three headers on every page and fragment a browser never
   * reads. A 429 always carries them and `Retry-After`. @default false
   */
  headers?: boolean
}

/** One class's limit, every field set. */
export type RateLimitClass = Readonly<Required<RateLimitClassOptions>>

export type NormalizedRateLimitOptions = Readonly<{
  global: boolean
  limits: Readonly<{ default: RateLimitClass, actions: RateLimitClass, login: RateLimitClass }>
  redis: RateLimitRedisClient | null
  prefix: string
  /** Normalized IPs (IPv6 to its /64, as the key), a function, or null for none. */
  allowList: readonly string[] | RateLimitAllowListFunction | null
  cache: number
  headers: boolean
}>

export const RATE_LIMIT_DEFAULTS = Object.freeze({
  global: true,
  max: 600,
  timeWindow: 60_000,
  skipOnError: true,
  actions: Object.freeze({ max: 120, timeWindow: 60_000, skipOnError: true }),
  login: Object.freeze({ max: 10, timeWindow: 600_000, skipOnError: false }),
  redis: null,
  prefix: 'nex:rate-limit:',
  allowList: null,
  cache: 5000,
  headers: false
})

// @fastify/rate-limit's default key masks IPv6 addresses to their /64; allowList entries are matched the same way.
const IPV6_SUBNET = 64
const TOP_LEVEL_KEYS = new Set(['global', 'max', 'timeWindow', 'skipOnError', 'actions', 'login', 'redis', 'prefix', 'allowList', 'cache', 'headers'])
const CLASS_KEYS = new Set(['max', 'timeWindow', 'skipOnError'])

/** Validates and freezes the options once; `false` turns rate limiting off. Throws coded TypeErrors. */
export function normalizeRateLimitOptions (input: RateLimitOptions | false | undefined): NormalizedRateLimitOptions | false {
  if (input === false) return false
  const options = input ?? {}
  checkKeys('rateLimit', options, TOP_LEVEL_KEYS)
  return Object.freeze({
    global: optionalBoolean('rateLimit.global', options.global, RATE_LIMIT_DEFAULTS.global),
    limits: Object.freeze({
      default: normalizeClass('rateLimit', options, RATE_LIMIT_DEFAULTS),
      actions: normalizeClass('rateLimit.actions', options.actions, RATE_LIMIT_DEFAULTS.actions),
      login: normalizeClass('rateLimit.login', options.login, RATE_LIMIT_DEFAULTS.login)
    }),
    redis: normalizeRedis(options.redis),
    prefix: normalizePrefix(options.prefix),
    allowList: normalizeAllowList(options.allowList),
    cache: positiveInteger('rateLimit.cache', options.cache, RATE_LIMIT_DEFAULTS.cache, 'a positive integer (client IPs kept per class)'),
    headers: optionalBoolean('rateLimit.headers', options.headers, RATE_LIMIT_DEFAULTS.headers)
  })
}

function normalizeClass (name: string, value: RateLimitClassOptions | undefined, defaults: RateLimitClass): RateLimitClass {
  if (value === undefined) return defaults
  if (name !== 'rateLimit') checkKeys(name, value, CLASS_KEYS)
  return Object.freeze({
    max: positiveInteger(`${name}.max`, value.max, defaults.max, 'a positive integer (requests per client IP per window)'),
    timeWindow: positiveInteger(`${name}.timeWindow`, value.timeWindow, defaults.timeWindow, 'a positive integer of milliseconds, e.g. 60_000'),
    skipOnError: optionalBoolean(`${name}.skipOnError`, value.skipOnError, defaults.skipOnError)
  })
}

function normalizeRedis (value: unknown): RateLimitRedisClient | null {
  if (value === undefined || value === null) return null
  if (typeof (value as Partial<RateLimitRedisClient>).defineCommand === 'function') return value as RateLimitRedisClient
  throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION('rateLimit.redis', 'an ioredis client (e.g. redisFromEnv().client) or null', describe(value))
}

function normalizePrefix (value: unknown): string {
  if (value === undefined) return RATE_LIMIT_DEFAULTS.prefix
  if (typeof value === 'string' && value !== '') return value
  throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION('rateLimit.prefix', 'a non-empty string such as \'myapp:rate-limit:\'', describe(value))
}

function normalizeAllowList (value: unknown): readonly string[] | RateLimitAllowListFunction | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'function') return value as RateLimitAllowListFunction
  if (!Array.isArray(value)) {
    throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION('rateLimit.allowList', 'an array of IP addresses or a function (request, key) => boolean', describe(value))
  }
  const ips = value.map((entry: unknown, i) => {
    if (typeof entry === 'string' && isIP(entry) !== 0) return normalizeIP(entry, IPV6_SUBNET)
    throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION(`rateLimit.allowList[${i}]`, 'an IP address (ranges are not supported: pass a function to match them)', describe(entry))
  })
  return ips.length === 0 ? null : Object.freeze(ips)
}

function checkKeys (name: string, value: unknown, allowed: ReadonlySet<string>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = name === 'rateLimit' ? 'an options object, or false to turn rate limiting off' : 'an object { max, timeWindow, skipOnError }'
    throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION(name, what, describe(value))
  }
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION(`${name}.${key}`, `one of the known options (${[...allowed].join(', ')})`, 'an unknown option')
    }
  }
}

function positiveInteger (name: string, value: unknown, fallback: number, allowed: string): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number
  throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION(name, allowed, describe(value))
}

function optionalBoolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value === 'boolean') return value
  throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION(name, 'true or false', describe(value))
}

// Short, and never a whole object dump: option errors end up in logs.
function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return `a ${typeof value}`
}
