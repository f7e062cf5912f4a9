import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { PageStore } from '@nex/state'

export interface BuildConfig {
  /** Where `REDIS_URL` is read: set, page state and sessions live in that Redis; unset, in memory. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Page state store to use instead (yours to close). */
  pageStore?: PageStore
  /** Session store to use instead (yours to close). Given both stores, `REDIS_URL` is not read. */
  sessionStore?: PageStore
}

/** Builds the app (not listening): cookies, page state, sessions, file routes from src/, static files from public/. */
export declare function build (options?: FastifyServerOptions, config?: BuildConfig): Promise<FastifyInstance>
