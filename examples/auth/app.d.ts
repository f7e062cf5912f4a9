import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { PageStore } from '@nex/state'

export interface AppStores {
  /** Page state store (default: @nex/state's memory store). Yours to close. */
  pageStore?: PageStore
  /** Session store (default: @nex/session's memory store). Yours to close. */
  sessionStore?: PageStore
}

/** Builds the app (not listening): cookies, page state, sessions, file routes from src/, static files from public/. */
export declare function build (options?: FastifyServerOptions, stores?: AppStores): Promise<FastifyInstance>
