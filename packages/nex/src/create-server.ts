/**
 * `createServer()`: a Fastify instance with the hardened server options of `serverOptions()`, plus the
 * limits Fastify has no option for: on the Node server it created, `server.maxConnections` (by default
 * under the open-files limit); on the root instance, a JSON parser refusing bodies nested deeper than
 * `maxJsonDepth`; `Expect: 100-continue` answered only once the app reads the body (`checkContinue`); and
 * with HTTP/2, header lists over the advertised `maxHeaderListSize` refused with 431 (see below).
 */
import type * as http from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import { installJsonParser } from './json-parser.js'
import { buildServerOptions, HTTP2_MAX_HEADER_LIST_SIZE, type NexRawServer, type NexServerOptions } from './server-options.js'
import { FST_NEX_HEADER_LIST_TOO_LARGE } from './errors.js'

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
  else refuseLargeHeaderLists(app, headerListLimit(fastify.https ?? fastify.http))
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

/**
 * HTTP/2 applies the `maxHeaderListSize` the server advertises only once the client acknowledges its
 * SETTINGS, and a client may send requests before that (nghttp does): such a request, up to Node's own
 * 64 KiB, would reach the app. This hook counts the list as RFC 9113 §6.5.2 does (name + value + 32 per
 * field, pseudo-headers included) and answers 431 above the limit, before any other hook of the app.
 */
/** The `maxHeaderListSize` the HTTP/2 server advertises (the app's own, else ours). */
function headerListLimit (server: unknown): number {
  const limit = (server as { settings?: { maxHeaderListSize?: unknown } } | undefined)?.settings?.maxHeaderListSize
  return typeof limit === 'number' ? limit : HTTP2_MAX_HEADER_LIST_SIZE
}

function refuseLargeHeaderLists (app: FastifyInstance, limit: number): void {
  app.addHook('onRequest', function refuseLargeHeaderList (request, _reply, done) {
    const raw = request.raw.rawHeaders
    let size = 0
    for (let i = 0; i < raw.length; i += 2) size += (raw[i] as string).length + (raw[i + 1] as string).length + 32
    done(size > limit ? new FST_NEX_HEADER_LIST_TOO_LARGE(size, limit) : undefined)
  })
}
