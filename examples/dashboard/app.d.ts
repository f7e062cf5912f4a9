import type { FastifyInstance } from 'fastify'
import type { CreateAppOptions, NexOptions } from 'nex'

/**
 * Builds the app (not listening) on the `nex` preset: security (CSP nonces, CSRF, rate limits), page state,
 * server-sent events, file routes from src/, static files from public/, health, metrics and error pages;
 * and the producer that publishes a tick to the `energy` topic every second while the app is ready (it
 * stops when the app closes).
 * @param server options of the Fastify server (logger, timeouts, trustProxy…)
 * @param config preset options over the defaults. `env` is where NODE_ENV, NEX_SECRET, REDIS_URL and
 *   REDIS_PREFIX are read (default process.env): with REDIS_URL, page state and the `energy` topic live in
 *   that Redis, shared by every process; else in memory.
 */
export declare function build (server?: CreateAppOptions['server'], config?: Partial<NexOptions>): Promise<FastifyInstance>
