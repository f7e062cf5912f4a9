/**
 * Readiness checks: every named check runs at once, each against the same deadline, and a probe
 * resolves to the names of the checks that failed (threw, rejected, or missed the deadline). Probes
 * that arrive while a run is in progress share it, so a burst of probes costs one run. A check still
 * pending from an earlier run is not called again: the next run waits on the same call, so a check that
 * ignores its signal and never settles holds one call, not one per probe. Imports nothing from Fastify.
 */
import { FST_NEX_HEALTH_CHECK_TIMEOUT } from './lifecycle-errors.js'

/**
 * A readiness check: resolves (to anything) when the dependency can serve, throws or rejects when not.
 * `signal` aborts at the deadline: pass it on (fetch, database drivers) so a slow check stops working.
 */
export type ReadinessCheck = (signal: AbortSignal) => unknown

export interface CheckOutcomes {
  /** A check failed after passing (or on its first run): told once per failure streak. */
  failed (name: string, error: unknown): void
  /** A check passed after failing. */
  recovered (name: string): void
}

/** Runs every check; resolves to the failing names (the same empty frozen array when all pass). */
export type ReadinessProbe = () => Promise<readonly string[]>

const ALL_PASSED: readonly string[] = Object.freeze([])

interface CheckState {
  readonly name: string
  readonly check: ReadinessCheck
  /** The call that has not settled yet, if any. */
  pending: Promise<unknown> | null
  failing: boolean
}

export function createReadinessProbe (checks: ReadonlyMap<string, ReadinessCheck>, timeout: number, outcomes: CheckOutcomes): ReadinessProbe {
  const states: CheckState[] = [...checks].map(([name, check]) => ({ name, check, pending: null, failing: false }))
  let running: Promise<readonly string[]> | null = null

  function call (state: CheckState, signal: AbortSignal): Promise<unknown> {
    if (state.pending !== null) return state.pending
    const pending = (async () => await state.check(signal))()
    state.pending = pending
    const settled = (): void => { state.pending = null }
    pending.then(settled, settled)
    return pending
  }

  async function run (): Promise<readonly string[]> {
    const controller = new AbortController()
    const deadline = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
    })
    deadline.catch(() => {})
    const timer = setTimeout(() => controller.abort(new FST_NEX_HEALTH_CHECK_TIMEOUT(timeout)), timeout)
    let results: Array<PromiseSettledResult<unknown>>
    try {
      results = await Promise.allSettled(states.map(async (state) => await Promise.race([call(state, controller.signal), deadline])))
    } finally {
      clearTimeout(timer)
    }
    let failed: string[] | null = null
    for (let i = 0; i < states.length; i++) {
      const state = states[i] as CheckState
      const result = results[i] as PromiseSettledResult<unknown>
      if (result.status === 'rejected') {
        (failed ??= []).push(state.name)
        if (!state.failing) {
          state.failing = true
          outcomes.failed(state.name, result.reason)
        }
      } else if (state.failing) {
        state.failing = false
        outcomes.recovered(state.name)
      }
    }
    return failed === null ? ALL_PASSED : Object.freeze(failed)
  }

  return async function probe () {
    running ??= run().finally(() => { running = null })
    return await running
  }
}
