/** Options of `serve()`: defaults, validation when it is called, freezing. */
import type { FastifyListenOptions } from 'fastify'
import { FST_NEX_SHUTDOWN_INVALID_OPTION } from './lifecycle-errors.js'
import { describe } from './health-options.js'

/** Signals that start a graceful shutdown. */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR2'

export interface ServeOptions extends FastifyListenOptions {
  /**
   * Ms between the first signal and `app.close()`. Meanwhile `/readyz` answers 503, every response
   * closes its connection, and requests are still served. Make it longer than the load balancer's
   * check interval × its failure threshold (e.g. 2 × 2 s → 5000), so it stops sending before the
   * listener closes. `0` closes at once (development, or no load balancer).
   * @default 5000
   */
  drainDelay?: number
  /**
   * Hard limit in ms, counted from the first signal (close-with-grace `delay`): if draining and closing
   * are not done by then, the process exits with code 1. It includes `drainDelay`, so the close itself
   * gets `closeTimeout - drainDelay`. Keep it below the orchestrator's grace period (Kubernetes
   * `terminationGracePeriodSeconds`, 30 s by default).
   * @default 10_000
   */
  closeTimeout?: number
  /**
   * Signals that start the shutdown; a second one (any of them) exits with code 1 at once.
   * @default ['SIGTERM', 'SIGINT']
   */
  signals?: readonly ShutdownSignal[]
}

export interface NormalizedServeOptions {
  readonly drainDelay: number
  readonly closeTimeout: number
  readonly signals: readonly ShutdownSignal[]
  /** What is passed to `app.listen()`. */
  readonly listen: FastifyListenOptions
}

export const SERVE_DEFAULTS = Object.freeze({
  drainDelay: 5000,
  closeTimeout: 10_000,
  signals: Object.freeze(['SIGTERM', 'SIGINT']) as readonly ShutdownSignal[]
})

export const SHUTDOWN_SIGNALS: readonly ShutdownSignal[] = Object.freeze(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'])

function integer (value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new FST_NEX_SHUTDOWN_INVALID_OPTION(name, `an integer ≥ ${min}`, describe(value))
  }
  return value
}

function signals (value: unknown): readonly ShutdownSignal[] {
  if (value === undefined) return SERVE_DEFAULTS.signals
  if (!Array.isArray(value) || value.length === 0 || !value.every(signal => SHUTDOWN_SIGNALS.includes(signal))) {
    throw new FST_NEX_SHUTDOWN_INVALID_OPTION('signals', `a non-empty array of ${SHUTDOWN_SIGNALS.join(', ')}`, describe(value))
  }
  return Object.freeze([...new Set(value as ShutdownSignal[])])
}

export function normalizeServeOptions (options: ServeOptions = {}): NormalizedServeOptions {
  const { drainDelay: drainOption, closeTimeout: closeOption, signals: signalsOption, ...listen } = options
  const drainDelay = integer(drainOption ?? SERVE_DEFAULTS.drainDelay, 'drainDelay', 0)
  const closeTimeout = integer(closeOption ?? SERVE_DEFAULTS.closeTimeout, 'closeTimeout', drainDelay + 1)
  return Object.freeze({
    drainDelay,
    closeTimeout,
    signals: signals(signalsOption),
    listen
  })
}
