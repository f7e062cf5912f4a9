/**
 * The `nex` preset: every Nex plugin on one Fastify instance, in the order their hooks need, with one
 * secret, one Redis connection (when `REDIS_URL` is set) and production defaults. Each part takes its
 * plugin's options, or `false` to leave it out.
 *
 * Order: the app-wide error handler; the plugins that decorate requests and replies (page state,
 * sessions, security: host guard, rate limits, Fetch-Metadata, CSRF, CSP) before any plugin that adds
 * routes; metrics (its hooks see every request, rate-limited ones included); health; load shedding;
 * compression; SSE and WebSocket (file routes with stream and socket exports need them); the file
 * routes; static files from `public/` last.
 *
 * Wrapped in fastify-plugin: every decorator and hook reaches the app's own routes too.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import nexState, { resolveSecrets } from '@nex/state'
import nexSession from '@nex/session'
import nexSse from '@nex/sse'
import nexWebSocket from '@nex/websocket'
import nexRoutes from '@nex/routes'
import nexSecurity from '@nex/security'
import nexMetrics from '@nex/metrics'
import { redisFromEnv, type RedisBackends } from '@nex/redis'
import underPressure from '@fastify/under-pressure'
import { nexHealth } from './health.js'
import { nexErrors } from './error-handler.js'
import { nexStatic } from './static-files.js'
import { nexCompression } from './compression.js'
import { normalizePresetOptions, type NexOptions } from './preset-options.js'

async function nexPreset (app: FastifyInstance, options: NexOptions): Promise<void> {
  const opts = normalizePresetOptions(options)
  const { env, dev } = opts
  // One secret for page ids, sessions and CSRF tokens (the plugins then stay quiet about it); a list
  // rotates (the first signs, all verify).
  const { secrets: secret, generated } = resolveSecrets(opts.secret, env)
  if (generated) {
    app.log.warn('nex: no secret configured (option "secret" or NEX_SECRET); using a random per-process secret, so page ids, ' +
      'sessions and CSRF tokens do not survive a restart and are not shared with other processes. Set NEX_SECRET in production')
  }

  // REDIS_URL set: page state, sessions, topics and rate-limit counters live in Redis, shared by every
  // process. The preset owns the connection it opened and closes it after everything that uses it.
  const redis: RedisBackends | null = opts.redis !== undefined
    ? opts.redis
    : await redisFromEnv({ env, onNotReady: (error) => app.log.warn(error.message) })
  if (redis !== null && opts.redis === undefined) app.addHook('onClose', async () => await redis.close())

  // Plugins that decorate requests and replies come before any plugin that adds routes: Fastify copies
  // value decorators into a child context when it is created, so a route context made earlier (health,
  // metrics) would lack them. Hooks apply to every route whatever the order.
  if (opts.errors !== false) await app.register(nexErrors, { dev, ...opts.errors })
  if (opts.state !== false) {
    await app.register(nexState, { secret, ...(redis === null ? {} : { store: redis.pageStore }), ...opts.state })
  }
  if (opts.session !== false) {
    await app.register(nexSession, { secret, ...(redis === null ? {} : { store: redis.sessionStore }), ...opts.session })
  }
  if (opts.security !== false) {
    const rateLimit = opts.security.rateLimit === false
      ? false
      : { ...(redis === null ? {} : { redis: redis.client, prefix: `${env.REDIS_PREFIX ?? 'nex:'}rate-limit:` }), ...opts.security.rateLimit }
    await app.register(nexSecurity, { secret, dev, ...opts.security, rateLimit })
  }
  if (opts.metrics !== false) await app.register(nexMetrics, opts.metrics ?? {})
  if (opts.health !== false) await app.register(nexHealth, opts.health ?? {})
  if (opts.underPressure !== false) await app.register(underPressure, opts.underPressure ?? {})
  if (opts.compress !== false) await app.register(nexCompression, opts.compress ?? {})
  if (opts.sse !== false) await app.register(nexSse, { ...(redis === null ? {} : { topics: redis.events }), ...opts.sse })
  if (opts.websocket !== false) await app.register(nexWebSocket, { ...(redis === null ? {} : { topics: redis.events }), ...opts.websocket })
  if (opts.routes !== false) await app.register(nexRoutes, { dir: join(opts.dir, 'src'), dev, ...opts.routes })
  if (opts.static !== false) await app.register(nexStatic, { root: join(opts.dir, 'public'), ...opts.static })
}

/** The preset as a plugin: `await app.register(nex, { dir: import.meta.dirname })`. */
export const nex = fp(nexPreset, { fastify: '5.x', name: 'nex' })
