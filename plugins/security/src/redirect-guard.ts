/**
 * The redirect guard (`onSend`): a response whose `Location`, `HX-Redirect` or `HX-Location` points off
 * the site (RELIABILITY SEC-05) becomes a 400 `FST_NEX_SECURITY_UNSAFE_REDIRECT` through the app's error
 * handler: its payload is replaced and its `Location`, `Refresh` and `HX-*` headers removed. Logged with the
 * target, so the route that built it (usually from a `?next=` parameter) can be found. A safe target with
 * characters a header cannot carry (spaces, non-ASCII: Node refuses them, which was a 500) is sent
 * percent-encoded; one that cannot be encoded (a lone surrogate) is refused like an unsafe one.
 */
import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify'
import { FST_NEX_SECURITY_UNSAFE_REDIRECT } from './errors.js'
import { hxLocationTarget, isSafeRedirectTarget } from './lib/redirect-target.js'

const REDIRECT_HEADERS = ['location', 'hx-redirect', 'hx-location'] as const
// What a header value may hold as is: visible ASCII. Anything else in a target is percent-encoded.
const NOT_HEADER_SAFE = /[^\x21-\x7e]/
const NOT_HEADER_SAFE_RUNS = /[^\x21-\x7e]+/g

/** `value` with the runs of characters a header cannot carry percent-encoded, or null when impossible. */
function headerSafe (value: string): string | null {
  try {
    return value.replace(NOT_HEADER_SAFE_RUNS, (run) => encodeURI(run))
  } catch {
    return null
  }
}

/** The first redirect header of `reply` with an unsafe target, or null. */
function unsafeRedirectHeader (reply: FastifyReply, allowedOrigins: ReadonlySet<string>): string | null {
  for (const name of REDIRECT_HEADERS) {
    const value = reply.getHeader(name)
    if (value === undefined) continue
    if (Array.isArray(value)) return name
    const text = String(value)
    const target = name === 'hx-location' ? hxLocationTarget(text) : text
    if (target === null || !isSafeRedirectTarget(target, allowedOrigins)) return name
    if (NOT_HEADER_SAFE.test(text)) {
      const encoded = headerSafe(text)
      if (encoded === null) return name
      reply.header(name, encoded)
    }
  }
  return null
}

export function createRedirectGuard (allowedOrigins: ReadonlySet<string>): onSendHookHandler {
  function guardRedirects (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void): void {
    const header = unsafeRedirectHeader(reply, allowedOrigins)
    if (header === null) return done(null, payload)
    const target = String(reply.getHeader(header)).slice(0, 200)
    for (const name of Object.keys(reply.getHeaders())) {
      if (name === 'location' || name === 'refresh' || name.startsWith('hx-')) reply.removeHeader(name)
    }
    request.log.warn({ header, target }, '@nex/security: refused a response redirecting off the site')
    done(new FST_NEX_SECURITY_UNSAFE_REDIRECT(header))
  }
  return guardRedirects as onSendHookHandler
}
