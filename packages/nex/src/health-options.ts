/** Options of the nexHealth plugin: defaults, validation at register time, freezing. */
import type { LogLevel } from 'fastify'
import { FST_NEX_HEALTH_INVALID_OPTION } from './lifecycle-errors.js'
import type { ReadinessCheck } from './health-checks.js'

export interface HealthOptions {
  /** Path of the liveness route: 200 while the process serves, draining or not. @default '/healthz' */
  livenessPath?: string
  /**
   * Path of the readiness route: 200 when every check passes, 503 with `Retry-After` while one fails or
   * while draining. @default '/readyz'
   */
  readinessPath?: string
  /**
   * Readiness checks by name: each resolves when its dependency can serve, and throws or rejects when
   * not. The names (never the errors) appear in the 503 body. A check named `page-store` replaces the
   * automatic one. @default {}
   */
  checks?: Record<string, ReadinessCheck>
  /** Most ms a check may take; a slower one fails. @default 1000 */
  checkTimeout?: number
  /**
   * Adds a `page-store` check that pings `fastify.nexState.store` when @nex/state is registered (before
   * or after this plugin). @default true
   */
  pageStore?: boolean
  /** Seconds in the `Retry-After` header of a 503 from the readiness route. @default 5 */
  retryAfter?: number
  /**
   * Log level of the two routes. Probes come every few seconds; the default keeps their request logs
   * out while warnings and errors still show. @default 'warn'
   */
  logLevel?: LogLevel
}

export interface NormalizedHealthOptions {
  readonly livenessPath: string
  readonly readinessPath: string
  readonly checks: ReadonlyMap<string, ReadinessCheck>
  readonly checkTimeout: number
  readonly pageStore: boolean
  readonly retryAfter: number
  readonly logLevel: LogLevel
}

export const HEALTH_DEFAULTS = Object.freeze({
  livenessPath: '/healthz',
  readinessPath: '/readyz',
  checkTimeout: 1000,
  pageStore: true,
  retryAfter: 5,
  logLevel: 'warn' as LogLevel
})

const LOG_LEVELS: ReadonlySet<unknown> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function path (options: HealthOptions, name: 'livenessPath' | 'readinessPath'): string {
  const value = options[name] ?? HEALTH_DEFAULTS[name]
  if (typeof value !== 'string' || !/^\/[^\s?#]*$/.test(value)) {
    throw new FST_NEX_HEALTH_INVALID_OPTION(name, 'a path starting with "/" (no spaces, query or fragment)', describe(value))
  }
  return value
}

function integer (options: HealthOptions, name: 'checkTimeout' | 'retryAfter', min: number): number {
  const value = options[name] ?? HEALTH_DEFAULTS[name]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new FST_NEX_HEALTH_INVALID_OPTION(name, `an integer ≥ ${min}`, describe(value))
  }
  return value
}

function checks (value: unknown): ReadonlyMap<string, ReadinessCheck> {
  if (value === undefined) return new Map()
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FST_NEX_HEALTH_INVALID_OPTION('checks', 'an object of named functions, e.g. { db: () => db.ping() }', describe(value))
  }
  const map = new Map<string, ReadinessCheck>()
  for (const [name, check] of Object.entries(value)) {
    if (typeof check !== 'function') {
      throw new FST_NEX_HEALTH_INVALID_OPTION(`checks.${name}`, 'a function returning a promise', describe(check))
    }
    map.set(name, check as ReadinessCheck)
  }
  return map
}

export function normalizeOptions (options: HealthOptions = {}): NormalizedHealthOptions {
  const livenessPath = path(options, 'livenessPath')
  const readinessPath = path(options, 'readinessPath')
  if (livenessPath === readinessPath) {
    throw new FST_NEX_HEALTH_INVALID_OPTION('readinessPath', 'a path other than livenessPath', describe(readinessPath))
  }
  const pageStore = options.pageStore ?? HEALTH_DEFAULTS.pageStore
  if (typeof pageStore !== 'boolean') throw new FST_NEX_HEALTH_INVALID_OPTION('pageStore', 'a boolean', describe(pageStore))
  const logLevel = options.logLevel ?? HEALTH_DEFAULTS.logLevel
  if (!LOG_LEVELS.has(logLevel)) {
    throw new FST_NEX_HEALTH_INVALID_OPTION('logLevel', 'one of fatal, error, warn, info, debug, trace, silent', describe(logLevel))
  }
  return Object.freeze({
    livenessPath,
    readinessPath,
    checks: checks(options.checks),
    checkTimeout: integer(options, 'checkTimeout', 1),
    pageStore,
    retryAfter: integer(options, 'retryAfter', 0),
    logLevel
  })
}
