/**
 * `createServer()`: a Fastify instance with the hardened server options of `serverOptions()`, plus the
 * limits Fastify has no option for, set on the Node server it created (`server.maxConnections`).
 */
import type * as http from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import { buildServerOptions, type NexRawServer, type NexServerOptions } from './server-options.js'

/**
 * Creates the Fastify app with every socket and request limit set (see `hardenedDefaults`); throws
 * `FST_NEX_INVALID_OPTION` for a bad option. `createServer({ logger: true, trustProxy: '10.0.0.0/8' })`.
 */
export function createServer<O extends NexServerOptions = NexServerOptions> (options?: O): FastifyInstance<NexRawServer<O>> {
  const { fastify, maxConnections } = buildServerOptions(options)
  // Fastify picks the server (http, https, http2) from the options at runtime; NexRawServer<O> says which.
  const app = Fastify(fastify as FastifyHttpOptions<http.Server>)
  app.server.maxConnections = maxConnections
  return app as unknown as FastifyInstance<NexRawServer<O>>
}
