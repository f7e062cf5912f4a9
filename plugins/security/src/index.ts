/**
 * @nex/security: the security defaults of a Fastify + htmx app, each part on by default and switchable
 * with `false`: security headers (helmet's, recorded once at startup), a strict Content-Security-Policy with
 * per-request nonces created only when read, a host guard, rate limits (@fastify/rate-limit), a
 * Fetch-Metadata / Origin check and CSRF tokens (a signed double-submit cookie) on unsafe methods, and a
 * redirect guard.
 *
 * Hooks, in the order they run: `onRequest` (the route's policy, the security headers, the CSP header, the
 * host guard) → the rate limiter's route-level `onRequest` → our route-level `onRequest`
 * (Fetch-Metadata, header token; added in `onRoute` after the rate limiter's, so refused attempts are
 * counted) → `preValidation` (body token) → `onSend` (redirect guard). Routes registered before the plugin
 * (which `onRoute` never sees) get the unsafe-method checks in the first, global `onRequest` hook instead.
 * Per-route opt-outs (`config.csp`, `config.csrf`, `config.helmet`) are read once per route.
 *
 * Decorators: `reply.cspNonce` (getter), `reply.csrfToken()`, `fastify.nexSecurity` (read-only). Also
 * registers @fastify/cookie (unless present).
 *
 * Wrapped in fastify-plugin: the hooks and decorators must reach every route of the app.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createUnsafeMethodChecks, installCsrf, SAFE_METHODS, type CheckedRequest } from './csrf.js'
import { FST_NEX_SECURITY_CONFLICT, FST_NEX_SECURITY_CSRF_DISABLED } from './errors.js'
import { createHostGuard } from './host-guard.js'
import { recordHelmetHeaders } from './lib/helmet-headers.js'
import { createNonce } from './lib/random-pool.js'
import { isSafeRedirectTarget } from './lib/redirect-target.js'
import { loadHelmet, normalizeOptions, type SecurityOptions } from './options.js'
import { registerRateLimits } from './rate-limit.js'
import { createRedirectGuard } from './redirect-guard.js'
import { applyRoutePolicy, routePolicy, type RouteConfig, type RoutePolicy } from './route-policy.js'
import { kCspActive, kCsrfChecked, kCsrfToken, kNonce, kRequestPolicy } from './symbols.js'

export type { CspOptions, CsrfOptions, HeadersOptions, SecurityOptions } from './options.js'
export { CSRF_DEFAULTS, DEFAULT_CSP_DIRECTIVES, HEADERS_DEFAULTS } from './options.js'
export { RATE_LIMIT_DEFAULTS, type RateLimitClassOptions, type RateLimitOptions } from './rate-limit-options.js'
export { compileCsp, type CompiledCsp, type CspDirective } from './lib/csp-policy.js'
export { createHostMatcher, hasDotSegment, parseHost, type HostParts } from './lib/host.js'
export { canonicalOrigin, isSameOrigin } from './lib/origin.js'
export { hxLocationTarget, isSafeRedirectTarget, isSameOriginPath } from './lib/redirect-target.js'
export type { RoutePolicy } from './route-policy.js'
export * as errors from './errors.js'

/** What `fastify.nexSecurity` tells other plugins (@nex/routes renders the CSRF carriers from it). */
export interface NexSecurityApi {
  /** Where CSRF tokens travel (render `<meta name="csrf-token">` and a hidden `field`), or null when `csrf: false`. */
  readonly csrf: Readonly<{ field: string, header: string, cookieName: string }> | null
  /**
   * The CSP header sent, or null when `csp: false`; `sameOriginScriptsNeedNonce`: whether `<script src>` tags
   * of this site need `reply.cspNonce.script` (not under the default policy, see `CompiledCsp`).
   */
  readonly csp: Readonly<{ header: string, reportOnly: boolean, sameOriginScriptsNeedNonce: boolean }> | null
  /** Whether a redirect to `target` passes the redirect guard: a path on this site, or an allowed origin. */
  isSafeRedirect (target: string): boolean
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * This reply's CSP nonces (128 random bits each, base64), created on first read; reading them adds them
     * to the CSP header. Put `nonce="${reply.cspNonce.script}"` on `<script>` tags, `.style` on `<style>`.
     * The same shape as @fastify/helmet's. Not ours with `csp: false` (then `null`, or absent with `headers: false`).
     */
    cspNonce: {
      script: string;
      style: string;
    }
    /**
     * A CSRF token for this reply's browser (cached: every call in one reply returns the same token). Sets
     * the secret cookie when the browser has none. Throws `FST_NEX_SECURITY_CSRF_DISABLED` when `csrf: false`.
     */
    csrfToken (): string
  }
  interface FastifyInstance {
    readonly nexSecurity: NexSecurityApi
  }
  interface FastifyContextConfig {
    /** `false`: no CSP header on this route's replies. */
    csp?: boolean
    /** `false`: no CSRF token nor Fetch-Metadata check on this route (token-authenticated API clients). */
    csrf?: boolean
    /** `false`: none of the security headers (helmet's), CSP included. */
    helmet?: false
  }
}

type CspNonce = FastifyReply['cspNonce']

const HSTS = 'strict-transport-security'

interface SecuredReply extends FastifyReply {
  [kNonce]: CspNonce | null
  [kCspActive]: boolean
  [kCsrfToken]: string | null
}

async function nexSecurity (app: FastifyInstance, options: SecurityOptions): Promise<void> {
  const opts = normalizeOptions(options)
  const { csp, csrf } = opts
  const policy = csp === false ? null : csp.policy
  if (app.hasDecorator('nexSecurity')) {
    throw new FST_NEX_SECURITY_CONFLICT('@nex/security', 'Register it once, at the root of the app')
  }
  if (policy !== null && app.hasReplyDecorator('cspNonce')) {
    throw new FST_NEX_SECURITY_CONFLICT('reply.cspNonce (@fastify/helmet or another CSP plugin)', 'Remove it, or pass csp: false and headers: false to keep yours')
  }
  if (opts.headers !== false && app.hasPlugin('@fastify/helmet')) {
    throw new FST_NEX_SECURITY_CONFLICT('@fastify/helmet', 'Remove it (@nex/security sets the same headers), or pass headers: false to keep yours')
  }
  if (csrf !== false && csrf.secretGenerated) {
    app.log.warn('@nex/security: no secret configured, so CSRF tokens are signed with a random per-process secret ' +
      'and stop working on restart. Set NEX_SECRET or the "secret" option (required in production)')
  }

  // Decorators.
  const api: NexSecurityApi = Object.freeze({
    csrf: csrf === false ? null : Object.freeze({ field: csrf.field, header: csrf.header, cookieName: csrf.cookieName }),
    csp: csp === false
      ? null
      : Object.freeze({ header: csp.policy.header, reportOnly: csp.reportOnly, sameOriginScriptsNeedNonce: csp.policy.sameOriginScriptsNeedNonce }),
    isSafeRedirect: (target: string) => isSafeRedirectTarget(target, opts.allowedRedirectOrigins)
  })
  app.decorate('nexSecurity', { getter: () => api })
  app.decorateRequest(kRequestPolicy, null)
  app.decorateRequest(kCsrfChecked, false)
  if (policy !== null) {
    app.decorateReply(kNonce, null)
    app.decorateReply(kCspActive, false)
    app.decorateReply('cspNonce', {
      getter (this: FastifyReply): CspNonce {
        const reply = this as SecuredReply
        let nonce = reply[kNonce]
        if (nonce === null) {
          nonce = reply[kNonce] = Object.freeze({ script: createNonce(), style: createNonce() })
          if (reply[kCspActive]) reply.header(policy.header, policy.withNonces(nonce.script, nonce.style))
        }
        return nonce
      }
    })
  }
  const csrfCheck = csrf === false ? null : { options: csrf, tokens: await installCsrf(app, csrf) }
  app.decorateReply(kCsrfToken, null)
  app.decorateReply('csrfToken', function csrfToken (this: FastifyReply): string {
    if (csrfCheck === null) throw new FST_NEX_SECURITY_CSRF_DISABLED()
    const reply = this as SecuredReply
    return (reply[kCsrfToken] ??= csrfCheck.tokens.token(reply))
  })

  // Hooks. First: the route's policy (once per request), the CSP header without nonces (reading
  // `reply.cspNonce` rewrites it), the host guard.
  const cspOn = policy !== null
  const policyOf = (request: FastifyRequest): RoutePolicy => routePolicy(request.routeOptions.config as unknown as RouteConfig | undefined, cspOn)
  const hostGuard = opts.hostGuard ? createHostGuard(opts.allowedHosts) : null
  // helmet's headers, recorded once from its middleware: per request one copy of a frozen object.
  const securityHeaders = opts.headers === false ? null : recordHelmetHeaders(loadHelmet()({ ...opts.headers, contentSecurityPolicy: false }))
  // Browsers ignore X-Frame-Options when an enforced CSP has frame-ancestors (HTML's X-Frame-Options check):
  // replies that get that CSP leave it out (one header less to send); the others keep it. The CSP header
  // (without nonces) goes in the same object: one `reply.headers()` call per reply.
  const framingByCsp = csp !== false && !csp.reportOnly && csp.directives.some((directive) => directive.name === 'frame-ancestors')
  const withCsp = policy === null
    ? null
    : headerSets({ ...(securityHeaders !== null && framingByCsp ? withoutHeader(securityHeaders, 'x-frame-options') : securityHeaders), [policy.header]: policy.plain })
  const withoutCsp = securityHeaders === null ? null : headerSets(securityHeaders)
  const checks = csrfCheck === null && !opts.fetchMetadata
    ? null
    : createUnsafeMethodChecks(csrfCheck, opts.fetchMetadata ? { allowedOrigins: opts.allowedOrigins } : null, policyOf)
  // One hook for everything global, so a GET pays for one hook call: the headers, the host guard, and the
  // unsafe-method checks of routes registered before the plugin (later routes get their own, below).
  app.addHook('onRequest', function securityFirst (request, reply, done) {
    const route = policyOf(request)
    const checked = request as CheckedRequest
    checked[kRequestPolicy] = route
    if (route.csp && withCsp !== null) {
      reply.headers(request.protocol === 'https' ? withCsp.tls : withCsp.http)
      ;(reply as SecuredReply)[kCspActive] = true
    } else if (route.headers && withoutCsp !== null) {
      reply.headers(request.protocol === 'https' ? withoutCsp.tls : withoutCsp.http)
    }
    const error = hostGuard === null ? null : hostGuard(request)
    if (error !== null) return done(error)
    if (checks !== null && route.csrf && !route.checkedByRoute && !SAFE_METHODS.has(request.method)) return checks.check(request, done)
    done()
  })
  if (checks !== null && checks.preValidation !== null) app.addHook('preValidation', checks.preValidation)
  // Before our onRoute hook, so that the unsafe-method checks run after the limiter: refused attempts are counted too.
  if (opts.rateLimit !== false) await registerRateLimits(app, opts.rateLimit)
  if (opts.redirectGuard) app.addHook('onSend', createRedirectGuard(opts.allowedRedirectOrigins))
  // Added last, so it runs after the onRoute hook of the rate limiter (whose route-level onRequest hook ours must follow).
  app.addHook('onRoute', (routeOptions) => {
    const methods = [routeOptions.method].flat()
    // A copy: a config object may be shared by several routes, or frozen.
    const config = { ...routeOptions.config } as RouteConfig
    const checkable = checks !== null && methods.some((method) => !SAFE_METHODS.has(method))
    const route = applyRoutePolicy(config, cspOn, () => `${methods.join(',')} ${routeOptions.url}`, checkable)
    routeOptions.config = config as typeof routeOptions.config
    if (checks !== null && route.checkedByRoute) {
      routeOptions.onRequest = [...[routeOptions.onRequest ?? []].flat(), checks.route]
    }
  })
}

type Headers = Readonly<Record<string, string>>

/**
 * The headers for requests that came over TLS, and without HSTS for the others (`request.protocol`: the
 * socket, or X-Forwarded-Proto from a proxy Fastify trusts). RFC 6797 §7.2: a host MUST NOT send HSTS over
 * plain HTTP, where browsers ignore it anyway; sent from http://localhost in development, it would pin the
 * browser to https there.
 */
function headerSets (headers: Headers): { tls: Headers, http: Headers } {
  return { tls: Object.freeze({ ...headers }), http: withoutHeader(headers, HSTS) }
}

function withoutHeader (headers: Headers, name: string): Headers {
  const copy = { ...headers }
  delete copy[name]
  return Object.freeze(copy)
}

const plugin = fp(nexSecurity, { fastify: '5.x', name: '@nex/security' })
export { plugin as nexSecurity }
export default plugin
