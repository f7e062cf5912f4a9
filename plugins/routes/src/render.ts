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

/** Turns what a render, layout or handler returned into markup. Plain strings count as markup. */
export async function toMarkup (value: unknown, file: string, dir: string): Promise<string> {
  const resolved = isThenable(value) ? await value : value
  if (typeof resolved === 'string') return resolved
  if (isSafeHtml(resolved)) return resolved.value
  throw new InvalidRenderResultError(displayPath(dir, file), describe(resolved))
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

/** Renders the page's own markup (load + render). */
export async function renderPageBody (target: RenderablePage, ctx: Context, dir: string, data?: { value: unknown }): Promise<string> {
  const page = target.page.module
  const loaded = data !== undefined ? data.value : page.load === undefined ? undefined : await page.load(ctx)
  ctx.head = resolveHead(page, ctx, loaded)
  return await toMarkup((page.default as RenderFunction)(ctx, loaded), target.page.file, dir)
}

/**
 * Wraps page markup in its layouts, innermost first, after putting it in the element that carries the
 * page-view id; without a root layout the built-in document shell is the outermost layer.
 */
export async function wrapInLayouts (target: RenderablePage, ctx: Context, body: string, dir: string): Promise<string> {
  const pageId = ctx.pageId
  let markup = pageId === null ? body : `<div data-nex-page-id="${pageId}">${body}</div>`
  for (let i = target.layouts.length - 1; i >= 0; i--) {
    const layout = target.layouts[i] as ModuleSlot<LayoutModule>
    markup = await toMarkup(layout.module.default(ctx, new SafeHtml(markup)), layout.file, dir)
  }
  return target.hasRootLayout ? markup : documentShell(ctx, markup)
}

/** The document used when the app has no `pages/_layout`: enough for htmx pages to work. */
export function documentShell (ctx: Context, body: string): string {
  const title = typeof ctx.head.title === 'string' ? escapeHtml(ctx.head.title) : ''
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>${ctx.scripts().value}</head><body>${body}</body></html>`
}

/** The safe description of an error for error pages and JSON bodies. */
export function errorInfo (error: FastifyError, statusCode: number, dev: boolean): ErrorInfo {
  const info: ErrorInfo = {
    statusCode,
    message: statusCode < 500 || dev ? error.message : 'Internal Server Error'
  }
  if (typeof error.code === 'string' && (statusCode < 500 || dev)) info.code = error.code
  if (dev && typeof error.stack === 'string') info.stack = error.stack
  return info
}

/** Built-in error markup, used when the app has no `_error` page or when it failed too. */
export function builtInErrorBody (info: ErrorInfo): string {
  const stack = info.stack === undefined ? '' : `<pre>${escapeHtml(info.stack)}</pre>`
  return `<section class="nex-error" role="alert"><h1>${info.statusCode}</h1><p>${escapeHtml(info.message)}</p>${stack}</section>`
}
