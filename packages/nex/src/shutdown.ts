/**
 * `serve(app, options)`: listens, then shuts the process down gracefully, with close-with-grace.
 *
 * The protocol (it gave zero dropped requests under load behind a load balancer, RELIABILITY §5):
 * 1. First SIGTERM or SIGINT: `fastify.nexLifecycle.startDraining()`. `/readyz` answers 503 and every
 *    response carries `Connection: close`; requests are still served.
 * 2. Wait `drainDelay`, long enough for the load balancer to see the failing readiness and stop sending.
 * 3. `await app.close()`: `preClose` hooks end SSE streams and WebSockets, in-flight requests finish, and
 *    sockets that never sent a byte are destroyed (nexHealth), so Node 20 does not wait on them.
 * 4. Exit 0. Exit 1 instead on a second signal (at once), when `closeTimeout` passes (counted from the
 *    first signal; logged), or when the shutdown was caused by an uncaught exception or unhandled
 *    rejection (logged, then the same drain and close).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import type { NexLifecycle } from './lifecycle.js'
import { normalizeServeOptions, SHUTDOWN_SIGNALS, type ServeOptions } from './shutdown-options.js'
import { FST_NEX_SHUTDOWN_NO_LIFECYCLE } from './lifecycle-errors.js'

/** Any Fastify instance: HTTP/1, HTTPS or HTTP/2, any logger, any type provider. */
export type AnyFastifyInstance = FastifyInstance<any, any, any, any, any>

/**
 * Listens like `app.listen(options)` (resolving to the address), and installs the graceful shutdown.
 * Needs the nexHealth plugin (its `fastify.nexLifecycle` is what draining flips). When the app is closed
 * by other code, the process handlers are removed again.
 */
export async function serve (app: AnyFastifyInstance, options: ServeOptions = {}): Promise<string> {
  const { drainDelay, closeTimeout, signals, listen } = normalizeServeOptions(options)
  await app.ready()
  if (!app.hasDecorator('nexLifecycle')) throw new FST_NEX_SHUTDOWN_NO_LIFECYCLE()
  const lifecycle = app.getDecorator<NexLifecycle>('nexLifecycle')
  const address = await app.listen(listen)

  const log: FastifyBaseLogger = app.log
  const skip: closeWithGrace.AllEvents[] = [...SHUTDOWN_SIGNALS.filter(signal => !signals.includes(signal)), 'beforeExit']
  const grace = closeWithGrace({
    delay: closeTimeout,
    skip,
    // Told only when the shutdown itself failed (app.close() rejected).
    logger: { error: (err: unknown) => log.error({ err }, 'nex: graceful shutdown failed; exiting with code 1') },
    onSecondSignal (signal) {
      log.error({ signal }, 'nex: second %s during shutdown; exiting now with code 1', signal)
    },
    onSecondError (err) {
      log.error({ err }, 'nex: another uncaught error during shutdown; exiting now with code 1')
    },
    onTimeout (delay) {
      log.error({ closeTimeout: delay }, 'nex: shutdown did not finish within closeTimeout (%d ms) of the signal; exiting with code 1', delay)
    }
  }, async function shutdown ({ signal, err }) {
    const started = Date.now()
    if (err !== undefined) {
      log.error({ err }, 'nex: uncaught error; draining for %d ms and closing, then exiting with code 1', drainDelay)
    } else {
      log.info({ signal }, 'nex: %s received; draining for %d ms, then closing', signal, drainDelay)
    }
    lifecycle.startDraining()
    if (drainDelay > 0) await sleep(drainDelay)
    await app.close()
    log.info({ elapsed: Date.now() - started }, 'nex: closed')
  })
  app.server.once('close', () => grace.uninstall())
  return address
}

export type { ServeOptions, ShutdownSignal } from './shutdown-options.js'
