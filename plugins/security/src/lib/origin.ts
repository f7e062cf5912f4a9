/**
 * Same-origin comparison for the Fetch-Metadata / Origin check. Browsers send `Origin` as
 * `scheme://host[:port]` with the default port left out; the request's Host is `host[:port]`. They name the
 * same server when the hostnames are equal and the ports are, with 80 (http) and 443 (https) filled in
 * where left out. A Host without a port matches an Origin on its scheme's default port, so a TLS proxy
 * in front (Host `example.com`, Origin `https://example.com`) needs no configuration. Pure.
 */
import { parseHost } from './host.js'

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 }

/** An http(s) origin split into scheme, hostname and port (the default port filled in); null if not one. */
function parseOrigin (origin: string): { scheme: string, hostname: string, port: number } | null {
  const colon = origin.indexOf('://')
  if (colon === -1) return null
  const scheme = origin.slice(0, colon + 1).toLowerCase()
  const defaultPort = DEFAULT_PORTS[scheme]
  if (defaultPort === undefined) return null
  const authority = parseHost(origin.slice(colon + 3))
  if (authority === null) return null
  return { scheme, hostname: authority.hostname, port: authority.port ?? defaultPort }
}

/** Whether an `Origin` header value names the server the request's Host (`host[:port]`) names. `null` never does. */
export function isSameOrigin (origin: string, host: string): boolean {
  const from = parseOrigin(origin)
  if (from === null) return false
  const to = parseHost(host)
  if (to === null || from.hostname !== to.hostname) return false
  return to.port === null ? from.port === DEFAULT_PORTS[from.scheme] : from.port === to.port
}

/**
 * The canonical form of an http(s) origin as browsers send it (`https://example.com`, `http://localhost:3000`):
 * lower-case, default port left out, no trailing slash. `null` when `value` is not an origin (has a path,
 * query, userinfo, or another scheme).
 */
export function canonicalOrigin (value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if (DEFAULT_PORTS[url.protocol] === undefined) return null
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return null
  if (/[/?#]/.test(value.slice(url.protocol.length + 2).replace(/\/$/, ''))) return null
  return url.origin
}
