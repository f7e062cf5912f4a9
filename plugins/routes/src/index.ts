/**
 * @nex/routes — file-based routing for Fastify.
 *
 * At registration it scans `<dir>/pages` and `<dir>/api`, loads every module once (through one module
 * loader) and registers real Fastify routes: page GETs (full page or htmx fragment by request headers),
 * page actions (`POST <page>?/<name>`), API methods (405 with `Allow` for the others), a not-found page
 * and error pages. It serves htmx and the Nex client below `<prefix>/_nex/`.
 *
 * Decorator: `fastify.nexRoutes` (the route table, for listings and live reload).
 * Wrapped in fastify-plugin so the decorator reaches the parent; the routes themselves live in an
 * encapsulated child context (with the prefix), so the form-body parser, the not-found handler and error
 * handlers it installs never touch the app's hand-written routes.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import formBody from '@fastify/formbody'
import { normalizeOptions, type NormalizedRoutesOptions, type RoutesOptions } from './options.js'
import { registerAssets } from './assets.js'
import { actionHandler, apiErrorHandler, apiHandler, notFoundHandler, pageErrorHandler, pageHandler, type ErrorHandler, type HandlerEnv } from './handlers.js'
import { API_METHODS, ModuleRegistry, type ApiModule, type LayoutModule, type ModuleSlot, type PageModule } from './modules.js'
import { buildRouteTable, displayPath, type ApiEntry, type PageEntry, type SpecialPage } from './route-table.js'
import type { RenderablePage } from './render.js'
import { isStreamHandler } from './lib/stream-handler.js'
import { socketRouteOptions } from './socket-route.js'
import { SseNotRegisteredError } from './errors.js'

export type { RoutesOptions } from './options.js'
export { Context, NexResponse, type Head, type Params, type RedirectOptions } from './context.js'
export { createModuleLoader, type ModuleLoader, type ModuleNamespace } from './loader.js'
export type { ActionFunction, HandlerResult, LayoutFunction, LoadFunction, PageModule, RenderFunction, ApiModule } from './modules.js'
export type { ErrorInfo } from './render.js'
export { isSameOriginPath } from './lib/redirect.js'
export { wantsFullPage, isHtmxRequest, PAGE_VARY } from './lib/request-kind.js'
export { isStreamHandler } from './lib/stream-handler.js'
export type { StreamFunction } from './modules.js'
export * as errors from './errors.js'

/** One row of the route table (what `nex routes` prints). */
export interface RouteListing {
  kind: 'page' | 'api'
  /** URLs with the prefix, in Fastify syntax (`/users/:id`, `/docs/*`). */
  urls: string[]
  methods: string[]
  /** The file, relative to `dir`. */
  file: string
  /** Action names of a page. */
  actions: string[]
}

export interface NexRoutesApi {
  /** Every route of every registration of @nex/routes. */
  readonly routes: RouteListing[]
  /** Reloads a module file in place (live reload). Resolves false when no route uses it. */
  reload (file: string): Promise<boolean>
  /**
   * Sends `error` as the app's `pages/_error` page (in its layouts for a full page, bare for an htmx
   * partial request; built-in markup without one), with the status of the error and no 5xx message
   * outside development. For the app-wide error handler of routes @nex/routes did not register.
   */
  renderError (error: Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
}

declare module 'fastify' {
  interface FastifyInstance {
    nexRoutes: NexRoutesApi
  }
}

const ACTION_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

/** Whether a layout chain starts with the root layout (which renders the document itself). */
function startsWithRoot (layouts: readonly string[], rootLayout: string | null): boolean {
  return rootLayout !== null && layouts[0] === rootLayout
}

async function loadSpecial (registry: ModuleRegistry, special: SpecialPage | null, rootLayout: string | null): Promise<RenderablePage | null> {
  if (special === null) return null
  return {
    page: await registry.load<PageModule>(special.file, 'page'),
    layouts: await loadLayouts(registry, special.layouts),
    hasRootLayout: startsWithRoot(special.layouts, rootLayout)
  }
}

async function loadLayouts (registry: ModuleRegistry, files: readonly string[]): Promise<Array<ModuleSlot<LayoutModule>>> {
  const slots: Array<ModuleSlot<LayoutModule>> = []
  for (const file of files) slots.push(await registry.load<LayoutModule>(file, 'layout'))
  return slots
}

/** The schemas a route uses, leaving out absent ones (Fastify warns about keys set to undefined). */
function pick (schema: FastifySchema, keys: ReadonlyArray<keyof FastifySchema>): FastifySchema {
  const picked: FastifySchema = {}
  for (const key of keys) if (schema[key] !== undefined) (picked as Record<string, unknown>)[key] = schema[key]
  return picked
}

function routeConfig (mod: { config?: Record<string, unknown> }, nex: Record<string, unknown>): Record<string, unknown> {
  return { ...(mod.config ?? {}), nex }
}

async function nexRoutes (app: FastifyInstance, options: RoutesOptions): Promise<void> {
  const opts: NormalizedRoutesOptions = normalizeOptions(options)
  const table = await buildRouteTable(opts.dir)
  const registry = new ModuleRegistry(opts.loader, opts.dir)

  const pages: Array<{ entry: PageEntry, target: RenderablePage, errorPage: RenderablePage | null }> = []
  for (const entry of table.pages) {
    const layouts = await loadLayouts(registry, entry.layouts)
    const target: RenderablePage = {
      page: await registry.load<PageModule>(entry.file, 'page'),
      layouts,
      hasRootLayout: startsWithRoot(entry.layouts, table.rootLayout)
    }
    pages.push({ entry, target, errorPage: await loadSpecial(registry, entry.errorPage, table.rootLayout) })
  }
  const apis: Array<{ entry: ApiEntry, slot: ModuleSlot<ApiModule> }> = []
  for (const entry of table.api) apis.push({ entry, slot: await registry.load<ApiModule>(entry.file, 'api') })
  const notFoundPage = await loadSpecial(registry, table.notFound, table.rootLayout)
  const rootErrorPage = await loadSpecial(registry, table.rootError, table.rootLayout)

  const listing: RouteListing[] = [
    ...pages.map(({ entry, target }) => ({
      kind: 'page' as const,
      urls: entry.urls.map(url => opts.prefix + url),
      methods: ['GET', 'HEAD', ...(target.page.module.actions === undefined ? [] : ACTION_METHODS)],
      file: displayPath(opts.dir, entry.file),
      actions: Object.keys(target.page.module.actions ?? {})
    })),
    ...apis.map(({ entry, slot }) => ({
      kind: 'api' as const,
      urls: entry.urls.map(url => opts.prefix + url),
      methods: API_METHODS.filter(m => typeof slot.module[m] === 'function' || (m === 'HEAD' && typeof slot.module.GET === 'function')),
      file: displayPath(opts.dir, entry.file),
      actions: []
    }))
  ]
  // The first registration's error page serves renderError (a second one, under another prefix, adds routes).
  let renderError: ErrorHandler | null = null
  if (app.hasDecorator('nexRoutes')) {
    app.nexRoutes.routes.push(...listing)
  } else {
    app.decorate('nexRoutes', {
      routes: listing,
      reload: async (file: string) => await registry.reload(file),
      renderError: async (error: Error, request: FastifyRequest, reply: FastifyReply) => {
        // Only before the routes finished registering: nothing to render with yet.
        if (renderError === null) throw error
        await renderError.call(app, error as FastifyError, request, reply)
        return reply
      }
    })
  }

  await app.register(async function nexRouteContext (child) {
    if (!child.hasContentTypeParser('application/x-www-form-urlencoded')) await child.register(formBody)
    const assets = opts.assets ? await registerAssets(child, opts.prefix, opts.htmx, opts.dir) : null
    const env: HandlerEnv = { prefix: opts.prefix, assets, dir: opts.dir, dev: opts.dev }
    // A shell for error pages of apps without layouts: the built-in document only.
    const rootLayouts = table.rootLayout === null ? [] : await loadLayouts(registry, [table.rootLayout])
    const shell: RenderablePage = {
      page: { file: '(built-in)', kind: 'page', module: { default: () => '' } },
      layouts: rootLayouts,
      hasRootLayout: rootLayouts.length > 0
    }
    // A stream handler without @nex/sse is a startup error, not a 500 on the first request.
    if (!child.hasReplyDecorator('sse')) {
      const streaming = pages.find(({ target }) => target.page.module.stream !== undefined)?.entry.file ??
        apis.find(({ slot }) => API_METHODS.some(m => isStreamHandler(slot.module[m])))?.entry.file
      if (streaming !== undefined) throw new SseNotRegisteredError(displayPath(opts.dir, streaming))
    }
    const rootErrorHandler = pageErrorHandler(rootErrorPage, shell, env)
    child.setErrorHandler(rootErrorHandler)
    renderError = rootErrorHandler

    for (const { entry, target, errorPage } of pages) {
      const mod = target.page.module
      const errorHandler = errorPage === null ? rootErrorHandler : pageErrorHandler(errorPage, shell, env)
      const file = displayPath(opts.dir, entry.file)
      const schema = mod.schema ?? {}
      for (const url of entry.urls) {
        child.route({
          method: 'GET',
          url,
          handler: pageHandler(target, entry.params, env),
          errorHandler,
          schema: pick(schema, ['params', 'querystring']),
          config: routeConfig(mod, { kind: 'page', file })
        })
        child.route({
          method: [...ACTION_METHODS],
          url,
          handler: actionHandler(target, entry.params, env),
          errorHandler,
          bodyLimit: opts.actionBodyLimit,
          schema: pick(schema, ['params', 'body']),
          config: routeConfig(mod, { kind: 'action', file })
        })
      }
    }

    const apiErrors = apiErrorHandler(env)
    for (const { entry, slot } of apis) {
      const mod = slot.module
      const file = displayPath(opts.dir, entry.file)
      const ownHead = typeof mod.HEAD === 'function'
      for (const url of entry.urls) {
        for (const method of API_METHODS) {
          if (method === 'HEAD' && !ownHead) continue
          const route: RouteOptions = {
            method,
            url,
            handler: apiHandler(slot, method, entry.params, env),
            errorHandler: apiErrors,
            config: routeConfig(mod, { kind: 'api', file })
          }
          if (method === 'GET' && ownHead) route.exposeHeadRoute = false
          if (method === 'GET' && mod.socket !== undefined) Object.assign(route, socketRouteOptions(child, slot, entry.params, env))
          const schema = mod.schema?.[method]
          if (schema !== undefined) route.schema = schema
          child.route(route)
        }
      }
    }

    if (opts.notFound) child.setNotFoundHandler(notFoundHandler(notFoundPage, shell, env))
  }, { prefix: opts.prefix })
}

const plugin = fp(nexRoutes, { fastify: '5.x', name: '@nex/routes' })
export { plugin as nexRoutes }
export default plugin
