/**
 * prom-client's default process metrics, with a way to stop them.
 *
 * `collectDefaultMetrics()` starts an event-loop delay monitor (`monitorEventLoopDelay`, sampling every
 * `eventLoopMonitoringPrecision` ms) and a GC `PerformanceObserver`, and returns nothing to stop them
 * with (prometheus/client_js#494 and #500, still so in 15.1). The observer holds the GC histogram, which
 * holds the registry, which holds every series: each app that ever called it stays in memory for the life
 * of the process, and every GC calls into all of them. So the call runs with the two functions that
 * create them wrapped to note what they create: `monitorEventLoopDelay` on `node:perf_hooks` (the object
 * prom-client's `require('perf_hooks')` returns) and `PerformanceObserver.prototype.observe`. Both are
 * restored before returning; the call is synchronous, so nothing else runs meanwhile.
 *
 * Why not the histogram's prototype: reaching it takes a throwaway histogram, and a never-enabled one
 * that is garbage-collected makes `process._getActiveHandles()` (prom-client's `nodejs_active_handles`)
 * abort the process on Node 20 ("Assertion failed: !obj.IsEmpty()" in AsyncWrap::GetOwner).
 *
 * The metrics are collected into a registry of their own; the caller moves them to the app's registry.
 */
import perfHooks, { type EventLoopMonitorOptions, type IntervalHistogram, type PerformanceObserver } from 'node:perf_hooks'
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client'

export interface ProcessMetricsOptions {
  readonly prefix: string
  readonly eventLoopMonitoringPrecision: number
}

export interface ProcessMetrics {
  /** The metrics, in a private registry only. */
  readonly metrics: readonly Metric[]
  /** Stops the event-loop delay monitor and disconnects the GC observer. */
  stop (): void
}

export function startProcessMetrics ({ prefix, eventLoopMonitoringPrecision }: ProcessMetricsOptions): ProcessMetrics {
  const monitors: IntervalHistogram[] = []
  const observers: PerformanceObserver[] = []
  const stop = (): void => {
    for (const monitor of monitors.splice(0)) monitor.disable()
    for (const observer of observers.splice(0)) observer.disconnect()
  }
  const monitorEventLoopDelay = perfHooks.monitorEventLoopDelay
  const observe = perfHooks.PerformanceObserver.prototype.observe
  perfHooks.monitorEventLoopDelay = function noteMonitor (options?: EventLoopMonitorOptions) {
    const monitor = monitorEventLoopDelay(options)
    monitors.push(monitor)
    return monitor
  }
  perfHooks.PerformanceObserver.prototype.observe = function noteObserver (this: PerformanceObserver, ...args: Parameters<PerformanceObserver['observe']>) {
    observers.push(this)
    observe.apply(this, args)
  }
  const own = new Registry()
  try {
    collectDefaultMetrics({ register: own, prefix, eventLoopMonitoringPrecision })
  } catch (error) {
    stop()
    throw error
  } finally {
    perfHooks.monitorEventLoopDelay = monitorEventLoopDelay
    perfHooks.PerformanceObserver.prototype.observe = observe
  }
  // getMetricsAsArray() is typed as plain objects; they are the metric instances.
  return { metrics: own.getMetricsAsArray() as unknown as Metric[], stop }
}
