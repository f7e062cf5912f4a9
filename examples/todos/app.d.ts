import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface BuildConfig {
  /** Where `REDIS_URL` is read: set, page state lives in that Redis; unset, in memory. @default process.env */
  env?: NodeJS.ProcessEnv
}

/** Builds the app (not listening): page state, file routes from src/, static files from public/. */
export declare function build (options?: FastifyServerOptions, config?: BuildConfig): Promise<FastifyInstance>
