/**
 * Fastify handlers generated from route files: page GET, page actions, API methods, error pages and
 * the not-found page. Handlers read their module from its slot on every request (one property read),
 * so a reloaded module serves the next request.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isSafeHtml } from '@nex/html'
import { Context, NexResponse, sendNexResponse, type ContextEnv, type Params } from './context.js'
import { MethodNotAllowedError, SseNotRegisteredError, UnknownActionError } from './errors.js'
import { parseActionName } from './lib/action-name.js'
import { PAGE_VARY } from './lib/request-kind.js'
import { isStreamHandler, isStreamQuery } from './lib/stream-handler.js'
import type { ParamSpec } from './lib/route-path.js'
import type { ApiMethod, ApiModule, HandlerResult, ModuleSlot, StreamFunction } from './modules.js'
import { displayPath } from './route-table.js'
import { builtInErrorBody, errorInfo, renderPageBody, then, wrapInLayouts, type ErrorInfo, type MaybePromise, type RenderablePage } from './render.js'

export interface HandlerEnv extends ContextEnv {
  readonly dir: string
  readonly dev: boolean
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown
export type ErrorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

const HTML = 'text/html; charset=utf-8'

/**
 * Builds `ctx.params` from Fastify's params: strings for `[x]`, arrays for catch-alls (split on `/`).
 * Returns null when a required catch-all is empty (`/docs/` for `docs/[...slug]`): that URL is not found.
 */
export function buildParams (specs: readonly ParamSpec[], raw: unknown): Params | null {
  const params: Params = {}
  if (specs.length === 0) return params
  const values = raw as Record<string, string | undefined>
  for (const spec of specs) {
    if (spec.kind === 'single') {
      params[spec.name] = values[spec.name] as string
      continue
    }
    const rest = values['*']
    const parts = rest === undefined || rest === '' ? [] : rest.split('/').filter(part => part !== '')
    if (spec.kind === 'rest' && parts.length === 0) return null
    params[spec.name] = parts
  }
  return params
}

/** Asks the state plugin (when registered) for a new page view: every full render is a new view. */
function startPage (request: FastifyRequest): void {
  const start = (request as FastifyRequest & { startPage?: () => unknown }).startPage
  if (typeof start === 'function') start.call(request)
}

function sendHtml (reply: FastifyReply, markup: string): FastifyReply {
  return reply.header('vary', PAGE_VARY).header('cache-control', 'private, no-cache').type(HTML).send(markup)
}

/** The page inside its layouts: synchronous unless the page's code returns promises. */
function renderFull (target: RenderablePage, ctx: Context, env: HandlerEnv): MaybePromise<string> {
  return then(renderPageBody(target, ctx, env.dir), body => wrapInLayouts(target, ctx, body, env.dir))
}

/** GET of a page: the whole page for a navigation, the bare page for an htmx partial request. */
export function pageHandler (target: RenderablePage, specs: readonly ParamSpec[], env: HandlerEnv): Handler {
  // Not async: a page whose load, render and layouts are synchronous is answered without a promise.
  return function renderPage (request, reply) {
    const params = buildParams(specs, request.params)
    if (params === null) return reply.callNotFound()
    const ctx = new Context(request, reply, params, env)
    const stream = target.page.module.stream
    if (stream !== undefined && isStreamQuery(request.raw.url ?? '')) return serveStream(ctx, stream, target.page.file, env)
    let markup: MaybePromise<string>
    if (ctx.fullPage) {
      startPage(request)
      markup = renderFull(target, ctx, env)
    } else {
      markup = renderPageBody(target, ctx, env.dir)
    }
    return typeof markup === 'string' ? sendHtml(reply, markup) : markup.then(html => sendHtml(reply, html))
  }
}

/**
 * POST/PUT/PATCH/DELETE `<page url>?/<name>`: runs the page's own action `name` (`default` without a
 * name). htmx partial requests get what the action returns; a plain form post (or a boosted one) gets the
 * page re-rendered for the same page view, unless the action returned an explicit response.
 */
export function actionHandler (target: RenderablePage, specs: readonly ParamSpec[], env: HandlerEnv): Handler {
  return async function runAction (request, reply) {
    const actions = target.page.module.actions
    if (actions === undefined) {
      reply.header('allow', 'GET, HEAD')
      throw new MethodNotAllowedError()
    }
    const name = parseActionName(request.raw.url ?? '')
    // Only the module's own names: never `toString`, `__proto__` or anything inherited.
    const action = name !== null && Object.hasOwn(actions, name) ? actions[name] : undefined
    if (typeof action !== 'function') throw new UnknownActionError()
    const params = buildParams(specs, request.params)
    if (params === null) return reply.callNotFound()
    const ctx = new Context(request, reply, params, env)
    const result = await action(ctx)
    if (reply.sent) return reply
    if (result instanceof NexResponse) return sendNexResponse(reply, result)
    if (ctx.fullPage) return sendHtml(reply, await renderFull(target, ctx, env))
    return sendResult(reply, result, true)
  }
}

/**
 * Sends what an action or API handler returned (already awaited): markup (an action's plain string is
 * markup too), `undefined` as 204, buffers and streams as they are, anything else as JSON.
 */
function sendResult (reply: FastifyReply, result: HandlerResult, fragment: boolean): FastifyReply {
  if (result instanceof NexResponse) return sendNexResponse(reply, result)
  if (result === undefined) {
    if (reply.statusCode === 200) reply.code(204)
    return reply.send()
  }
  if (typeof result === 'string') return sendHtml(reply, result)
  if (isSafeHtml(result)) return fragment ? sendHtml(reply, result.value) : reply.type(HTML).send(result.value)
  if (typeof result === 'object' && result !== null) return reply.send(result)
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(result))
}

type SseReply = FastifyReply & { sse?: (source: (stream: unknown) => unknown) => Promise<void> }

/**
 * Serves a stream handler (an async generator function, or a `stream()`-marked `(ctx, stream) => …`)
 * as `text/event-stream` through @nex/sse's `reply.sse`.
 */
function serveStream (ctx: Context, handler: StreamFunction, file: string, env: HandlerEnv): Promise<void> {
  const reply = ctx.reply as SseReply
  if (typeof reply.sse !== 'function') throw new SseNotRegisteredError(displayPath(env.dir, file))
  return reply.sse((stream) => handler(ctx, stream))
}

/** One method of an API file; a method the file does not export gets 405 with `Allow`. */
export function apiHandler (slot: ModuleSlot<ApiModule>, method: ApiMethod, specs: readonly ParamSpec[], env: HandlerEnv): Handler {
  return async function runApi (request, reply) {
    const handler = slot.module[method]
    if (typeof handler !== 'function') {
      reply.header('allow', allowedMethods(slot.module))
      throw new MethodNotAllowedError()
    }
    const params = buildParams(specs, request.params)
    if (params === null) return reply.callNotFound()
    const ctx = new Context(request, reply, params, env)
    if (isStreamHandler(handler)) return await serveStream(ctx, handler as StreamFunction, slot.file, env)
    const result = await handler(ctx)
    if (reply.sent) return reply
    // A string from an API handler is text; html`…` is markup.
    if (typeof result === 'string') return reply.type('text/plain; charset=utf-8').send(result)
    return sendResult(reply, result, false)
  }
}

export function allowedMethods (mod: ApiModule): string {
  const methods: string[] = []
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    if (typeof mod[method] === 'function') methods.push(method)
    if (method === 'HEAD' && typeof mod.GET === 'function' && typeof mod.HEAD !== 'function') methods.push('HEAD')
  }
  return methods.join(', ')
}

function statusOf (error: FastifyError): number {
  const status = error.statusCode
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500
}

function logError (request: FastifyRequest, error: FastifyError, statusCode: number): void {
  if (statusCode >= 500) request.log.error({ err: error }, error.message)
  else request.log.info({ err: error }, error.message)
}

/**
 * Renders an error (or the not-found page) as HTML: the special page inside its layouts for a full
 * page, the bare page for an htmx partial request. A failing error page falls back to built-in markup.
 */
async function renderSpecial (target: RenderablePage | null, ctx: Context, info: ErrorInfo, env: HandlerEnv, fallbackShell: RenderablePage): Promise<string> {
  try {
    const body = target === null ? builtInErrorBody(info) : await renderPageBody(target, ctx, env.dir, { value: info })
    return ctx.fullPage ? await wrapInLayouts(target ?? fallbackShell, ctx, body, env.dir) : body
  } catch (error) {
    ctx.request.log.error({ err: error }, '@nex/routes: the error page failed; sending the built-in one')
    const body = builtInErrorBody(info)
    return ctx.fullPage ? await wrapInLayouts({ ...fallbackShell, layouts: [], hasRootLayout: false }, ctx, body, env.dir) : body
  }
}

/** Error handler of page and action routes: the nearest `_error` page (or built-in markup). */
export function pageErrorHandler (target: RenderablePage | null, shell: RenderablePage, env: HandlerEnv): ErrorHandler {
  return async function renderErrorPage (error, request, reply) {
    const statusCode = statusOf(error)
    logError(request, error, statusCode)
    const info = errorInfo(error, statusCode, env.dev)
    const ctx = new Context(request, reply, {}, env)
    reply.code(statusCode)
    const markup = await renderSpecial(target, ctx, info, env, shell)
    return reply.header('vary', PAGE_VARY).header('cache-control', 'no-store').type(HTML).send(markup)
  }
}

/** Error handler of API routes: JSON, never a 5xx message or stack outside development. */
export function apiErrorHandler (env: HandlerEnv): ErrorHandler {
  return async function sendApiError (error, request, reply) {
    const statusCode = statusOf(error)
    logError(request, error, statusCode)
    const info = errorInfo(error, statusCode, env.dev)
    reply.code(statusCode).header('cache-control', 'no-store')
    return reply.send({ statusCode, code: info.code, error: httpReason(statusCode), message: info.message })
  }
}

/** The not-found handler of the routes' prefix: `_404` for pages, JSON below `<prefix>/api/`. */
export function notFoundHandler (target: RenderablePage | null, shell: RenderablePage, env: HandlerEnv): Handler {
  const apiPrefix = `${env.prefix}/api/`
  return async function renderNotFound (request, reply) {
    const info: ErrorInfo = { statusCode: 404, code: 'FST_NEX_ROUTES_NOT_FOUND', message: 'Not found' }
    reply.code(404).header('cache-control', 'no-store')
    if (request.url.startsWith(apiPrefix)) {
      return reply.send({ statusCode: 404, code: info.code, error: 'Not Found', message: info.message })
    }
    const ctx = new Context(request, reply, {}, env)
    const markup = await renderSpecial(target, ctx, info, env, shell)
    return reply.header('vary', PAGE_VARY).type(HTML).send(markup)
  }
}

function httpReason (status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error')
}
