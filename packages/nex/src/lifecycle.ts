/**
 * The process lifecycle as requests see it: serving, then draining once shutdown began. Draining is
 * one-way. From then on readiness fails (a load balancer takes the instance out of rotation) and every
 * response closes its connection (clients reconnect elsewhere), while requests are still served.
 */

/** `fastify.nexLifecycle`. */
export interface NexLifecycle {
  /** True once shutdown began: `startDraining()`, a signal handled by `serve()`, or `app.close()`. */
  readonly draining: boolean
  /** Starts draining. Idempotent; there is no way back. */
  startDraining (): void
}

/** A lifecycle that starts serving; `onDrain` runs once, when draining starts. */
export function createLifecycle (onDrain: () => void = () => {}): NexLifecycle {
  let draining = false
  return Object.freeze({
    get draining () {
      return draining
    },
    startDraining () {
      if (draining) return
      draining = true
      onDrain()
    }
  })
}
