import type { FastifyInstance } from 'fastify'
import type { CreateAppOptions, NexOptions } from 'nex'

/**
 * Options of the `nex` preset over the app's defaults (each part: its plugin's options, or `false`),
 * e.g. `{ security: { rateLimit: { actions: { max: 10_000 } } } }` for a load test.
 */
export type BuildConfig = Partial<NexOptions> & {
  /**
   * Where `NODE_ENV`, `NEX_SECRET` and `REDIS_URL` are read: with `REDIS_URL`, page state lives in that
   * Redis; without `NEX_SECRET`, production keeps a generated secret in `.nex-secret`. @default process.env
   */
  env?: NodeJS.ProcessEnv
}

/**
 * Builds the app on the `nex` preset (not listening): security (CSP nonces, CSRF, rate limits), page
 * state, sessions, file routes from src/, static files from public/, health, metrics, error pages.
 */
export declare function build (server?: CreateAppOptions['server'], config?: BuildConfig): Promise<FastifyInstance>
