/**
 * Rate limits of @nex/security, built on @fastify/rate-limit: a fixed window per client IP (the key is
 * `request.ip`, so it follows Fastify's `trustProxy`), with 429 + `Retry-After` + `x-ratelimit-*`.
 *
 * The security plugin calls `registerRateLimits` inside its fastify-plugin wrapper (so the hooks reach every
 * route registered after it), before its CSRF hooks. It installs:
 * - an `onRoute` hook, added before @fastify/rate-limit's own, that reads each route's config once at
 *   startup and turns our markers into the library's per-route config: page actions
 *   (`config.nex.kind === 'action'`, from @nex/routes) get the actions limit, the unsafe methods of routes
 *   marked `config.rateLimit: 'login'` the login limit. `false` and `{ max, timeWindow, … }` objects are the
 *   library's own forms and are left to it. Per request, only the library's route-level `onRequest` runs;
 * - @fastify/rate-limit, with a store that keeps separate counters per class (memory: one bounded LRU per
 *   class; Redis: `<prefix><class>:<ip>`) and turns store failures into a coded 503 (or lets the request
 *   through, per the class's `skipOnError`), bounded in time even for a client without `commandTimeout`;
 * - with Redis, an `onError` hook that adds `Retry-After` to that 503, whatever error handler renders it.
 * Decorators (the library's): `fastify.rateLimit(options?)`, e.g. as the not-found handler's `preHandler`,
 * and `fastify.createRateLimit(options?)`.
 */
import { createRequire } from 'node:module'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fastifyRateLimit, { type errorResponseBuilderContext, type FastifyRateLimitStoreCtor, type RateLimitOptions as LibraryRouteLimit } from '@fastify/rate-limit'
import type { NormalizedRateLimitOptions, RateLimitClass, RateLimitRedisClient } from './rate-limit-options.js'
import {
  FST_NEX_SECURITY_RATE_LIMIT_BANNED,
  FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG,
  FST_NEX_SECURITY_RATE_LIMIT_MIXED_METHODS,
  FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE,
  FST_NEX_SECURITY_RATE_LIMITED
} from './rate-limit-errors.js'

/** Marks the per-route config of a class, so the store gives every route of the class the same counters. */
const kRouteClass = Symbol('@nex/security.rateLimitClass')

type RouteClass = 'actions' | 'login'
type StoreCallback = (error: Error | null, result?: { current: number, ttl: number }) => void

/** What @fastify/rate-limit asks of a store (its `.d.ts` leaves `read` out). */
interface Counter {
  incr (key: string, callback: StoreCallback, timeWindow: number, max: number): void
  read (key: string, callback: StoreCallback, timeWindow: number, max: number): void
  child (params: StoreParams): Counter
}

/** The merged per-route params @fastify/rate-limit hands to `store.child()`. */
interface StoreParams {
  continueExceeding?: boolean
  exponentialBackoff?: boolean
  cache?: number
  routeInfo?: { method?: string | string[], url?: string }
  [kRouteClass]?: RouteClass
}

/** Where counters live: memory or Redis. */
interface Counters {
  /** The counters of one class or one route (`name` keeps them apart in Redis). */
  create (name: string, params: StoreParams): Counter
  /** Wraps a store callback: a failure becomes FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE, and it always answers in time. */
  guard (callback: StoreCallback): StoreCallback
}

// The library's own stores, reused as they are: we only decide which counters a route shares and what a
// failure means. @fastify/rate-limit 11 has no exports map, so the paths resolve; should a later version
// close them, this fails at startup, not at the first request.
const require = createRequire(import.meta.url)
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache: number) => Counter
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, redis: RateLimitRedisClient, key: string) => Counter

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
/** Seconds in `Retry-After` on the 503 of an unavailable store: ioredis reconnects with a backoff capped at 5 s. */
const UNAVAILABLE_RETRY_AFTER = '5'
/** Bound on a store call when the Redis client has no `commandTimeout` of its own, in ms. */
const FALLBACK_COMMAND_TIMEOUT = 1000

/**
 * Installs the limits on `app` (the security plugin's fastify-plugin scope): only routes registered after
 * it are limited. The library's check is a route-level `onRequest` hook: it runs after every app-level
 * `onRequest` hook (whatever their registration order) and before body parsing, `preValidation` and
 * `preHandler`.
 */
export async function registerRateLimits (app: FastifyInstance, options: NormalizedRateLimitOptions): Promise<void> {
  const { limits, redis } = options
  const counters = redis === null ? memoryCounters(options.cache) : redisCounters(redis, options.prefix, app.log)

  // Before the library's onRoute (hooks run in registration order), so it sees the converted config.
  app.addHook('onRoute', routeClassifier(limits))
  if (redis !== null) app.addHook('onError', retryAfterOnUnavailable)

  await app.register(fastifyRateLimit, {
    global: options.global,
    max: limits.default.max,
    timeWindow: limits.default.timeWindow,
    skipOnError: limits.default.skipOnError,
    hook: 'onRequest',
    // Under the limit: the informative headers only when asked for (a 429 always gets them).
    addHeadersOnExceeding: { 'x-ratelimit-limit': options.headers, 'x-ratelimit-remaining': options.headers, 'x-ratelimit-reset': options.headers },
    ...(options.allowList === null ? {} : { allowList: options.allowList as LibraryRouteLimit['allowList'] }),
    store: storeConstructor(counters),
    errorResponseBuilder: rateLimitedError
  })
}

/**
 * The `onRoute` hook: page actions and the unsafe methods of login-like routes get their class's config;
 * anything else in `config.rateLimit` but `false` or an object is a startup error naming the route.
 */
function routeClassifier (limits: NormalizedRateLimitOptions['limits']): (route: RouteOptions) => void {
  const classConfig = {
    actions: routeLimit('actions', limits.actions),
    login: routeLimit('login', limits.login)
  }
  return function applyRateLimitClass (route) {
    const config = route.config as Record<string, unknown> | undefined
    const marker = config?.rateLimit
    if (marker === false || (typeof marker === 'object' && marker !== null)) return
    const methods = [route.method].flat()
    if (marker === 'login') {
      const unsafe = methods.filter((method) => !SAFE_METHODS.has(method)).length
      if (unsafe > 0 && unsafe < methods.length) throw new FST_NEX_SECURITY_RATE_LIMIT_MIXED_METHODS(describeRoute(methods, route.url))
      // A copy: a config object may be shared by several routes (a page's GET and HEAD, hand-written routes).
      route.config = { ...config, rateLimit: unsafe > 0 ? classConfig.login : undefined }
      return
    }
    if (marker !== undefined && marker !== null) {
      throw new FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG(describeRoute(methods, route.url), describeMarker(marker))
    }
    if ((config?.nex as { kind?: unknown } | undefined)?.kind === 'action') route.config = { ...config, rateLimit: classConfig.actions }
  }
}

function routeLimit (routeClass: RouteClass, limit: RateLimitClass): LibraryRouteLimit {
  return Object.freeze({ max: limit.max, timeWindow: limit.timeWindow, skipOnError: limit.skipOnError, [kRouteClass]: routeClass })
}

/**
 * The `store` @fastify/rate-limit constructs once: the default class's counters. `child()` is asked once
 * per route with a config object at startup; routes of one class get the one store of that class (the
 * library would give each route its own counters, and its `groupId` does not share them either).
 */
function storeConstructor (counters: Counters): FastifyRateLimitStoreCtor {
  const classes = new Map<RouteClass, Counter>()
  class ClassStore implements Counter {
    readonly #counter: Counter
    constructor (counter: Counter) {
      this.#counter = counter
    }

    incr (key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      this.#counter.incr(key, counters.guard(callback), timeWindow, max)
    }

    read (key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      this.#counter.read(key, counters.guard(callback), timeWindow, max)
    }

    child (params: StoreParams): Counter {
      const routeClass = params[kRouteClass]
      if (routeClass === undefined) return new ClassStore(counters.create(routeName(params.routeInfo), params))
      let store = classes.get(routeClass)
      if (store === undefined) {
        store = new ClassStore(counters.create(routeClass, params))
        classes.set(routeClass, store)
      }
      return store
    }
  }
  return class DefaultClassStore extends ClassStore {
    constructor () {
      super(counters.create('default', {}))
    }
  } as unknown as FastifyRateLimitStoreCtor
}

function memoryCounters (cache: number): Counters {
  return {
    create: (_name, params) => new LocalStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false, params.cache ?? cache),
    // The in-memory store never fails and answers synchronously.
    guard: (callback) => callback
  }
}

function redisCounters (client: RateLimitRedisClient, prefix: string, log: FastifyBaseLogger): Counters {
  const timeout = client.options?.commandTimeout === undefined ? FALLBACK_COMMAND_TIMEOUT : null
  // One warning per outage, not one per request; one line when it is over.
  let failing = false
  return {
    create: (name, params) => new RedisStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false, client, `${prefix}${name}:`),
    guard (callback) {
      let settled = false
      const timer = timeout === null ? null : setTimeout(() => settle(new Error(`no answer from Redis within ${timeout} ms`)), timeout)
      function settle (error: Error | null, result?: { current: number, ttl: number }): void {
        if (settled) return
        settled = true
        if (timer !== null) clearTimeout(timer)
        if (error === null) {
          if (failing) {
            failing = false
            log.info('@nex/security: the rate-limit store answers again')
          }
          callback(null, result)
          return
        }
        if (!failing) {
          failing = true
          log.warn({ err: error }, '@nex/security: the rate-limit store (Redis) failed; routes with skipOnError: false ' +
            '(login-like by default) answer 503, the others are not limited until it is back')
        }
        callback(new FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE({ cause: error }))
      }
      return settle
    }
  }
}

function retryAfterOnUnavailable (_request: FastifyRequest, reply: FastifyReply, error: FastifyError, done: () => void): void {
  if (error instanceof FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', UNAVAILABLE_RETRY_AFTER)
  }
  done()
}

/** The 429 (or 403 past a route's `ban`): a coded error for the app's error handler; the library has set the headers. */
function rateLimitedError (_request: FastifyRequest, context: errorResponseBuilderContext): FastifyError {
  return context.ban ? new FST_NEX_SECURITY_RATE_LIMIT_BANNED() : new FST_NEX_SECURITY_RATE_LIMITED(context.after)
}

function routeName (route: StoreParams['routeInfo']): string {
  return `route:${[route?.method ?? '*'].flat().join(',')}:${route?.url ?? '*'}`
}

function describeRoute (methods: readonly string[], url: string): string {
  return `${methods.join(',')} ${url}`
}

function describeMarker (marker: unknown): string {
  return typeof marker === 'string' ? JSON.stringify(marker.slice(0, 40)) : `${typeof marker} ${String(marker).slice(0, 40)}`
}
