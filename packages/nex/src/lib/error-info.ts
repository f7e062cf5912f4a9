/**
 * What an error may show, by status, and the built-in markup for it. Pure: no Fastify imports.
 *
 * The rules are those of @nex/routes' `errorInfo` (so an app's pages and its other routes agree): 4xx
 * keep their message and code; 5xx show a generic text per status outside development, and a 503
 * keeps its code ("which dependency is down" helps clients and reveals nothing); development adds
 * the stack. One more rule here: a message that repeats the request path is replaced by the status
 * text, so nothing the client sent in the URL comes back.
 */
import { STATUS_CODES } from 'node:http'

/** The parts of an error this module reads (FastifyError, http-errors and plain `Error`s all fit). */
export interface ErrorLike {
  message?: unknown
  code?: unknown
  statusCode?: unknown
  status?: unknown
  stack?: unknown
  validation?: unknown
}

/** What an error page or JSON body may show. */
export interface ErrorInfo {
  statusCode: number
  /** The error code (`FST_…`) when it may be shown. */
  code?: string
  /** Safe to show: the error's own for 4xx, a generic one for 5xx outside development. */
  message: string
  /** Only in development. */
  stack?: string
}

const PUBLIC_5XX_MESSAGES: Readonly<Record<number, string>> = {
  503: 'The service is temporarily unavailable. Please try again in a moment.'
}

/** The status an error answers with: its own `statusCode` (or `status`) when 400–599, 400 for validation, else 500. */
export function statusOf (error: ErrorLike): number {
  const status = typeof error.statusCode === 'number' ? error.statusCode : error.status
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return status
  return error.validation !== undefined && error.validation !== null ? 400 : 500
}

/** The reason phrase of a status (`Not Found`), or a generic one for unregistered codes. */
export function reasonOf (statusCode: number): string {
  return STATUS_CODES[statusCode] ?? (statusCode >= 500 ? 'Server Error' : 'Client Error')
}

/** Whether `message` repeats the request path (raw or decoded), which must never be sent back. */
export function echoesPath (message: string, url: string): boolean {
  const end = url.indexOf('?')
  const path = end === -1 ? url : url.slice(0, end)
  if (path.length <= 1) return false
  if (message.includes(path)) return true
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return false
  }
  return decoded !== path && message.includes(decoded)
}

export function errorInfo (error: ErrorLike, statusCode: number, dev: boolean, url: string): ErrorInfo {
  const exposed = statusCode < 500 || dev
  const own = typeof error.message === 'string' && error.message !== '' ? error.message : reasonOf(statusCode)
  const message = !exposed
    ? PUBLIC_5XX_MESSAGES[statusCode] ?? reasonOf(statusCode)
    : echoesPath(own, url) ? reasonOf(statusCode) : own
  const info: ErrorInfo = { statusCode, message }
  if (typeof error.code === 'string' && (exposed || statusCode === 503)) info.code = error.code
  if (dev && typeof error.stack === 'string') info.stack = error.stack
  return info
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string)
}

/** The built-in error markup for an htmx partial request (same shape as @nex/routes' built-in one). */
export function errorFragment (info: ErrorInfo): string {
  const stack = info.stack === undefined ? '' : `<pre>${escapeHtml(info.stack)}</pre>`
  return `<section class="nex-error" role="alert"><h1>${info.statusCode}</h1><p>${escapeHtml(info.message)}</p>${stack}</section>`
}

/** The built-in error document: no script and no inline style, so it passes any CSP. */
export function errorDocument (info: ErrorInfo): string {
  const title = escapeHtml(`${info.statusCode} ${reasonOf(info.statusCode)}`)
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${title}</title></head><body>${errorFragment(info)}</body></html>`
}

/** The JSON body of an API error: `{ statusCode, code?, error, message }`. */
export function errorJson (info: ErrorInfo): string {
  const body: Record<string, unknown> = { statusCode: info.statusCode }
  if (info.code !== undefined) body.code = info.code
  body.error = reasonOf(info.statusCode)
  body.message = info.message
  return JSON.stringify(body)
}
