/**
 * Per-route decisions, from the route's `config`: `csp: false` (no CSP header), `csrf: false` (no CSRF
 * token nor Fetch-Metadata check: token-authenticated API clients), `helmet: false` (no security headers,
 * CSP included). Computed once per route and kept on its config under a symbol: in `onRoute` for routes
 * registered after the plugin, on the route's first request for routes registered before it, so the
 * request path reads one property and parses nothing.
 */
import { FST_NEX_SECURITY_INVALID_ROUTE_CONFIG } from './errors.js'
import { kRoutePolicy } from './symbols.js'

export interface RoutePolicy {
  /** The reply gets the security headers (helmet's). */
  readonly headers: boolean
  /** The reply gets the CSP header. */
  readonly csp: boolean
  /** Unsafe methods need a CSRF token and pass the Fetch-Metadata check. */
  readonly csrf: boolean
  /**
   * The route has its own `onRequest` hook for the unsafe-method checks (added in `onRoute`, after the rate
   * limiter's): the global fallback hook, for routes registered before the plugin, leaves it alone.
   */
  readonly checkedByRoute: boolean
}

export type RouteConfig = Record<PropertyKey, unknown> & { [kRoutePolicy]?: RoutePolicy }

/** @fastify/helmet's form of "skip this route" (`config.helmet: { skipRoute: true }`), also understood. */
const HELMET_SKIP = Object.freeze({ skipRoute: true })

// The sixteen policies, shared by every route.
const POLICIES = new Map<string, RoutePolicy>()
for (const headers of [true, false]) {
  for (const csp of [true, false]) {
    for (const csrf of [true, false]) {
      for (const checkedByRoute of [true, false]) {
        POLICIES.set(`${headers},${csp},${csrf},${checkedByRoute}`, Object.freeze({ headers, csp, csrf, checkedByRoute }))
      }
    }
  }
}

function flag (config: RouteConfig, key: 'csp' | 'csrf', route: () => string): boolean {
  const value = config[key]
  if (value === undefined || value === true) return true
  if (value === false) return false
  throw new FST_NEX_SECURITY_INVALID_ROUTE_CONFIG(route(), key, typeof value === 'string' ? JSON.stringify(value) : typeof value)
}

/**
 * Decides a route's policy from its config and stores it there (mutating `config`); `config.helmet: false`
 * (or @fastify/helmet's `{ skipRoute: true }`) turns the security headers off, CSP included. `cspOn`: whether the CSP is on at all;
 * `checkable`: whether the route serves an unsafe method and the unsafe-method checks are on, so it gets
 * its own hook unless it opted out (only in `onRoute`).
 */
export function applyRoutePolicy (config: RouteConfig, cspOn: boolean, route: () => string, checkable = false): RoutePolicy {
  if (config.helmet === false) config.helmet = HELMET_SKIP
  const helmet = config.helmet as { skipRoute?: unknown } | undefined | null
  const headersOn = helmet === undefined || helmet === null || helmet.skipRoute !== true
  const csp = flag(config, 'csp', route) && cspOn && headersOn
  const csrf = flag(config, 'csrf', route)
  const policy = POLICIES.get(`${headersOn},${csp},${csrf},${checkable && csrf}`) as RoutePolicy
  config[kRoutePolicy] = policy
  return policy
}

/** The policy of a route config: the stored one, or decided now (routes registered before the plugin). */
export function routePolicy (config: RouteConfig | undefined, cspOn: boolean): RoutePolicy {
  if (config === undefined) return POLICIES.get(`true,${cspOn},true,false`) as RoutePolicy
  return config[kRoutePolicy] ?? applyRoutePolicy(config, cspOn, () => `${String(config.method)} ${String(config.url)}`)
}
