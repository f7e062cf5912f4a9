/**
 * Fail fast during an outage. The first Redis failure (refused, timed out, disconnected) marks Redis
 * down; while it is down, calls fail at once instead of each waiting out `commandTimeout`, so a stalled
 * Redis costs one timeout, not one per request, and error pages that read state again answer at once.
 * A single background probe (`PING`, one in flight) marks Redis up again as soon as it answers: recovery
 * needs no restart and no request to pay for it.
 */
import type { Redis } from 'ioredis'

export interface Availability {
  /** False from a failure until the next successful probe. */
  readonly up: boolean
  /** Records a failure and starts probing (no-op while already down). */
  failed (): void
  /** Records a success seen elsewhere (e.g. an explicit ping). */
  succeeded (): void
  /** Stops probing for good. */
  stop (): void
}

export interface AvailabilityOptions {
  /** Pause between failed probes, in ms. */
  probeInterval: number
  /** Longest a probe may take before it counts as failed, in ms. */
  probeTimeout: number
}

export function trackAvailability (client: Redis, options: AvailabilityOptions): Availability {
  let up = true
  let stopped = false
  let probing = false
  let timer: NodeJS.Timeout | null = null

  function pause (): Promise<void> {
    return new Promise((resolve) => {
      timer = setTimeout(() => {
        timer = null
        resolve()
      }, options.probeInterval)
      // A probe loop must never keep the process alive.
      timer.unref()
    })
  }

  /** Pings until Redis answers or the tracker stops; the state lives in the closure, read each round. */
  async function probe (): Promise<void> {
    probing = true
    try {
      for (;;) {
        if (up || stopped) return
        try {
          await withTimeout(client.ping(), options.probeTimeout)
          up = true
        } catch {
          if (!stopped) await pause()
        }
      }
    } finally {
      probing = false
    }
  }

  return {
    get up () {
      return up
    },
    failed () {
      up = false
      if (!probing && !stopped) probe().catch(noop)
    },
    succeeded () {
      up = true
    },
    stop () {
      stopped = true
      if (timer !== null) clearTimeout(timer)
    }
  }
}

/** `promise`, or a rejection after `ms`. The timer is cleared either way, so nothing lingers. */
export function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function noop (): void {}
