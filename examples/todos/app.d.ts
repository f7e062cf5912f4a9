import type { FastifyInstance, FastifyServerOptions } from 'fastify'

/** Builds the app (not listening): page state, file routes from src/, static files from public/. */
export declare function build (options?: FastifyServerOptions): Promise<FastifyInstance>
