/**
 * Host headers and request targets, checked before anything trusts them. Node accepts a duplicate Host
 * (the first wins), a Host with spaces or slashes, absolute-form targets (`GET http://evil/x`) and
 * un-normalised dot-segments (RELIABILITY finding 7); these functions say which requests to refuse. Pure.
 */
import { isIP, isIPv6 } from 'node:net'

/** A well-formed Host: its hostname (lower-case; IPv6 in brackets) and port (`null` when absent). */
export interface HostParts {
  readonly hostname: string
  readonly port: number | null
}

// A DNS name or IPv4 address: dot-separated labels of letters, digits, `-` and `_` (service names such as
// `my_app` in containers), with an optional trailing dot. No userinfo, spaces, slashes, percent-escapes.
const HOSTNAME = /^[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?$/
const PORT = /^[0-9]{1,5}$/
const MAX_HOSTNAME = 253

/** Splits and checks `hostname[:port]` or `[ipv6][:port]`; `null` when malformed. */
export function parseHost (value: string): HostParts | null {
  let hostname: string
  let port: string | undefined
  if (value.startsWith('[')) {
    const close = value.indexOf(']')
    if (close === -1) return null
    hostname = value.slice(0, close + 1).toLowerCase()
    const rest = value.slice(close + 1)
    if (rest !== '') {
      if (rest[0] !== ':') return null
      port = rest.slice(1)
    }
    if (!isIPv6(hostname.slice(1, -1))) return null
  } else {
    const colon = value.lastIndexOf(':')
    if (colon !== -1) {
      port = value.slice(colon + 1)
      hostname = value.slice(0, colon).toLowerCase()
    } else {
      hostname = value.toLowerCase()
    }
    if (hostname.length > MAX_HOSTNAME || !HOSTNAME.test(hostname)) return null
  }
  if (port === undefined) return { hostname, port: null }
  if (!PORT.test(port)) return null
  const number = Number(port)
  return number > 65535 ? null : { hostname, port: number }
}

// A `.` or `..` segment, literal or percent-encoded (`%2e`), between separators: `/` and `\` (which some
// file servers and browsers treat as `/`), also percent-encoded (`%2f`, `%5c`), or the end of the path.
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?:$|\/|\\|%2f|%5c)/i

/** Whether the path of a request target has dot-segments (`/../`, `/./`, a final `/..`, `%2e%2e`). */
export function hasDotSegment (target: string): boolean {
  let end = target.indexOf('?')
  const hash = target.indexOf('#')
  if (hash !== -1 && (end === -1 || hash < end)) end = hash
  const path = end === -1 ? target : target.slice(0, end)
  return DOT_SEGMENT.test(path)
}

/** Whether a request target is origin-form (`/path?query`), or `*` for OPTIONS. Absolute-form is not. */
export function isOriginForm (method: string | undefined, target: string): boolean {
  return target.charCodeAt(0) === 47 /* / */ || (target === '*' && method === 'OPTIONS')
}

// `//`, `/\` and their percent-encoded forms at the start of a path.
const NETWORK_PATH = /^\/(?:\/|\\|%2f|%5c)/i

/**
 * Whether a path starts like a network-path reference (`//evil.example/x`, `/\evil`, `/%2F…`): an app
 * that redirects to its own `request.url` (trailing-slash fixes, `?next=` defaults) would send the
 * browser to another host.
 */
export function isNetworkPathLike (target: string): boolean {
  return NETWORK_PATH.test(target)
}

/**
 * A matcher for the `allowedHosts` option: exact hostnames (`example.com`, `127.0.0.1`, `[::1]`) and
 * `*.example.com`, which matches every subdomain of example.com (not example.com itself). A trailing dot
 * (`example.com.`) is ignored. The entries must be lower-case hostnames without a port.
 */
export function createHostMatcher (allowed: readonly string[]): (hostname: string) => boolean {
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const entry of allowed) {
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1))
    else exact.add(entry)
  }
  return (hostname) => {
    const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname
    if (exact.has(name)) return true
    for (const suffix of suffixes) {
      if (name.length > suffix.length && name.endsWith(suffix)) return true
    }
    return false
  }
}

/** Whether `entry` can be an `allowedHosts` entry: a hostname, IP address or `*.` + hostname, no port. */
export function isHostPattern (entry: string): boolean {
  const name = entry.startsWith('*.') ? entry.slice(2) : entry
  if (name.startsWith('[')) return name.endsWith(']') && isIPv6(name.slice(1, -1)) && name === entry
  if (isIP(name) === 6) return false
  const parts = parseHost(name)
  return parts !== null && parts.port === null && parts.hostname === name
}
