/**
 * Which pages may open event streams. A stream is a GET, so CORS does not stop another site from opening
 * one with the visitor's cookies (an `EventSource` with credentials, or `fetch`): it cannot read a
 * cross-origin response without CORS headers, but it can keep the connection (and our memory) busy, and a
 * misconfigured CORS would hand it the data. So cross-site stream requests are refused. Pure.
 *
 * Browsers send `Origin` on cross-origin requests and `Sec-Fetch-Site` on all of them; a request with
 * neither comes from a non-browser client (curl, a server), which origin checks cannot and need not stop.
 */

/** `'same'`: the page's own origin only; a list of origins (`https://app.example.com`); or a function. */
export type AllowedOrigins = 'same' | readonly string[] | ((origin: string) => boolean)

/** Whether a request with these headers may open a stream. `host` is the request's Host (with port). */
export function originAllowed (origin: string | undefined, fetchSite: string | undefined, host: string, allowed: AllowedOrigins): boolean {
  if (origin === undefined) return fetchSite !== 'cross-site'
  if (sameHost(origin, host)) return true
  if (allowed === 'same') return false
  if (typeof allowed === 'function') return allowed(origin)
  return allowed.includes(origin)
}

function sameHost (origin: string, host: string): boolean {
  // `null` (sandboxed frames, file: pages) has no host.
  const slashes = origin.indexOf('//')
  if (slashes === -1) return false
  return origin.slice(slashes + 2) === host
}
