/**
 * Reads what kind of request htmx (2 or 4) made, from its headers. Pure.
 *
 * A full page (the page inside its layouts) is rendered for a non-htmx request, and for htmx requests
 * that replace the whole body: `HX-Request-Type: full` (htmx 4), boosted navigation and history restore.
 * Everything else from htmx (`HX-Request-Type: partial`, or htmx 2's bare `HX-Request`) gets the bare page.
 */
import type { IncomingHttpHeaders } from 'node:http'

/** The `Vary` value of every page response: the body depends on these request headers. */
export const PAGE_VARY = 'HX-Request, HX-Request-Type'

export function isHtmxRequest (headers: IncomingHttpHeaders): boolean {
  return headers['hx-request'] === 'true'
}

export function wantsFullPage (headers: IncomingHttpHeaders): boolean {
  if (headers['hx-request'] !== 'true') return true
  const type = headers['hx-request-type']
  if (type === 'full') return true
  if (type === 'partial') return false
  return headers['hx-boosted'] === 'true' || headers['hx-history-restore-request'] === 'true'
}
