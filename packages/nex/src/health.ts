/**
 * nexHealth: liveness and readiness routes, and the draining state that graceful shutdown flips.
 *
 * Routes (paths configurable, `Cache-Control: no-store`, request logs at `logLevel`):
 * - `GET /healthz`, liveness: 200 `{"status":"ok"}` while the process serves, draining or not.
 * - `GET /readyz`, readiness: 200 `{"status":"ok"}` when every check passes; 503 with `Retry-After` and
 *   `{"status":"unavailable","failing":["db"]}` (names only, never errors) when one fails or times out,
 *   or `{"status":"draining"}` once draining started.
 *
 * Hooks:
 * - `onReady`: adds the `page-store` check when @nex/state is registered.
 * - `onSend`: while draining, `Connection: close` on every HTTP/1 response, so keep-alive clients move on.
 * - `preClose`: starts draining (so a bare `app.close()` also fails readiness and closes connections),
 *   and once the listener is closed destroys sockets that never sent a byte: Node 20 would otherwise
 *   keep `app.close()` waiting for them until `headersTimeout`.
 * - `onClose`: stops tracking sockets.
 *
 * Decorator: `fastify.nexLifecycle` (`draining`, `startDraining()`).
 *
 * Wrapped in fastify-plugin: the decorator and the `onSend` hook must reach every route of the app.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { normalizeOptions, type HealthOptions } from './health-options.js'
import { FST_NEX_HEALTH_ALREADY_REGISTERED } from './lifecycle-errors.js'
import { createReadinessProbe, type ReadinessProbe } from './health-checks.js'
import { createLifecycle, type NexLifecycle } from './lifecycle.js'
import { trackSilentSockets } from './lifecycle-sockets.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Serving or draining: `serve()` starts draining on SIGTERM, `app.close()` at the latest. */
    nexLifecycle: NexLifecycle
  }
}

/** The part of @nex/state's decorator the page-store check uses (no dependency on the package). */
interface WithPageStore {
  nexState: { store: { ping (): Promise<void> } }
}

const JSON_TYPE = 'application/json; charset=utf-8'
const OK_BODY = '{"status":"ok"}'
const DRAINING_BODY = '{"status":"draining"}'
const PAGE_STORE_CHECK = 'page-store'

async function plugin (fastify: FastifyInstance, options: HealthOptions): Promise<void> {
  const { livenessPath, readinessPath, checks, checkTimeout, pageStore, retryAfter, logLevel } = normalizeOptions(options)
  if (fastify.hasDecorator('nexLifecycle')) throw new FST_NEX_HEALTH_ALREADY_REGISTERED()

  const retryAfterValue = String(retryAfter)
  const lifecycle = createLifecycle(() => {
    fastify.log.info('nex-health: draining: readiness fails and every response closes its connection')
  })
  const silentSockets = trackSilentSockets(fastify.server)
  /** null while there is nothing to check (set once ready, when the checks are known). */
  let probe: ReadinessProbe | null = null

  fastify.decorate('nexLifecycle', lifecycle)

  // @nex/state may be registered after this plugin: look for its store once every plugin is loaded.
  fastify.addHook('onReady', function addPageStoreCheck (done) {
    const all = new Map(checks)
    if (pageStore && !all.has(PAGE_STORE_CHECK) && fastify.hasDecorator('nexState')) {
      const store = (fastify as unknown as WithPageStore).nexState.store
      all.set(PAGE_STORE_CHECK, async () => { await store.ping() })
    }
    if (all.size > 0) {
      probe = createReadinessProbe(all, checkTimeout, {
        failed (check, err) {
          fastify.log.warn({ check, err }, 'nex-health: readiness check "%s" failed; %s answers 503 until it passes', check, readinessPath)
        },
        recovered (check) {
          fastify.log.info({ check }, 'nex-health: readiness check "%s" passes again', check)
        }
      })
    }
    done()
  })

  fastify.addHook('onSend', function closeWhileDraining (request, reply, payload, done) {
    // HTTP/2 has no Connection header (setting it throws); its sessions are closed by fastify.close().
    if (lifecycle.draining && request.raw.httpVersionMajor < 2) reply.header('connection', 'close')
    done(null, payload)
  })

  fastify.addHook('preClose', function drainAndDestroySilentSockets (done) {
    lifecycle.startDraining()
    silentSockets.destroyWhenClosed((count) => {
      if (count > 0) fastify.log.debug({ count }, 'nex-health: destroyed sockets that never sent a request')
    })
    done()
  })

  fastify.addHook('onClose', function stopTracking (_instance, done) {
    silentSockets.stop()
    done()
  })

  /** @fastify/under-pressure's per-route handler: returning nothing serves the request anyway. */
  function serveAnyway (): undefined {
    return undefined
  }

  function unready (reply: FastifyReply, body: string): void {
    reply.code(503).header('retry-after', retryAfterValue).send(body)
  }

  fastify.route({
    method: 'GET',
    url: livenessPath,
    logLevel,
    // Probes are never rate limited; liveness is also never shed by @fastify/under-pressure (an
    // overloaded process is alive: restarting it would not help). Readiness may be shed: a 503 then
    // takes the instance out of rotation, which is what load shedding wants.
    config: { rateLimit: false, pressureHandler: serveAnyway } as FastifyContextConfig,
    handler: function liveness (_request: FastifyRequest, reply: FastifyReply) {
      reply.header('cache-control', 'no-store').type(JSON_TYPE).send(OK_BODY)
    }
  })

  fastify.route({
    method: 'GET',
    url: readinessPath,
    logLevel,
    config: { rateLimit: false } as FastifyContextConfig,
    handler: function readiness (_request: FastifyRequest, reply: FastifyReply) {
      reply.header('cache-control', 'no-store').type(JSON_TYPE)
      if (lifecycle.draining) {
        unready(reply, DRAINING_BODY)
      } else if (probe === null) {
        reply.send(OK_BODY)
      } else {
        probe().then((failing) => {
          if (lifecycle.draining) unready(reply, DRAINING_BODY)
          else if (failing.length === 0) reply.send(OK_BODY)
          else unready(reply, JSON.stringify({ status: 'unavailable', failing }))
        }, (error: unknown) => reply.send(error))
      }
    }
  })
}

/** Liveness and readiness routes, and `fastify.nexLifecycle`. */
export const nexHealth = fp(plugin, { fastify: '5.x', name: 'nex-health' })

export type { HealthOptions } from './health-options.js'
export type { ReadinessCheck } from './health-checks.js'
export type { NexLifecycle } from './lifecycle.js'
