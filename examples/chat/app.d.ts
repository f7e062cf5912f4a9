import type { FastifyInstance } from 'fastify'
import type { CreateAppOptions, NexOptions } from 'nex'

/**
 * Builds the app (not listening) on the `nex` preset: security (CSP nonces, CSRF, rate limits), page state,
 * server-sent events, file routes from src/, static files from public/, health, metrics and error pages.
 * @param server options of the Fastify server (logger, timeouts, trustProxy…)
 * @param config preset options over the defaults, e.g. `{ security: { rateLimit: { actions: { max: 10_000 } } } }`
 *   for a load test. `env` is where NODE_ENV, NEX_SECRET and REDIS_URL are read (default process.env): with
 *   REDIS_URL, page state and the rooms' messages live in that Redis (shared by every process), else in memory.
 */
export declare function build (server?: CreateAppOptions['server'], config?: Partial<NexOptions>): Promise<FastifyInstance>
