import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface BuildConfig {
  /**
   * Where `REDIS_URL` (and `REDIS_PREFIX`) is read: set, page state and the `energy` topic live in that
   * Redis, shared by every process; unset, in memory. @default process.env
   */
  env?: NodeJS.ProcessEnv
}

/**
 * Builds the app (not listening): page state, server-sent events, file routes from src/, static files
 * from public/, and the producer that publishes a tick to the `energy` topic every second while the app
 * is ready (it stops when the app closes).
 */
export declare function build (options?: FastifyServerOptions, config?: BuildConfig): Promise<FastifyInstance>
