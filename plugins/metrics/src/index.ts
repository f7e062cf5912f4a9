/**
 * @nex/metrics — Prometheus metrics for Fastify apps, on prom-client.
 *
 * Serves the app's registry at `path` (Prometheus text). The registry holds prom-client's process metrics
 * (event-loop delay included), a request-duration histogram and an error counter labelled by route
 * pattern, method and status class (closed sets: unknown paths all land in `route="__unknown__"`), the
 * requests in flight, and gauges of the Nex plugins that are registered (page-state store, SSE streams,
 * WebSockets), read at scrape time.
 *
 * Hooks: `onRequest` finds the request's series and counts it in flight; `onError` notes the error's code;
 * `onResponse` observes the duration and counts errors; `onRequestAbort` takes a request the client left
 * out of flight; `onReady` adds the gauges of the plugins present (so registration order does not
 * matter); `onClose` stops the process monitors and takes the plugin's metrics out of the registry.
 *
 * Decorators: `fastify.nexMetrics`. Routes opt out with `config: { metrics: false }`.
 *
 * Wrapped in fastify-plugin: the hooks must see every route of the app, and the decorator the whole app.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Registry, type Metric } from 'prom-client'
import { normalizeOptions, type MetricsOptions, type MetricsRegistry } from './options.js'
import { FST_NEX_METRICS_ALREADY_REGISTERED, FST_NEX_METRICS_FORBIDDEN, FST_NEX_METRICS_NAME_TAKEN } from './errors.js'
import { kErrorCode, kInFlight, kRouteSeries } from './symbols.js'
import {
  ERROR_REASONS,
  METHODS,
  STATUS_CLASSES,
  UNKNOWN_ROUTE,
  errorReasonIndex,
  methodIndex,
  statusClassIndex
} from './lib/labels.js'
import { startProcessMetrics, type ProcessMetrics } from './lib/process-metrics.js'
import { SeriesHistogram, type HistogramSeries } from './lib/series-histogram.js'
import { CountsHistogram } from './lib/counts-histogram.js'

export type { MetricsOptions, MetricsRegistry } from './options.js'
export { DEFAULTS } from './options.js'
export {
  ERROR_REASONS,
  METHODS,
  REASON_OF_CODE,
  STATUS_CLASSES,
  UNKNOWN_ROUTE,
  type ErrorReason,
  type MethodLabel,
  type StatusClass
} from './lib/labels.js'
export * as errors from './errors.js'

/** `fastify.nexMetrics`: what you need to add metrics of your own next to the plugin's. */
export interface NexMetrics {
  /** The registry served at `path`: give it to your metrics (`registers: [app.nexMetrics.registry]`). */
  readonly registry: MetricsRegistry
  /** The prefix of the plugin's metric names (`''` unless set), for yours to match. */
  readonly prefix: string
}

declare module 'fastify' {
  interface FastifyInstance {
    nexMetrics: NexMetrics
  }
  interface FastifyContextConfig {
    /** `false` leaves the route out of the HTTP metrics (duration, errors, in flight). */
    metrics?: boolean
  }
}

/** The series of one route: the children of its labelled metrics, made on first use. */
interface RouteSeries {
  readonly route: string
  /** `http_request_duration_seconds`, by method × status class. */
  readonly durations: Array<HistogramSeries | undefined>
  /** `nex_http_errors_total`, by reason. */
  readonly errors: Array<Counter.Internal | undefined>
}

/** What a route opted out with `config: { metrics: false }` gets instead of series. */
const EXCLUDED = Object.freeze({ excluded: true })

interface MetricsRequest extends FastifyRequest {
  [kRouteSeries]: RouteSeries | typeof EXCLUDED | null
  [kInFlight]: boolean
  [kErrorCode]: string | null
}

/** The decorators of other Nex plugins this one reads, when they are there. */
interface Readings {
  nexState: { store: { size?: unknown, bytes?: unknown, updateRetries?: { byRetries?: unknown, gaveUp?: unknown } } }
  nexSse: { streams: number }
  nexWebSocket: { connections: number }
}

const HANDLER_TIMEOUT = ERROR_REASONS.indexOf('handler_timeout')
/** Bounds of the update-retries histogram: 0 is the healthy case, more than a few means hot pages. */
const RETRY_BUCKETS = Object.freeze([0, 1, 2, 3, 5, 10, 20])

async function nexMetrics (app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const opts = normalizeOptions(options)
  if (app.hasDecorator('nexMetrics')) throw new FST_NEX_METRICS_ALREADY_REGISTERED()
  const { prefix } = opts
  // A registry per app: prom-client's global one would make two apps in one process clash.
  const registry: MetricsRegistry = opts.registry ?? new Registry()

  // Metrics go in only once none of their names is taken, so a clash leaves the registry as it was.
  const added = new Map<string, Metric>()
  function addMetrics (metrics: readonly Metric[]): void {
    for (const metric of metrics) {
      const name = (metric as unknown as { name: string }).name
      if (registry.getSingleMetric(name) !== undefined) throw new FST_NEX_METRICS_NAME_TAKEN(name)
    }
    for (const metric of metrics) {
      registry.registerMetric(metric)
      added.set((metric as unknown as { name: string }).name, metric)
    }
  }

  let inFlight = 0
  // Observed on every request: a histogram whose observation is a bucket search, not a label lookup.
  const durations = new SeriesHistogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'Time from routing a request to the end of its response, by route pattern, method and status class',
    buckets: opts.buckets
  })
  const errors = new Counter({
    name: `${prefix}nex_http_errors_total`,
    help: `Error responses by route pattern and reason (${ERROR_REASONS.join(', ')})`,
    labelNames: ['route', 'reason'],
    registers: []
  })
  const requestsInFlight = new Gauge({
    name: `${prefix}nex_http_requests_in_flight`,
    help: 'Requests received and not yet answered (open event streams included, WebSockets not)',
    registers: [],
    collect () {
      this.set(inFlight)
    }
  })
  const processMetrics: ProcessMetrics | null = opts.defaultMetrics ? startProcessMetrics(opts) : null
  try {
    addMetrics([...(processMetrics?.metrics ?? []), durations as unknown as Metric, errors, requestsInFlight])
  } catch (error) {
    processMetrics?.stop()
    throw error
  }

  // Route pattern → its series. Bounded: patterns come from the route table fixed at boot, and every
  // request that matched none shares UNKNOWN_ROUTE.
  const seriesByRoute = new Map<string, RouteSeries>()
  function seriesOf (route: FastifyRequest['routeOptions']): RouteSeries | typeof EXCLUDED {
    if (route.config?.metrics === false) return EXCLUDED
    const pattern = route.url ?? UNKNOWN_ROUTE
    let series = seriesByRoute.get(pattern)
    if (series === undefined) {
      series = { route: pattern, durations: [], errors: [] }
      seriesByRoute.set(pattern, series)
    }
    return series
  }

  function countError (series: RouteSeries, reason: number): void {
    let counter = series.errors[reason]
    if (counter === undefined) {
      counter = errors.labels({ route: series.route, reason: ERROR_REASONS[reason] as string })
      series.errors[reason] = counter
    }
    counter.inc()
  }

  function observe (series: RouteSeries, method: string, statusCode: number, milliseconds: number): void {
    const m = methodIndex(method)
    const c = statusClassIndex(statusCode)
    const index = m * STATUS_CLASSES.length + c
    let child = series.durations[index]
    if (child === undefined) {
      const labels = { route: series.route, method: METHODS[m] as string, status_code: STATUS_CLASSES[c] as string }
      child = durations.series(JSON.stringify([labels.route, labels.method, labels.status_code]), labels)
      series.durations[index] = child
    }
    child.observe(milliseconds / 1000)
  }

  app.decorate('nexMetrics', Object.freeze({ registry, prefix }) satisfies NexMetrics)
  app.decorateRequest(kRouteSeries, null)
  app.decorateRequest(kInFlight, false)
  app.decorateRequest(kErrorCode, null)

  app.addHook('onRequest', function countRequest (request, _reply, done) {
    // An upgrade (WebSocket) is never answered through onResponse: nex_websocket_connections counts those.
    if (request.headers.upgrade !== undefined) return done()
    const req = request as MetricsRequest
    const series = seriesOf(request.routeOptions)
    req[kRouteSeries] = series
    if (series !== EXCLUDED) {
      req[kInFlight] = true
      inFlight++
    }
    done()
  })

  app.addHook('onError', function noteErrorCode (request, _reply, error, done) {
    const code = (error as { code?: unknown }).code
    ;(request as MetricsRequest)[kErrorCode] = typeof code === 'string' ? code : null
    done()
  })

  app.addHook('onResponse', function observeResponse (request, reply, done) {
    const req = request as MetricsRequest
    if (req[kInFlight]) {
      req[kInFlight] = false
      inFlight--
    }
    // null: an onRequest hook that ran before ours answered (a rate limit, a host guard).
    const series = req[kRouteSeries] ?? seriesOf(request.routeOptions)
    if (series === EXCLUDED) return done()
    const statusCode = reply.statusCode
    observe(series as RouteSeries, request.method, statusCode, reply.elapsedTime)
    const reason = errorReasonIndex(statusCode, req[kErrorCode])
    if (reason !== -1) countError(series as RouteSeries, reason)
    done()
  })

  app.addHook('onRequestAbort', function countAbort (request, done) {
    const req = request as MetricsRequest
    if (req[kInFlight]) {
      req[kInFlight] = false
      inFlight--
    }
    // A response already under way that the handler timeout cut ends here, not in onResponse.
    const series = req[kRouteSeries]
    if (series !== null && series !== EXCLUDED && request.routeOptions.handlerTimeout > 0 &&
      (request.signal.reason as { code?: unknown } | undefined)?.code === 'FST_ERR_HANDLER_TIMEOUT') {
      countError(series as RouteSeries, HANDLER_TIMEOUT)
    }
    done()
  })

  // At onReady every plugin is registered, whatever the order: add gauges for those present.
  app.addHook('onReady', function addPluginGauges (done) {
    const source = app as unknown as Readings
    const gauges: Metric[] = []
    const gauge = (name: string, help: string, read: () => number): void => {
      gauges.push(new Gauge({ name: `${prefix}${name}`, help, registers: [], collect () { this.set(read()) } }))
    }
    if (app.hasDecorator('nexState')) {
      const store = source.nexState.store
      // The in-memory store counts; a Redis store does not (its size is Redis's to report).
      if (typeof store.size === 'number') gauge('nex_page_state_pages', 'Pages held by the in-memory page-state store (expired ones until purged)', () => store.size as number)
      if (typeof store.bytes === 'number') gauge('nex_page_state_bytes', 'Bytes held by the in-memory page-state store, as counted against its maxBytes', () => store.bytes as number)
      // A shared store (Redis) counts the compare-and-set retries other processes' writes cost its updates.
      const retries = store.updateRetries
      if (Array.isArray(retries?.byRetries) && typeof retries.gaveUp === 'number') {
        gauges.push(new CountsHistogram({
          name: `${prefix}nex_page_state_update_retries`,
          help: 'Compare-and-set retries per page-state update, caused by writes of other processes to the same page',
          buckets: RETRY_BUCKETS,
          read: () => retries.byRetries as number[]
        }) as unknown as Metric)
        let counted = 0
        gauges.push(new Counter({
          name: `${prefix}nex_page_state_updates_given_up_total`,
          help: 'Page-state updates that gave up after the store\'s last compare-and-set attempt (answered 503)',
          registers: [],
          collect () {
            const now = retries.gaveUp as number
            if (now > counted) this.inc(now - counted)
            counted = now
          }
        }))
      }
    }
    if (app.hasDecorator('nexSse')) gauge('nex_sse_streams', 'Open server-sent event streams', () => source.nexSse.streams)
    if (app.hasDecorator('nexWebSocket')) gauge('nex_websocket_connections', 'Open WebSocket connections', () => source.nexWebSocket.connections)
    try {
      addMetrics(gauges)
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  })

  app.addHook('onClose', function removeMetrics (_app, done) {
    processMetrics?.stop()
    // The registry may be the user's and outlive the app: leave it as it was before.
    for (const [name, metric] of added) {
      if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name)
    }
    added.clear()
    seriesByRoute.clear()
    durations.clear()
    done()
  })

  if (opts.path === false) return
  const path = opts.path
  const authorize = opts.authorize
  // Scrapes are not rate limited (a limit would blind monitoring under load), are GETs (no CSRF token),
  // and are left out of the HTTP metrics they read.
  const config = { rateLimit: false, csrf: false, metrics: false } as const
  await app.register(async function metricsRoute (scope) {
    scope.get(path, {
      config,
      ...(authorize === null
        ? {}
        : {
            onRequest: async function checkAccess (request: FastifyRequest) {
              if (await authorize(request) !== true) throw new FST_NEX_METRICS_FORBIDDEN()
            }
          })
    }, async function serveMetrics (_request, reply) {
      reply.type(registry.contentType)
      return await registry.metrics()
    })
  })
}

const plugin = fp(nexMetrics, { fastify: '5.x', name: '@nex/metrics' })
export { plugin as nexMetrics }
export default plugin
