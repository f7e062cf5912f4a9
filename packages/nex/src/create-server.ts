/**
 * `createServer()`: a Fastify instance with the hardened server options of `serverOptions()`, plus the
 * limits Fastify has no option for: on the Node server it created, `server.maxConnections` (by default
 * under the open-files limit); on the root instance, a JSON parser refusing bodies nested deeper than
 * `maxJsonDepth`; and `Expect: 100-continue` answered only once the app reads the body (`checkContinue`).
 */
import type * as http from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import { installJsonParser } from './json-parser.js'
import { buildServerOptions, type NexRawServer, type NexServerOptions } from './server-options.js'

/**
 * Creates the Fastify app with every socket and request limit set (see `hardenedDefaults`); throws
 * `FST_NEX_INVALID_OPTION` for a bad option. `createServer({ logger: true, trustProxy: '10.0.0.0/8' })`.
 */
export function createServer<O extends NexServerOptions = NexServerOptions> (options?: O): FastifyInstance<NexRawServer<O>> {
  const { fastify, maxConnections, maxJsonDepth, warnings } = buildServerOptions(options)
  // Fastify picks the server (http, https, http2) from the options at runtime; NexRawServer<O> says which.
  const app = Fastify(fastify as FastifyHttpOptions<http.Server>)
  app.server.maxConnections = maxConnections
  for (const warning of warnings) app.log.warn({ maxConnections }, warning)
  installJsonParser(app, maxJsonDepth)
  if (fastify.http2 !== true) continueOnRead(app.server)
  return app as unknown as FastifyInstance<NexRawServer<O>>
}

/**
 * `Expect: 100-continue` (HTTP/1.1). Left alone, Node answers `100 Continue` before the app has seen the
 * request, inviting a client to upload a body the app then refuses (over `bodyLimit`, unauthorised). Here
 * the request goes to the app at once and `100 Continue` is written only when something starts reading
 * the body (a `data` or `readable` listener on the request). Fastify does that after routing, the
 * `onRequest` and `preParsing` hooks and its check of `Content-Length` against the route's own `bodyLimit`:
 * an upload route with a bigger limit still gets its 100, a body announced over the limit gets `413`
 * without one. Node closes the connection after a final answer sent before the 100 (the client may or
 * may not send the body after it).
 */
function continueOnRead (server: http.Server): void {
  server.on('checkContinue', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const invite = (event: string | symbol): void => {
      if (event !== 'data' && event !== 'readable') return
      request.off('newListener', invite)
      if (!response.headersSent) response.writeContinue()
    }
    request.on('newListener', invite)
    server.emit('request', request, response)
  })
}
