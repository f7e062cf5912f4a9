/**
 * The host guard (`onRequest`, first): a request whose Host or target could confuse the app (RELIABILITY
 * PAR-04) is refused before anything reads them. Duplicate or malformed Host headers (also a malformed
 * `X-Forwarded-Host` from a trusted proxy) and a Host not in `allowedHosts` (DNS rebinding); absolute-form
 * targets, dot-segments in the path, and paths starting with `//`. Error messages are fixed texts: the input is never echoed.
 */
import type { FastifyRequest } from 'fastify'
import { FST_NEX_SECURITY_BAD_HOST, FST_NEX_SECURITY_BAD_TARGET, FST_NEX_SECURITY_UNKNOWN_HOST } from './errors.js'
import { createHostMatcher, hasDotSegment, isNetworkPathLike, isOriginForm, parseHost } from './lib/host.js'

/** Checks a request; returns the error to answer with, or null. */
export type HostGuard = (request: FastifyRequest) => Error | null

export function createHostGuard (allowedHosts: readonly string[] | null): HostGuard {
  const allowed = allowedHosts === null ? null : createHostMatcher(allowedHosts)
  // The last Host that passed (without X-Forwarded-Host): nearly every request repeats it, and then skips
  // parsing and matching. A single string, so nothing grows.
  let lastPassed: string | null = null
  return function checkHostAndTarget (request) {
    const raw = request.raw
    const target = raw.url ?? ''
    if (!isOriginForm(raw.method, target)) return new FST_NEX_SECURITY_BAD_TARGET('the request target must be a path')
    if (hasDotSegment(target)) return new FST_NEX_SECURITY_BAD_TARGET('the path has "." or ".." segments')
    if (isNetworkPathLike(target)) return new FST_NEX_SECURITY_BAD_TARGET('the path starts with "//"')
    const rawHeaders = raw.rawHeaders
    let hosts = 0
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i] as string
      if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return new FST_NEX_SECURITY_BAD_HOST('more than one Host header')
    }
    const host = (raw.headers.host ?? raw.headers[':authority']) as string | undefined
    // Only HTTP/1.0 requests may leave Host out (Node refuses HTTP/1.1 ones): served unless hosts are listed.
    if (host === undefined) return allowed === null ? null : new FST_NEX_SECURITY_UNKNOWN_HOST()
    const effective = request.host
    if (host === lastPassed && effective === host) return null
    const parts = parseHost(host)
    if (parts === null) return new FST_NEX_SECURITY_BAD_HOST('malformed Host header')
    let hostname = parts.hostname
    if (effective !== host) {
      // X-Forwarded-Host from a proxy Fastify trusts (trustProxy).
      const forwarded = parseHost(effective)
      if (forwarded === null) return new FST_NEX_SECURITY_BAD_HOST('malformed X-Forwarded-Host header')
      hostname = forwarded.hostname
    }
    if (allowed !== null && !allowed(hostname)) return new FST_NEX_SECURITY_UNKNOWN_HOST()
    if (effective === host) lastPassed = host
    return null
  }
}
