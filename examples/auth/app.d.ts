import type { FastifyInstance } from 'fastify'
import type { CreateAppOptions, NexOptions } from 'nex'
import type { PageStore } from '@nex/state'

/**
 * Options of the `nex` preset over the app's defaults (each part: its plugin's options, or `false`),
 * e.g. `{ security: { rateLimit: { login: { max: 1_000 } } } }` for a load test, plus stores to use.
 */
export type BuildConfig = Partial<NexOptions> & {
  /**
   * Where `NODE_ENV`, `NEX_SECRET` and `REDIS_URL` are read: with `REDIS_URL`, page state, sessions and
   * rate-limit counters live in that Redis; without `NEX_SECRET`, production keeps a generated secret in
   * `.nex-secret`. @default process.env
   */
  env?: NodeJS.ProcessEnv
  /** Page state store to use instead (yours to close). */
  pageStore?: PageStore
  /** Session store to use instead (yours to close). Given both stores, `REDIS_URL` is not read. */
  sessionStore?: PageStore
}

/**
 * Builds the app on the `nex` preset (not listening), with a login check in front of the pages that
 * export `config = { auth: true }`: security (CSP nonces, CSRF, rate limits, the login action
 * login-like), page state, sessions, file routes from src/, static files from public/, health,
 * metrics, error pages.
 */
export declare function build (server?: CreateAppOptions['server'], config?: BuildConfig): Promise<FastifyInstance>
