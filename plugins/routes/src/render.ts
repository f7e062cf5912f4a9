/**
 * Rendering: a page alone (htmx fragment) or inside its layouts (full page), and error pages.
 */
import { escapeHtml, isSafeHtml, SafeHtml } from '@nex/html'
import type { FastifyError } from 'fastify'
import type { Context, Head } from './context.js'
import { InvalidRenderResultError } from './errors.js'
import type { LayoutModule, ModuleSlot, PageModule, RenderFunction } from './modules.js'
import { displayPath } from './route-table.js'

/** A page, or special page, ready to render: its module and its layouts, outermost first. */
export interface RenderablePage {
  page: ModuleSlot<PageModule>
  layouts: Array<ModuleSlot<LayoutModule>>
  /** False when no layout sits at the pages root: the built-in document shell is used instead. */
  hasRootLayout: boolean
}

/** What `_error` pages receive as their `data`. */
export interface ErrorInfo {
  statusCode: number
  /** The error code (`FST_…`) when the error has one. */
  code?: string
  /** A message safe to show: the error's own for 4xx, a generic one for 5xx outside development. */
  message: string
  /** Only in development. */
  stack?: string
}

/** A value, or a promise of it: rendering stays synchronous until user code returns a promise. */
export type MaybePromise<T> = T | Promise<T>

/** Calls `fn` with the value now, or once the promise resolves. */
export function then<T, U> (value: MaybePromise<T>, fn: (resolved: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? Promise.resolve(value).then(fn) : fn(value)
}

/**
 * Turns what a render, layout or handler returned into markup (plain strings count as markup),
 * synchronously unless it is a promise.
 */
export function toMarkup (value: unknown, file: string, dir: string): MaybePromise<string> {
  if (typeof value === 'string') return value
  if (isSafeHtml(value)) return value.value
  if (isThenable(value)) return Promise.resolve(value).then(resolved => markupOrThrow(resolved, file, dir))
  return markupOrThrow(value, file, dir)
}

function markupOrThrow (value: unknown, file: string, dir: string): string {
  if (typeof value === 'string') return value
  if (isSafeHtml(value)) return value.value
  throw new InvalidRenderResultError(displayPath(dir, file), describe(value))
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

function resolveHead (page: PageModule, ctx: Context, data: unknown): Head {
  const head = page.head
  if (head === undefined) return {}
  return typeof head === 'function' ? head(ctx, data) : head
}

/** Renders the page's own markup (load + render); `data` skips `load` (error pages get the error). */
export function renderPageBody (target: RenderablePage, ctx: Context, dir: string, data?: { value: unknown }): MaybePromise<string> {
  const page = target.page.module
  const render = (loaded: unknown): MaybePromise<string> => {
    ctx.head = resolveHead(page, ctx, loaded)
    return toMarkup((page.default as RenderFunction)(ctx, loaded), target.page.file, dir)
  }
  if (data !== undefined) return render(data.value)
  return page.load === undefined ? render(undefined) : then(page.load(ctx), render)
}

/**
 * Wraps page markup in its layouts, innermost first, after putting it in the element that carries the
 * page-view id; without a root layout the built-in document shell is the outermost layer.
 */
export function wrapInLayouts (target: RenderablePage, ctx: Context, body: string, dir: string): MaybePromise<string> {
  const pageId = ctx.pageId
  const markup = pageId === null ? body : `<div data-nex-page-id="${pageId}">${body}</div>`
  return applyLayouts(target, ctx, markup, dir, target.layouts.length - 1)
}

function applyLayouts (target: RenderablePage, ctx: Context, markup: string, dir: string, from: number): MaybePromise<string> {
  for (let i = from; i >= 0; i--) {
    const layout = target.layouts[i] as ModuleSlot<LayoutModule>
    // `markup` is what the page and the inner layouts returned, markup by contract (see toMarkup): the
    // SafeHtml only keeps this layout's `html` from escaping it a second time.
    // eslint-disable-next-line nex/no-unsafe-raw -- the app's own rendered markup, not a request value
    const out = toMarkup(layout.module.default(ctx, new SafeHtml(markup)), layout.file, dir)
    if (typeof out !== 'string') return out.then(next => applyLayouts(target, ctx, next, dir, i - 1))
    markup = out
  }
  return target.hasRootLayout ? markup : documentShell(ctx, markup)
}

/** The document used when the app has no `pages/_layout`: enough for htmx pages to work. */
export function documentShell (ctx: Context, body: string): string {
  const title = typeof ctx.head.title === 'string' ? escapeHtml(ctx.head.title) : ''
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>${ctx.scripts().value}</head><body>${body}</body></html>`
}

/**
 * What a 5xx says outside development: never the error's own message (it may name hosts, queries,
 * paths), only what the status means for the visitor. A 503 is temporary, so it says so.
 */
const PUBLIC_5XX_MESSAGES: Readonly<Record<number, string>> = {
  503: 'The service is temporarily unavailable. Please try again in a moment.'
}

/**
 * The safe description of an error for error pages and JSON bodies. A coded 503 keeps its code in
 * production: "which dependency is down" (FST_NEX_STATE_STORE_UNAVAILABLE) helps clients and reveals nothing.
 */
export function errorInfo (error: FastifyError, statusCode: number, dev: boolean): ErrorInfo {
  const exposed = statusCode < 500 || dev
  const info: ErrorInfo = {
    statusCode,
    message: exposed ? error.message : PUBLIC_5XX_MESSAGES[statusCode] ?? 'Internal Server Error'
  }
  if (typeof error.code === 'string' && (exposed || statusCode === 503)) info.code = error.code
  if (dev && typeof error.stack === 'string') info.stack = error.stack
  return info
}

/** Built-in error markup, used when the app has no `_error` page or when it failed too. */
export function builtInErrorBody (info: ErrorInfo): string {
  const stack = info.stack === undefined ? '' : `<pre>${escapeHtml(info.stack)}</pre>`
  return `<section class="nex-error" role="alert"><h1>${info.statusCode}</h1><p>${escapeHtml(info.message)}</p>${stack}</section>`
}
