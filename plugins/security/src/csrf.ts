/**
 * The unsafe-method layer: a Fetch-Metadata / Origin check, then a CSRF token. Every method but GET, HEAD,
 * OPTIONS and TRACE is checked, on every route but those with `config.csrf: false`.
 *
 * Fetch-Metadata (Go 1.25's scheme): `Sec-Fetch-Site` other than `same-origin`/`none` is refused; without
 * it (older browsers), an `Origin` naming another host:port than the request's Host is, and so is `Origin:
 * null`. A request with neither header is not from a browser. Origins in `allowedOrigins` pass.
 *
 * Tokens (lib/csrf-tokens.ts): a signed double-submit cookie, the secret in a cookie (SameSite=Lax,
 * HttpOnly), tokens masked per response and signed with the app secret (HMAC). The token is read from the
 * header first, in `onRequest`, so a bad one is refused before the body is read; else from the body field,
 * in `preValidation`, once the body is parsed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preValidationHookHandler } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import {
  FST_NEX_SECURITY_CROSS_SITE,
  FST_NEX_SECURITY_CSRF_INVALID,
  FST_NEX_SECURITY_CSRF_MISSING
} from './errors.js'
import { createCsrfTokens } from './lib/csrf-tokens.js'
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

/** The token half of the layer: tokens for replies, verdicts on requests. */
export interface CsrfTokenSource {
  /** A fresh token for the browser of `reply`; sets the secret cookie when the browser has none. */
  token (reply: FastifyReply): string
  /** Whether the request carries a token (header, else body field) that matches its cookie secret. */
  verify (request: FastifyRequest): boolean
}

/** Registers @fastify/cookie (unless present); returns the token source. */
export async function installCsrf (app: FastifyInstance, options: NormalizedCsrfOptions): Promise<CsrfTokenSource> {
  // @nex/session may have registered it already.
  if (!app.hasPlugin('@fastify/cookie') && !app.hasRequestDecorator('cookies')) await app.register(fastifyCookie)
  const { header, field, cookieName } = options
  const tokens = createCsrfTokens(options.secrets)
  // Lax, not Strict: a top-level navigation from another site would arrive without a Strict cookie, the
  // page would mint a new secret, and every other open tab's tokens would stop working.
  const cookieOptions = Object.freeze({ path: '/', sameSite: 'lax', httpOnly: true, secure: options.secure } as const)

  function secretOf (request: FastifyRequest): string | null {
    // `request.cookies` is null when a hook that runs before @fastify/cookie's asks.
    const cookies = request.headers.cookie
    const value = (request.cookies ?? (cookies === undefined ? {} : app.parseCookie(cookies)))[cookieName]
    return tokens.isSecret(value) ? value : null
  }

  return {
    token (reply) {
      let secret = secretOf(reply.request)
      if (secret === null) {
        secret = tokens.newSecret()
        reply.setCookie(cookieName, secret, cookieOptions)
      }
      return tokens.create(secret)
    },
    verify (request) {
      const secret = secretOf(request)
      const token = tokenOf(request, header, field)
      return secret !== null && token !== undefined && tokens.verify(secret, token)
    }
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
  /** The same checks, for the global `onRequest` hook to run on routes registered before the plugin (they have no route hook). */
  check: (request: FastifyRequest, done: Done) => void
  /** The global `preValidation` hook: the body token of requests that had no header token. Null without CSRF. */
  preValidation: preValidationHookHandler | null
}

type Done = (error?: Error) => void

/** The hooks of the unsafe-method layer. `csrf` is null when only the Fetch-Metadata check is on. */
export function createUnsafeMethodChecks (
  csrf: { options: NormalizedCsrfOptions, tokens: CsrfTokenSource } | null,
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
        if (!csrf.tokens.verify(request)) return done(new FST_NEX_SECURITY_CSRF_INVALID())
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

  function checkBodyToken (request: FastifyRequest, _reply: FastifyReply, done: Done): void {
    if ((request as CheckedRequest)[kCsrfChecked] || SAFE_METHODS.has(request.method) || !policy(request).csrf) return done()
    if (tokenOf(request, header, field) === undefined) return done(new FST_NEX_SECURITY_CSRF_MISSING())
    if (!(csrf as { tokens: CsrfTokenSource }).tokens.verify(request)) return done(new FST_NEX_SECURITY_CSRF_INVALID())
    done()
  }

  return {
    route: checkUnsafeMethod as onRequestHookHandler,
    check,
    preValidation: csrf === null ? null : checkBodyToken as preValidationHookHandler
  }
}
