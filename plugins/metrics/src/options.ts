/** Options of @nex/metrics: defaults, validation at register time, freezing. */
import type { FastifyRequest } from 'fastify'
import { Registry, type OpenMetricsContentType } from 'prom-client'
import { FST_NEX_METRICS_INVALID_OPTION } from './errors.js'

/** A prom-client registry, in Prometheus or OpenMetrics format. */
export type MetricsRegistry = Registry | Registry<OpenMetricsContentType>

export interface MetricsOptions {
  /**
   * URL of the Prometheus text endpoint, or `false` for none (serve `app.nexMetrics.registry` yourself,
   * e.g. from a second server listening on a private port).
   * @default '/metrics'
   */
  path?: string | false
  /**
   * Decides whether a request may read the metrics; `false` answers 403. Metrics show routes, traffic and
   * internals: scrape them on a private network, or check a token or the client address here.
   * @default every request may
   */
  authorize?: (request: FastifyRequest) => boolean | Promise<boolean>
  /**
   * The prom-client registry the metrics go to; add your own metrics to it. Yours: the plugin removes its
   * metrics from it when the app closes and leaves the rest.
   * @default a new Registry per app (never prom-client's global one)
   */
  registry?: MetricsRegistry
  /**
   * Prepended to the name of every metric the plugin creates (process, HTTP, Nex). Standard dashboards
   * expect the standard names, so set it only when several apps share one registry.
   * @default ''
   */
  prefix?: string
  /**
   * Upper bounds, in seconds, of the `http_request_duration_seconds` buckets (ascending).
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: readonly number[]
  /**
   * Collect prom-client's default process metrics (CPU, memory, heap, handles, GC, event-loop delay).
   * Turn off when the registry already has them.
   * @default true
   */
  defaultMetrics?: boolean
  /** Sampling interval of the event-loop delay monitor (`nodejs_eventloop_lag_*`), in ms. @default 10 */
  eventLoopMonitoringPrecision?: number
}

export interface NormalizedMetricsOptions {
  readonly path: string | false
  readonly authorize: ((request: FastifyRequest) => boolean | Promise<boolean>) | null
  readonly registry: MetricsRegistry | null
  readonly prefix: string
  readonly buckets: readonly number[]
  readonly defaultMetrics: boolean
  readonly eventLoopMonitoringPrecision: number
}

export const DEFAULTS = Object.freeze({
  path: '/metrics',
  prefix: '',
  // prom-client's (and the Go and Python clients') defaults: what dashboards assume.
  buckets: Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  defaultMetrics: true,
  eventLoopMonitoringPrecision: 10
})

const REGISTRY_METHODS = ['registerMetric', 'getSingleMetric', 'removeSingleMetric', 'metrics'] as const

function describe (value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`
  return typeof value
}

function fail (option: string, allowed: string, value: unknown): never {
  throw new FST_NEX_METRICS_INVALID_OPTION(option, allowed, describe(value))
}

function normalizePath (value: unknown): string | false {
  if (value === undefined) return DEFAULTS.path
  if (value === false || (typeof value === 'string' && /^\/[^?#\s]*$/.test(value))) return value
  return fail('path', 'a URL path starting with "/" (no query) or false', value)
}

function normalizeRegistry (value: unknown): MetricsRegistry | null {
  if (value === undefined) return null
  if (value instanceof Registry) return value
  // Another copy of prom-client in node_modules has another Registry class: accept what works like one.
  const candidate = value as Record<string, unknown> | null
  if (typeof candidate === 'object' && candidate !== null && REGISTRY_METHODS.every(name => typeof candidate[name] === 'function')) {
    return value as MetricsRegistry
  }
  return fail('registry', 'a prom-client Registry (new Registry())', value)
}

function normalizeBuckets (value: unknown): readonly number[] {
  if (value === undefined) return DEFAULTS.buckets
  if (Array.isArray(value) && value.length > 0 &&
    value.every((bound, i) => typeof bound === 'number' && Number.isFinite(bound) && bound > 0 && (i === 0 || bound > (value[i - 1] as number)))) {
    return Object.freeze([...value] as number[])
  }
  return fail('buckets', 'a non-empty array of ascending positive numbers of seconds', value)
}

export function normalizeOptions (options: MetricsOptions = {}): NormalizedMetricsOptions {
  const { authorize, prefix = DEFAULTS.prefix, defaultMetrics = DEFAULTS.defaultMetrics } = options
  const precision = options.eventLoopMonitoringPrecision ?? DEFAULTS.eventLoopMonitoringPrecision
  if (authorize !== undefined && typeof authorize !== 'function') fail('authorize', 'a function (request) => boolean', authorize)
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    fail('prefix', 'a metric name prefix (letters, digits, "_" and ":", not starting with a digit) or ""', prefix)
  }
  if (typeof defaultMetrics !== 'boolean') fail('defaultMetrics', 'true or false', defaultMetrics)
  if (!Number.isSafeInteger(precision) || precision < 1) fail('eventLoopMonitoringPrecision', 'an integer ≥ 1 (ms)', precision)
  return Object.freeze({
    path: normalizePath(options.path),
    authorize: authorize ?? null,
    registry: normalizeRegistry(options.registry),
    prefix,
    buckets: normalizeBuckets(options.buckets),
    defaultMetrics,
    eventLoopMonitoringPrecision: precision
  })
}
