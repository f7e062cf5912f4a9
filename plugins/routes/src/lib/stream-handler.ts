/**
 * Stream handlers in route files: an async generator function (`export async function* GET(ctx)`), or a
 * `(ctx, stream) => …` function marked with `stream()` from @nex/sse. Served as `text/event-stream`
 * through `reply.sse` (@nex/sse), which this package only knows by shape, so it does not depend on it.
 * Pure.
 */

/** The mark `stream()` of @nex/sse puts on a handler (a registered symbol: no import needed). */
export const STREAM_HANDLER = Symbol.for('@nex/sse.handler')

export function isStreamHandler (fn: unknown): boolean {
  if (typeof fn !== 'function') return false
  return (fn as unknown as Record<symbol, unknown>)[STREAM_HANDLER] === true ||
    Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]'
}

/** Whether a raw URL asks for a page's stream: `<page url>?/stream`. */
export function isStreamQuery (rawUrl: string): boolean {
  const query = rawUrl.indexOf('?/stream')
  if (query === -1 || rawUrl.indexOf('?') !== query) return false
  const after = rawUrl.charCodeAt(query + 8)
  return Number.isNaN(after) || after === 38 /* & */
}
