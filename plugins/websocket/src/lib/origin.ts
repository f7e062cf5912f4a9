/**
 * Origins: the `Origin` header of a WebSocket upgrade against the allowed origins. Pure functions, no
 * Fastify.
 */

const WEB_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:'])

/**
 * `value` as an origin in its canonical form (`scheme://host[:port]`, lowercase, default port dropped), or
 * null when it is not an http(s) origin (garbage, `null`, another scheme). A path of `/` is tolerated.
 */
export function canonicalOrigin (value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if (!WEB_SCHEMES.has(url.protocol) || url.username !== '' || url.password !== '') return null
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return null
  return url.origin
}

/**
 * Whether `origin` names the host the request was sent to: the origin's `host[:port]` equals `host` (the
 * `Host` header), default ports being equal to none. The scheme is not compared: behind a TLS-terminating
 * proxy the server cannot see it.
 */
export function isSameOrigin (origin: string, host: string | undefined): boolean {
  const canonical = canonicalOrigin(origin)
  if (canonical === null || host === undefined || host === '') return false
  const scheme = canonical.slice(0, canonical.indexOf('//'))
  // The Host header read as an origin of the same scheme: a path or credentials in it make it no host.
  return canonicalOrigin(`${scheme}//${host}`) === canonical
}
