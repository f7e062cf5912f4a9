/**
 * nexErrors: one way of answering errors for the whole app, so hand-written routes, plugin routes
 * (static files, health, metrics), unknown URLs and Fastify's own router errors answer like
 * @nex/routes' pages do.
 *
 * - Root error handler (`setErrorHandler`): status from the error (400–599, validation 400, else 500);
 *   no 5xx message or stack outside development (a 503 keeps its code and `Retry-After`); a message
 *   that repeats the URL is replaced by the status text. Logs the error once, with the request id
 *   (`error` for 5xx, `info` for 4xx; Fastify logs nothing more once a handler is set). Answers by
 *   request kind: JSON `{ statusCode, code?, error, message }` for API requests (route `config.nex.kind`
 *   is `'api'`, URL under `/api`, or `Accept` preferring JSON), an htmx fragment for htmx partial
 *   requests, a full HTML page otherwise. HTML is delegated to `fastify.nexRoutes.renderError` when
 *   @nex/routes is registered (the app's `_error` page in its layouts); the built-in markup is escaped and
 *   has no script or inline style. Always `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`;
 *   HTML carries `Vary: HX-Request, HX-Request-Type`.
 * - Root not-found answer (`notFound`): a 404 "Not found" through the same path. It is a `preHandler` on
 *   Fastify's default not-found context, not a not-found handler, so any handler the app sets at the
 *   root, before or after this plugin (@nex/routes with the `''` prefix), replaces it instead of failing
 *   with "Not found handler already set".
 * - `frameworkErrors` (framework-errors.ts, set by `serverOptions()`): bad URL encoding (400) and
 *   parameters over `maxParamLength` (414) reach the same path through `fastify.nexErrors.send`, with a
 *   message that does not repeat the URL.
 *
 * Decorator: `fastify.nexErrors` (`dev`, `send(error, request, reply)` for plugins that answer an error
 * outside a route, such as `frameworkErrors`).
 *
 * Wrapped in fastify-plugin: the error handler and the decorator belong to the root. Register it first,
 * before the plugins and routes it covers: a route keeps the error handler its context had when it was
 * added.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { PAGE_VARY, wantsFullPage } from '@nex/routes'
import { FST_NEX_ERRORS_ALREADY_REGISTERED, FST_NEX_NOT_FOUND } from './app-errors.js'
import { normalizeErrorsOptions, type ErrorHandlerOptions } from './error-handler-options.js'
import { echoesPath, errorDocument, errorFragment, errorInfo, errorJson, reasonOf, statusOf, type ErrorLike } from './lib/error-info.js'
import { wantsJson } from './lib/request-kind.js'

export interface NexErrorsApi {
  /** Whether 5xx answers show their message and stack. */
  readonly dev: boolean
  /**
   * Answers `error` the way the root error handler does (status, logging, kind of answer), resolving
   * once the answer is sent. Never rejects: a failure while answering is logged and answered with a
   * bare 500.
   */
  send (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app-wide error answer of nexErrors. */
    nexErrors: NexErrorsApi
  }
}

/** `fastify.nexRoutes.renderError` of @nex/routes: the app's `_error` page, by request kind. */
type RenderError = (error: Error, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

const HTML = 'text/html; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'

/** The route's `config.nex.kind` (@nex/routes and nex plugins set it), if any. */
function routeKindOf (request: FastifyRequest): unknown {
  const config = request.routeOptions.config as { nex?: { kind?: unknown } } | undefined
  return config?.nex?.kind
}

function toError (thrown: unknown): Error & ErrorLike {
  if (thrown instanceof Error) return thrown
  if (typeof thrown === 'object' && thrown !== null && typeof (thrown as ErrorLike).message === 'string') {
    return Object.assign(new Error((thrown as ErrorLike).message as string), thrown)
  }
  return new Error(typeof thrown === 'string' ? thrown : 'Non-error value thrown')
}

/**
 * The error @nex/routes renders: the same error when it already says what may be shown, else one
 * with the status decided here and a message that does not repeat the URL (code and cause kept).
 */
function shownError (error: Error & ErrorLike, statusCode: number, url: string): Error {
  const repeatsUrl = statusCode < 500 && echoesPath(error.message, url)
  if (error.statusCode === statusCode && !repeatsUrl) return error
  const properties: PropertyDescriptorMap = { statusCode: { value: statusCode, enumerable: true } }
  if (repeatsUrl) {
    properties.message = { value: reasonOf(statusCode) }
    properties.stack = { value: `${error.name}: ${reasonOf(statusCode)}` }
  }
  return Object.create(error, properties) as Error
}

function logError (request: FastifyRequest, error: Error & ErrorLike, statusCode: number): void {
  if (statusCode >= 500) request.log.error({ err: error }, error.message)
  else if (error.code === 'FST_NEX_NOT_FOUND') request.log.info('nex-errors: no route matches the URL') // like Fastify's, no stack
  else request.log.info({ err: error }, error.message)
}

/** Status, error headers (as Fastify's own handler applies them) and the headers every error answer has. */
function prepare (reply: FastifyReply, error: ErrorLike & { headers?: unknown }, statusCode: number): void {
  reply.code(statusCode)
  if (typeof error.headers === 'object' && error.headers !== null) reply.headers(error.headers as Record<string, string>)
  reply.removeHeader('etag')
  reply.removeHeader('last-modified')
  reply.header('cache-control', 'no-store')
  reply.header('x-content-type-options', 'nosniff')
}

/** Sends the answer to `error`; logs it unless @nex/routes rendered it (it logs what it renders). */
async function answer (error: Error & ErrorLike, statusCode: number, request: FastifyRequest, reply: FastifyReply, dev: boolean, render: RenderError | null): Promise<void> {
  const kind = wantsJson(request.url, request.headers.accept, routeKindOf(request))
    ? 'api'
    : wantsFullPage(request.headers) ? 'page' : 'fragment'
  prepare(reply, error, statusCode)
  if (kind !== 'api' && render !== null) {
    try {
      await render(shownError(error, statusCode, request.url), request, reply)
    } catch (failure) {
      if (failure !== error) request.log.error({ err: failure }, 'nex-errors: nexRoutes.renderError failed; sending the built-in error page')
    }
    if (reply.sent) return
  }
  logError(request, error, statusCode)
  const info = errorInfo(error, statusCode, dev, request.url)
  if (kind === 'api') {
    reply.type(JSON_TYPE).send(errorJson(info))
  } else {
    reply.header('vary', PAGE_VARY).type(HTML).send(kind === 'page' ? errorDocument(info) : errorFragment(info))
  }
}

function createSender (dev: boolean, renderer: () => RenderError | null): NexErrorsApi['send'] {
  return async function sendError (thrown, request, reply) {
    const error = toError(thrown)
    const statusCode = statusOf(error)
    if (reply.sent || reply.raw.headersSent) {
      // Too late to answer (a stream failed after its headers): Fastify ends the response.
      logError(request, error, statusCode)
      return
    }
    try {
      await answer(error, statusCode, request, reply, dev, renderer())
    } catch (failure) {
      // Never rethrow: Fastify would hand the error to its default handler, which sends the message.
      request.log.error({ err: failure }, 'nex-errors: answering an error failed; sending a bare 500')
      if (!reply.sent && !reply.raw.headersSent) {
        reply.code(500).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send('Internal Server Error')
      }
    }
    // Resolve once the answer is out: callers in hooks and async handlers must not send again.
    await new Promise<void>((resolve) => { reply.then(resolve, () => resolve()) })
  }
}

/** The body of a 5xx when everything else failed: status and code, never the message. */
const GENERIC_5XX_SCHEMA = Object.freeze({
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' } }
})

async function plugin (fastify: FastifyInstance, options: ErrorHandlerOptions): Promise<void> {
  const { dev, notFound } = normalizeErrorsOptions(options)
  if (fastify.hasDecorator('nexErrors')) throw new FST_NEX_ERRORS_ALREADY_REGISTERED()

  /** `nexRoutes.renderError` once every plugin is loaded (@nex/routes comes after this plugin). */
  let renderError: RenderError | null = null
  const send = createSender(dev, () => renderError)
  fastify.decorate('nexErrors', Object.freeze({ dev, send }))

  fastify.addHook('onReady', function findErrorPage (done) {
    const routes = fastify.hasDecorator('nexRoutes') ? fastify.nexRoutes : null
    renderError = typeof routes?.renderError === 'function' ? routes.renderError.bind(routes) : null
    done()
  })

  fastify.setErrorHandler(async function nexErrorHandler (error, request, reply) {
    await send(error, request, reply)
  })

  // When the error answer fails too (an onSend hook that throws on every response), Fastify's last
  // resort serializes `error.message` into JSON. It uses the route's response schema when there is one,
  // and a schema keeps only the properties it lists: so in production every route gets one for 5xx
  // without `message` (a route's own 5xx schema wins).
  if (!dev) {
    fastify.addHook('onRoute', function withoutMessageOn5xx (route) {
      const response = (route.schema?.response ?? {}) as Record<string, unknown>
      if (response['5xx'] !== undefined || Object.keys(response).some((status) => status.startsWith('5'))) return
      route.schema = { ...route.schema, response: { ...response, '5xx': GENERIC_5XX_SCHEMA } }
    })
  }

  if (notFound && fastify.prefix !== '') {
    fastify.log.warn('nex-errors: registered below the prefix %s, so it answers no unknown URLs; register it at the root', fastify.prefix)
  } else if (notFound) {
    // A preHandler on Fastify's default not-found context (no handler given, so the root stays free for
    // the app's own): a handler set at the root later replaces the whole context, this hook included.
    const setDefaultNotFound = fastify.setNotFoundHandler as unknown as (this: FastifyInstance, options: object) => FastifyInstance
    try {
      setDefaultNotFound.call(fastify, {
        preHandler: async function nexNotFound (request: FastifyRequest, reply: FastifyReply) {
          await send(new FST_NEX_NOT_FOUND(), request, reply)
        }
      })
    } catch {
      // The app set its own not-found handler at the root before this plugin: that one answers.
      fastify.log.debug('nex-errors: the app has its own not-found handler at the root; nexErrors leaves 404s to it')
    }
  }
}

export const nexErrors = fp(plugin, { fastify: '5.x', name: 'nex-errors' })
export default nexErrors

export { frameworkErrors } from './framework-errors.js'
export { ERRORS_DEFAULTS } from './error-handler-options.js'
export type { ErrorHandlerOptions } from './error-handler-options.js'
export type { ErrorInfo } from './lib/error-info.js'
