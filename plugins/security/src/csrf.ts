/**
 * The unsafe-method layer: a Fetch-Metadata / Origin check, then a CSRF token. Every method but GET, HEAD,
 * OPTIONS and TRACE is checked, on every route but those with `config.csrf: false`.
 *
 * Fetch-Metadata (Go 1.25's scheme): `Sec-Fetch-Site` other than `same-origin`/`none` is refused; without
 * it (older browsers), an `Origin` naming another host:port than the request's Host is, and so is `Origin:
 * null`. A request with neither header is not from a browser. Origins in `allowedOrigins` pass.
 *
 * Tokens: @fastify/csrf-protection with its secret in a cookie (SameSite=Lax, HttpOnly) and tokens signed
 * with the app secret (HMAC). The token is read from the header first, in `onRequest`, so a bad one is
 * refused before the body is read; else from the body field, in `preValidation`, once the body is parsed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preValidationHookHandler } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrfProtection from '@fastify/csrf-protection'
import {
  FST_NEX_SECURITY_CONFLICT,
  FST_NEX_SECURITY_CROSS_SITE,
  FST_NEX_SECURITY_CSRF_INVALID,
  FST_NEX_SECURITY_CSRF_MISSING
} from './errors.js'
import { isSameOrigin } from './lib/origin.js'
import type { NormalizedCsrfOptions } from './options.js'
import type { RoutePolicy } from './route-policy.js'
import { kCsrfChecked, kRequestPolicy } from './symbols.js'

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export interface CheckedRequest extends FastifyRequest {
  [kRequestPolicy]: RoutePolicy | null
  [kCsrfChecked]: boolean
}

/** Whether an unsafe request comes from another site (see above), unless its Origin is in `allowedOrigins`. */
export function isCrossSite (request: FastifyRequest, allowedOrigins: ReadonlySet<string>): boolean {
  const headers = request.headers
  const origin = headers.origin
  if (origin !== undefined && allowedOrigins.has(origin)) return false
  const site = headers['sec-fetch-site']
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  return origin !== undefined && !isSameOrigin(origin, request.host)
}

/** Registers @fastify/cookie (unless present) and @fastify/csrf-protection; returns the token verifier. */
export async function installCsrf (app: FastifyInstance, options: NormalizedCsrfOptions): Promise<(request: FastifyRequest) => boolean> {
  if (app.hasPlugin('@fastify/csrf-protection') || app.hasReplyDecorator('generateCsrf')) {
    throw new FST_NEX_SECURITY_CONFLICT('@fastify/csrf-protection', 'Remove it (@nex/security registers it), or pass csrf: false to keep yours')
  }
  // @nex/session may have registered it already.
  if (!app.hasPlugin('@fastify/cookie') && !app.hasRequestDecorator('cookies')) await app.register(fastifyCookie)
  const { header, field } = options
  await app.register(fastifyCsrfProtection, {
    cookieKey: options.cookieName,
    // Lax, not Strict: a top-level navigation from another site would arrive without a Strict cookie, the
    // page would mint a new secret, and every other open tab's tokens would stop working.
    cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: options.secure },
    getToken: (request) => tokenOf(request, header, field),
    csrfOpts: { hmacKey: options.secret },
    logLevel: 'debug'
  })
  // `csrfProtection` answers a failure with `reply.send(its own error)`; we want ours, and to run it in
  // either hook, so it gets a reply that only records that it failed. It is synchronous: a verdict not
  // given by the time it returns counts as a failure.
  let passed = false
  const pass = (): void => { passed = true }
  const verdictOnly = { send () {} } as unknown as FastifyReply
  return function verifyToken (request) {
    if (request.cookies == null) return false
    passed = false
    app.csrfProtection(request, verdictOnly, pass)
    return passed
  }
}

/** The request's token: the header's, else the body field's (forms). */
export function tokenOf (request: FastifyRequest, header: string, field: string): string | undefined {
  const fromHeader = request.headers[header]
  if (typeof fromHeader === 'string' && fromHeader !== '') return fromHeader
  const body = request.body
  if (typeof body !== 'object' || body === null) return undefined
  const fromBody = (body as Record<string, unknown>)[field]
  return typeof fromBody === 'string' && fromBody !== '' ? fromBody : undefined
}

export interface UnsafeMethodChecks {
  /** A route's own `onRequest` hook (added in `onRoute` after the rate limiter's): Fetch-Metadata, header token. */
  route: onRequestHookHandler
  /** The same as a global `onRequest` hook, for routes registered before the plugin (they have no route hook). */
  fallback: onRequestHookHandler
  /** The global `preValidation` hook: the body token of requests that had no header token. Null without CSRF. */
  preValidation: preValidationHookHandler | null
}

type Done = (error?: Error) => void

/** The hooks of the unsafe-method layer. `csrf` is null when only the Fetch-Metadata check is on. */
export function createUnsafeMethodChecks (
  csrf: { options: NormalizedCsrfOptions, verify: (request: FastifyRequest) => boolean } | null,
  fetchMetadata: { allowedOrigins: ReadonlySet<string> } | null,
  policyOf: (request: FastifyRequest) => RoutePolicy
): UnsafeMethodChecks {
  const header = csrf?.options.header ?? ''
  const field = csrf?.options.field ?? ''

  function check (request: FastifyRequest, done: Done): void {
    if (fetchMetadata !== null && isCrossSite(request, fetchMetadata.allowedOrigins)) return done(new FST_NEX_SECURITY_CROSS_SITE())
    if (csrf !== null) {
      const token = request.headers[header]
      if (typeof token === 'string' && token !== '') {
        if (!csrf.verify(request)) return done(new FST_NEX_SECURITY_CSRF_INVALID())
        ;(request as CheckedRequest)[kCsrfChecked] = true
      }
    }
    done()
  }

  function policy (request: FastifyRequest): RoutePolicy {
    return (request as CheckedRequest)[kRequestPolicy] ?? policyOf(request)
  }

  function checkUnsafeMethod (request: FastifyRequest, _reply: FastifyReply, done: Done): void {
    if (SAFE_METHODS.has(request.method)) return done()
    check(request, done)
  }

  function checkUnsafeMethodOfEarlierRoute (request: FastifyRequest, _reply: FastifyReply, done: Done): void {
    if (SAFE_METHODS.has(request.method)) return done()
    const route = policy(request)
    if (!route.csrf || route.checkedByRoute) return done()
    check(request, done)
  }

  function checkBodyToken (request: FastifyRequest, _reply: FastifyReply, done: Done): void {
    if ((request as CheckedRequest)[kCsrfChecked] || SAFE_METHODS.has(request.method) || !policy(request).csrf) return done()
    if (tokenOf(request, header, field) === undefined) return done(new FST_NEX_SECURITY_CSRF_MISSING())
    if (!(csrf as { verify: (request: FastifyRequest) => boolean }).verify(request)) return done(new FST_NEX_SECURITY_CSRF_INVALID())
    done()
  }

  return {
    route: checkUnsafeMethod as onRequestHookHandler,
    fallback: checkUnsafeMethodOfEarlierRoute as onRequestHookHandler,
    preValidation: csrf === null ? null : checkBodyToken as preValidationHookHandler
  }
}
