/** Options of @nex/state and of its memory store: defaults, validation at register time, freezing. */
import { randomBytes } from 'node:crypto'
import {
  FST_NEX_STATE_INVALID_OPTION,
  FST_NEX_STATE_MISSING_SECRET,
  FST_NEX_STATE_WEAK_SECRET
} from './errors.js'
import type { FastifyRequest } from 'fastify'
import type { PageStore } from './types.js'
import { describeNonPageStore, describeValue, PAGE_STORE_METHODS } from './lib/describe.js'

export interface MemoryStoreOptions {
  /** Sliding lifetime of a page in ms, renewed by every write and `touch`. @default 3_600_000 (1 h) */
  ttl?: number
  /** Most pages held; the least recently used page is evicted beyond it. @default 10_000 */
  maxPages?: number
  /** Most bytes one page may hold (keys, JSON values, overhead); bigger writes fail with 413. @default 65_536 */
  maxPageBytes?: number
  /** Most bytes all pages may hold; least recently used pages are evicted beyond it. @default 67_108_864 */
  maxBytes?: number
}

export interface StateOptions extends MemoryStoreOptions {
  /**
   * Secret that signs page ids, at least 32 characters. An array rotates secrets: the first signs, all
   * verify. @default process.env.NEX_SECRET; outside production a random per-process secret (with a warning)
   */
  secret?: string | readonly string[]
  /**
   * Where page state lives, e.g. `createRedisStore({ client })`. A store you pass is yours: the plugin
   * never closes it, and ignores `ttl`/`max*` (configure the store instead).
   * @default a memory store built from `ttl`, `maxPages`, `maxPageBytes`, `maxBytes`, closed with the app
   */
  store?: PageStore
  /** Request header that carries the page id on htmx requests. @default 'x-nex-page-id' */
  header?: string
  /** Form field that carries the page id on plain (no-JS) form posts. @default '_nex_page' */
  field?: string
  /** Seconds sent in `Retry-After` with the 503 of an unavailable store (e.g. Redis down). @default 1 */
  retryAfter?: number
  /**
   * Most pages one session keeps state for (RELIABILITY §5.3): past it, the state of its least recently
   * used pages is deleted, so one user's tabs (or a script with a login) cannot fill the store. Needs a
   * store with `claim` (memory and Redis stores have it); `false` turns the cap off. Pages of anonymous
   * visitors are not capped per visitor (they have no session): `maxPages`/`maxBytes` or Redis's
   * `maxmemory`, the TTL and the rate limits bound them. @default 20
   */
  maxPagesPerSession?: number | false
  /**
   * The session a request belongs to, for `maxPagesPerSession`, or null when anonymous. Called only for a
   * request that carried or wrote a page. @default `request.session?.id` (@nex/session), else null
   */
  sessionOf?: (request: FastifyRequest) => string | null | undefined
}

export interface NormalizedOptions {
  readonly secrets: readonly [string, ...string[]]
  /** True when no secret was configured and a per-process one was generated. */
  readonly secretGenerated: boolean
  readonly store: PageStore | null
  readonly memory: Readonly<Required<MemoryStoreOptions>>
  readonly header: string
  readonly field: string
  readonly retryAfter: number
  /** 0 when the cap is off. */
  readonly maxPagesPerSession: number
  readonly sessionOf: (request: FastifyRequest) => string | null | undefined
}

export const DEFAULTS = Object.freeze({
  ttl: 3_600_000,
  maxPages: 10_000,
  maxPageBytes: 65_536,
  maxBytes: 67_108_864,
  header: 'x-nex-page-id',
  field: '_nex_page',
  retryAfter: 1,
  maxPagesPerSession: 20
})

const MIN_SECRET_LENGTH = 32
const HEADER_NAME = /^[!#$%&'*+.^_`|~\w-]+$/
// One per process, so several apps in one process (tests, workers) agree on ids.
let processSecret: string | undefined

export function normalizeOptions (options: StateOptions = {}, env: NodeJS.ProcessEnv = process.env): NormalizedOptions {
  const { secrets, generated } = resolveSecrets(options.secret, env)
  return Object.freeze({
    secrets,
    secretGenerated: generated,
    store: options.store === undefined ? null : checkStore(options.store),
    memory: normalizeMemoryStoreOptions(options),
    header: checkHeader(options.header),
    field: checkString('field', options.field, DEFAULTS.field),
    retryAfter: positiveInteger('retryAfter', options.retryAfter, DEFAULTS.retryAfter),
    maxPagesPerSession: options.maxPagesPerSession === false
      ? 0
      : positiveInteger('maxPagesPerSession', options.maxPagesPerSession, DEFAULTS.maxPagesPerSession),
    sessionOf: checkSessionOf(options.sessionOf)
  })
}

/** @nex/session's `request.session.id`: null for an anonymous visitor, and without the plugin. */
function sessionIdOf (request: FastifyRequest): string | null {
  const session = (request as { session?: { id?: unknown } }).session
  return typeof session?.id === 'string' ? session.id : null
}

function checkSessionOf (value: unknown): (request: FastifyRequest) => string | null | undefined {
  if (value === undefined) return sessionIdOf
  if (typeof value === 'function') return value as (request: FastifyRequest) => string | null | undefined
  throw new FST_NEX_STATE_INVALID_OPTION('sessionOf', 'a function (request) => session id or null', describeValue(value))
}

export function normalizeMemoryStoreOptions (options: MemoryStoreOptions = {}): Readonly<Required<MemoryStoreOptions>> {
  const maxBytes = positiveInteger('maxBytes', options.maxBytes, DEFAULTS.maxBytes)
  const maxPageBytes = positiveInteger('maxPageBytes', options.maxPageBytes, DEFAULTS.maxPageBytes)
  if (maxPageBytes > maxBytes) {
    throw new FST_NEX_STATE_INVALID_OPTION('maxPageBytes', `at most maxBytes (${maxBytes})`, String(maxPageBytes))
  }
  return Object.freeze({
    ttl: positiveInteger('ttl', options.ttl, DEFAULTS.ttl),
    maxPages: positiveInteger('maxPages', options.maxPages, DEFAULTS.maxPages),
    maxPageBytes,
    maxBytes
  })
}

/**
 * The secrets to sign with: the option, else NEX_SECRET, else (outside production) one random secret per
 * process; in production a missing secret throws FST_NEX_STATE_MISSING_SECRET. Shared by Nex plugins.
 */
export function resolveSecrets (option: unknown, env: NodeJS.ProcessEnv = process.env): { secrets: [string, ...string[]], generated: boolean } {
  if (option !== undefined) {
    const list: unknown[] = Array.isArray(option) ? option : [option]
    const [first, ...rest] = list
    if (first === undefined || !list.every((secret) => typeof secret === 'string')) {
      throw new FST_NEX_STATE_INVALID_OPTION('secret', 'a string or a non-empty array of strings', describeValue(option))
    }
    list.forEach((secret, i) => checkSecretLength(Array.isArray(option) ? `option "secret[${i}]"` : 'option "secret"', secret as string))
    return { secrets: [first as string, ...rest as string[]], generated: false }
  }
  const fromEnv = env.NEX_SECRET
  if (fromEnv !== undefined && fromEnv !== '') {
    checkSecretLength('NEX_SECRET', fromEnv)
    return { secrets: [fromEnv], generated: false }
  }
  if (env.NODE_ENV === 'production') throw new FST_NEX_STATE_MISSING_SECRET()
  processSecret ??= randomBytes(32).toString('base64url')
  return { secrets: [processSecret], generated: true }
}

// Never echoes the secret itself: error messages end up in logs.
function checkSecretLength (source: string, secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) throw new FST_NEX_STATE_WEAK_SECRET(source, secret.length)
}

function checkStore (store: unknown): PageStore {
  const problem = describeNonPageStore(store)
  if (problem !== null) {
    throw new FST_NEX_STATE_INVALID_OPTION('store', `a PageStore instance such as createMemoryStore() (methods ${PAGE_STORE_METHODS.join(', ')})`, problem)
  }
  return store as PageStore
}

// Node lower-cases incoming header names, so the configured name is matched lower-cased.
function checkHeader (value: unknown): string {
  const header = checkString('header', value, DEFAULTS.header)
  if (!HEADER_NAME.test(header)) throw new FST_NEX_STATE_INVALID_OPTION('header', 'a valid HTTP header name', describeValue(value))
  return header.toLowerCase()
}

function checkString (name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value === 'string' && value !== '') return value
  throw new FST_NEX_STATE_INVALID_OPTION(name, 'a non-empty string', describeValue(value))
}

function positiveInteger (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number
  throw new FST_NEX_STATE_INVALID_OPTION(name, 'a positive integer', describeValue(value))
}
