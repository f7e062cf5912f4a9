import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface BuildConfig {
  /**
   * Where `REDIS_URL` is read: set, page state and the rooms' messages live in that Redis (shared by every
   * process); unset, in memory. @default process.env
   */
  env?: NodeJS.ProcessEnv
}

/** Builds the app (not listening): page state, server-sent events, file routes from src/, static files from public/. */
export declare function build (options?: FastifyServerOptions, config?: BuildConfig): Promise<FastifyInstance>
