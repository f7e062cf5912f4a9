/** Options of @nex/session: defaults, validation at register time, freezing. */
import { describeNonPageStore, describeValue, PAGE_STORE_METHODS, resolveSecrets, type PageStore } from '@nex/state'
import { FST_NEX_SESSION_INVALID_OPTION } from './errors.js'

export type SessionBackend = 'store' | 'cookie'

export interface SessionOptions {
  /**
   * The app secret (at least 32 characters) the session ids are signed with (and, for the cookie
   * backend, the encryption key derived from). An array rotates: the first signs, all verify.
   * @default process.env.NEX_SECRET; outside production a random per-process secret (with a warning)
   */
  secret?: string | readonly string[]
  /**
   * Where sessions live: `'store'` (a page store: memory by default, or `store`) or `'cookie'` (the data,
   * encrypted, in the cookie itself via @fastify/secure-session: no server memory, no revocation).
   * @default 'store'
   */
  backend?: SessionBackend
  /**
   * The session store, e.g. `createRedisStore({ client, namespace: 'session', ttl })`. A store you pass is
   * yours: the plugin never closes it and ignores `ttl`/`max*` (configure the store instead).
   * @default a memory store built from `ttl`, `maxSessions`, `maxSessionBytes`, `maxBytes`, closed with the app
   */
  store?: PageStore
  /** Idle lifetime of a session in ms: its memory-store TTL, or how long a cookie session stays valid. @default 86_400_000 (24 h) */
  ttl?: number
  /** Most sessions the memory store holds; the least recently used is evicted beyond it. @default 100_000 */
  maxSessions?: number
  /** Most bytes one session may hold in the memory store; a bigger write fails with 413. @default 16_384 */
  maxSessionBytes?: number
  /** Most bytes all sessions may hold in the memory store; least recently used ones are evicted beyond it. @default 67_108_864 */
  maxBytes?: number
  /** Name of the session cookie. @default 'nex_session' */
  cookieName?: string
  /** `Secure` cookie attribute: `'auto'` sets it when the request came over TLS (`request.protocol`). @default 'auto' */
  secure?: 'auto' | boolean
  /** Lifetime of the cookie in the browser, in ms from when it is set. @default undefined (a browser-session cookie) */
  maxAge?: number
}

export interface NormalizedSessionOptions {
  readonly secrets: readonly [string, ...string[]]
  /** True when no secret was configured and a per-process one was generated. */
  readonly secretGenerated: boolean
  readonly backend: SessionBackend
  readonly store: PageStore | null
  readonly ttl: number
  readonly maxSessions: number
  readonly maxSessionBytes: number
  readonly maxBytes: number
  readonly cookieName: string
  readonly secure: 'auto' | boolean
  readonly maxAge: number | undefined
}

export const DEFAULTS = Object.freeze({
  backend: 'store' as SessionBackend,
  ttl: 86_400_000,
  maxSessions: 100_000,
  maxSessionBytes: 16_384,
  maxBytes: 67_108_864,
  cookieName: 'nex_session',
  secure: 'auto' as 'auto' | boolean
})

const BACKENDS: ReadonlySet<unknown> = new Set(['store', 'cookie'])
// RFC 6265 cookie-name: an HTTP token.
const COOKIE_NAME = /^[!#$%&'*+\-.^`|~\w]+$/

export function normalizeOptions (options: SessionOptions = {}, env: NodeJS.ProcessEnv = process.env): NormalizedSessionOptions {
  const { secrets, generated } = resolveSecrets(options.secret, env)
  const backend = options.backend ?? DEFAULTS.backend
  if (!BACKENDS.has(backend)) throw new FST_NEX_SESSION_INVALID_OPTION('backend', '"store" or "cookie"', describeValue(backend))
  const store = options.store === undefined ? null : checkStore(options.store)
  if (store !== null && backend === 'cookie') {
    throw new FST_NEX_SESSION_INVALID_OPTION('store', 'left out with backend "cookie" (the cookie is the store)', 'a store')
  }
  const maxBytes = positiveInteger('maxBytes', options.maxBytes, DEFAULTS.maxBytes)
  const maxSessionBytes = positiveInteger('maxSessionBytes', options.maxSessionBytes, DEFAULTS.maxSessionBytes)
  if (maxSessionBytes > maxBytes) {
    throw new FST_NEX_SESSION_INVALID_OPTION('maxSessionBytes', `at most maxBytes (${maxBytes})`, String(maxSessionBytes))
  }
  const secure = options.secure ?? DEFAULTS.secure
  if (secure !== 'auto' && typeof secure !== 'boolean') {
    throw new FST_NEX_SESSION_INVALID_OPTION('secure', '"auto", true or false', describeValue(secure))
  }
  return Object.freeze({
    secrets,
    secretGenerated: generated,
    backend,
    store,
    ttl: positiveInteger('ttl', options.ttl, DEFAULTS.ttl),
    maxSessions: positiveInteger('maxSessions', options.maxSessions, DEFAULTS.maxSessions),
    maxSessionBytes,
    maxBytes,
    cookieName: checkCookieName(options.cookieName),
    secure,
    maxAge: options.maxAge === undefined ? undefined : positiveInteger('maxAge', options.maxAge, 0)
  })
}

function checkStore (store: unknown): PageStore {
  const problem = describeNonPageStore(store)
  if (problem !== null) {
    throw new FST_NEX_SESSION_INVALID_OPTION(
      'store',
      `a PageStore instance such as createRedisStore({ client, namespace: 'session' }) (methods ${PAGE_STORE_METHODS.join(', ')})`,
      problem
    )
  }
  return store as PageStore
}

function checkCookieName (value: unknown): string {
  if (value === undefined) return DEFAULTS.cookieName
  if (typeof value === 'string' && COOKIE_NAME.test(value)) return value
  throw new FST_NEX_SESSION_INVALID_OPTION('cookieName', 'a cookie name (letters, digits and !#$%&\'*+-.^_`|~)', describeValue(value))
}

function positiveInteger (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number
  throw new FST_NEX_SESSION_INVALID_OPTION(name, 'a positive integer', describeValue(value))
}
