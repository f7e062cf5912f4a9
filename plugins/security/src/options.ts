/** Options of @nex/security: defaults, validation at register time, freezing. */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import {
  FST_NEX_SECURITY_INVALID_OPTION,
  FST_NEX_SECURITY_MISSING_SECRET,
  FST_NEX_SECURITY_UNSAFE_CSP,
  FST_NEX_SECURITY_WEAK_SECRET
} from './errors.js'
import { compileCsp, type CompiledCsp, type CspDirective } from './lib/csp-policy.js'
import { isHostPattern } from './lib/host.js'
import { canonicalOrigin } from './lib/origin.js'
import { normalizeRateLimitOptions, type NormalizedRateLimitOptions, type RateLimitOptions } from './rate-limit-options.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The @fastify/helmet options of the non-CSP headers (the CSP is ours: see `csp`). */
export type HeadersOptions = DistributiveOmit<FastifyHelmetOptions, 'contentSecurityPolicy' | 'enableCSPNonces' | 'global'>

export interface CspOptions {
  /**
   * Directives merged over the defaults, by name (`'script-src'` or `scriptSrc`): a directive's sources
   * replace the default ones, `[]` gives a directive without sources (`upgrade-insecure-requests`), `false`
   * drops a default directive. `'unsafe-eval'` is refused everywhere, `'unsafe-inline'` in `script-src`,
   * `script-src-elem` and `default-src`.
   * @default DEFAULT_CSP_DIRECTIVES
   */
  directives?: Readonly<Record<string, readonly string[] | false>>
  /** Send `Content-Security-Policy-Report-Only` instead: violations are reported, nothing is blocked. @default false */
  reportOnly?: boolean
  /** Where browsers POST violation reports (`report-uri`). @default undefined (no reports) */
  reportUri?: string
}

export interface CsrfOptions {
  /** The cookie holding the CSRF secret (`__Host-csrf` also stops cookie tossing from subdomains; needs `secure: true`). @default '_csrf' */
  cookieName?: string
  /** The form field read from parsed bodies (urlencoded, JSON). @default '_csrf' */
  field?: string
  /** The request header read first (htmx requests). @default 'x-csrf-token' */
  header?: string
  /** `Secure` attribute of the cookie; `'auto'`: when the request came over TLS. @default true in production, else 'auto' */
  secure?: boolean | 'auto'
}

export interface SecurityOptions {
  /**
   * The app secret (at least 32 characters) CSRF tokens are signed with (HMAC). An array rotates: tokens are
   * signed with the first and verified with each, so pages rendered before the rotation keep working.
   * @default process.env.NEX_SECRET; in development a random per-process secret (with a warning)
   */
  secret?: string | readonly string[]
  /** Development mode: allows the per-process secret, CSRF cookie `secure: 'auto'`. @default NODE_ENV !== 'production' */
  dev?: boolean
  /** Security headers by @fastify/helmet (HSTS, nosniff, frame options, referrer policy, COOP/CORP …), or false. @default {} (helmet's defaults, referrer policy strict-origin-when-cross-origin) */
  headers?: HeadersOptions | false
  /** Content-Security-Policy with per-request nonces, or false. @default {} (the strict default policy) */
  csp?: CspOptions | false
  /** CSRF tokens on unsafe methods (@fastify/csrf-protection, secret in a cookie), or false. @default {} */
  csrf?: CsrfOptions | false
  /** Refuse unsafe methods from other sites (Sec-Fetch-Site, else Origin vs Host). @default true */
  fetchMetadata?: boolean
  /** Origins (`https://app.example.com`) whose unsafe requests pass the Fetch-Metadata check. The CSRF token is still required. @default [] */
  allowedOrigins?: readonly string[]
  /** Refuse duplicate or malformed Host headers, absolute-form targets and dot-segments. @default true */
  hostGuard?: boolean
  /** The hostnames this app serves (`example.com`, `*.example.com`); others get 421 (DNS rebinding). @default undefined (any well-formed host) */
  allowedHosts?: readonly string[]
  /** Refuse responses redirecting (`Location`, `HX-Redirect`, `HX-Location`) off the site. @default true */
  redirectGuard?: boolean
  /** Origins (`https://accounts.example.com`) redirects may go to besides this site's paths. @default [] */
  allowedRedirectOrigins?: readonly string[]
  /** Rate limits (@fastify/rate-limit), or false. @default RATE_LIMIT_DEFAULTS */
  rateLimit?: RateLimitOptions | false
}

export interface NormalizedCsrfOptions {
  readonly cookieName: string
  readonly field: string
  /** Lower-cased, as Node gives incoming header names. */
  readonly header: string
  readonly secure: boolean | 'auto'
  /** The app secrets: tokens are signed with the first and verified with each (rotation). */
  readonly secrets: readonly string[]
  /** True when no secret was configured and a per-process one was generated. */
  readonly secretGenerated: boolean
}

export interface NormalizedCspOptions {
  readonly directives: readonly CspDirective[]
  readonly reportOnly: boolean
  readonly policy: CompiledCsp
}

export interface NormalizedSecurityOptions {
  readonly dev: boolean
  readonly headers: Readonly<Record<string, unknown>> | false
  readonly csp: NormalizedCspOptions | false
  readonly csrf: NormalizedCsrfOptions | false
  readonly fetchMetadata: boolean
  readonly allowedOrigins: ReadonlySet<string>
  readonly hostGuard: boolean
  readonly allowedHosts: readonly string[] | null
  readonly redirectGuard: boolean
  readonly allowedRedirectOrigins: ReadonlySet<string>
  readonly rateLimit: NormalizedRateLimitOptions | false
}

/**
 * The default policy: everything from this origin only, no plugins, no inline event handlers, scripts and
 * styles also by nonce. htmx 4 runs under it (its indicator CSS uses adoptedStyleSheets). No
 * `upgrade-insecure-requests`: it would break plain-http development on a LAN address, and with
 * `'self'` sources and HSTS it upgrades nothing in production.
 */
export const DEFAULT_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"]
})

export const CSRF_DEFAULTS = Object.freeze({
  cookieName: '_csrf',
  field: '_csrf',
  header: 'x-csrf-token'
})

/**
 * Headers defaults over helmet's: the browsers' own referrer policy instead of `no-referrer`, under which
 * browsers send `Origin: null` on same-origin POSTs (Fetch spec), which the Origin check must refuse for
 * browsers without Sec-Fetch-Site. And without the headers only browsers nobody runs any more read
 * (`X-XSS-Protection: 0` for the XSS auditor Chrome removed in 2019, `X-Download-Options` for IE 8,
 * `X-Permitted-Cross-Domain-Policies` for Flash): bytes on every response for nothing. Pass helmet's own
 * option (e.g. `headers: { xXssProtection: true }`) to send one anyway.
 */
export const HEADERS_DEFAULTS = Object.freeze({
  referrerPolicy: Object.freeze({ policy: 'strict-origin-when-cross-origin' }),
  xXssProtection: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false
})

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'secret', 'dev', 'headers', 'csp', 'csrf', 'fetchMetadata', 'allowedOrigins', 'hostGuard', 'allowedHosts',
  'redirectGuard', 'allowedRedirectOrigins', 'rateLimit'
])

const CSP_DIRECTIVES: ReadonlySet<string> = new Set([
  'base-uri', 'block-all-mixed-content', 'child-src', 'connect-src', 'default-src', 'fenced-frame-src', 'font-src',
  'form-action', 'frame-ancestors', 'frame-src', 'img-src', 'manifest-src', 'media-src', 'object-src', 'report-to',
  'report-uri', 'require-trusted-types-for', 'sandbox', 'script-src', 'script-src-attr', 'script-src-elem',
  'style-src', 'style-src-attr', 'style-src-elem', 'trusted-types', 'upgrade-insecure-requests', 'worker-src'
])

// Keywords must be single-quoted; unquoted, browsers read them as host names.
const CSP_KEYWORDS: ReadonlySet<string> = new Set([
  'self', 'none', 'unsafe-inline', 'unsafe-eval', 'unsafe-hashes', 'strict-dynamic', 'report-sample',
  'wasm-unsafe-eval', 'inline-speculation-rules'
])

// Where 'unsafe-inline' would let inline scripts run in replies that never read the nonce.
const SCRIPT_FALLBACKS: ReadonlySet<string> = new Set(['default-src', 'script-src', 'script-src-elem'])

// One source: printable ASCII without spaces, `;` (ends the directive) or `,` (ends the policy).
const CSP_SOURCE = /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$/
// RFC 7230 token: header and cookie names.
const TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/
const MIN_SECRET_LENGTH = 32

let processSecret: string | undefined

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function bool (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new FST_NEX_SECURITY_INVALID_OPTION(name, 'true or false', describe(value))
  return value
}

/** A part's options: `false` (off), `undefined` or `true` (defaults), or an object. */
function part (name: string, value: unknown): Record<string, unknown> | false {
  if (value === false) return false
  if (value === undefined || value === true) return {}
  if (!isPlainObject(value)) throw new FST_NEX_SECURITY_INVALID_OPTION(name, 'an object of options, or false', describe(value))
  return value
}

function stringList (name: string, value: unknown, check: (item: string) => string | null, allowed: string): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new FST_NEX_SECURITY_INVALID_OPTION(name, `an array of ${allowed}`, describe(value))
  return Object.freeze(value.map((item: unknown, i) => {
    const checked = typeof item === 'string' ? check(item) : null
    if (checked === null) throw new FST_NEX_SECURITY_INVALID_OPTION(`${name}[${i}]`, allowed, describe(item))
    return checked
  }))
}

function origins (name: string, value: unknown): ReadonlySet<string> {
  return new Set(stringList(name, value, canonicalOrigin, 'an http(s) origin like "https://app.example.com" (no path)'))
}

function kebab (name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
}

function checkSource (directive: string, source: unknown): string {
  const option = `csp.directives["${directive}"]`
  if (typeof source !== 'string' || !CSP_SOURCE.test(source)) {
    throw new FST_NEX_SECURITY_INVALID_OPTION(option, 'an array of sources without spaces, ";" or ","', describe(source))
  }
  const lower = source.toLowerCase()
  if (CSP_KEYWORDS.has(lower)) {
    throw new FST_NEX_SECURITY_INVALID_OPTION(option, `sources with keywords in single quotes ("'${lower}'")`, describe(source))
  }
  if (lower === "'unsafe-eval'") {
    throw new FST_NEX_SECURITY_UNSAFE_CSP(source, directive, 'it lets scripts run strings as code (eval, new Function). ' +
      'htmx needs it only for hx-on, trigger filters and js: values; use event listeners in a script file instead')
  }
  if (lower === "'unsafe-inline'" && SCRIPT_FALLBACKS.has(directive)) {
    throw new FST_NEX_SECURITY_UNSAFE_CSP(source, directive, 'replies that never read reply.cspNonce carry no nonce, so ' +
      'every inline script, injected ones too, would run. Put the nonce of reply.cspNonce.script on your inline scripts')
  }
  if (lower.startsWith("'nonce-")) {
    throw new FST_NEX_SECURITY_UNSAFE_CSP(source, directive, 'a fixed nonce is known to attackers. Every reply gets ' +
      'fresh nonces: read reply.cspNonce')
  }
  return source
}

function cspOptions (value: unknown): NormalizedCspOptions | false {
  const options = part('csp', value)
  if (options === false) return false
  const merged = new Map<string, readonly string[]>(Object.entries(DEFAULT_CSP_DIRECTIVES))
  const directives = options.directives
  if (directives !== undefined && !isPlainObject(directives)) {
    throw new FST_NEX_SECURITY_INVALID_OPTION('csp.directives', 'an object of directive name to sources (or false)', describe(directives))
  }
  for (const [key, sources] of Object.entries(directives ?? {})) {
    const name = kebab(key)
    if (!CSP_DIRECTIVES.has(name)) {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`csp.directives["${key}"]`, `a CSP directive (${[...CSP_DIRECTIVES].join(', ')})`, 'an unknown name')
    }
    if (sources === false) {
      merged.delete(name)
    } else if (Array.isArray(sources)) {
      merged.set(name, Object.freeze(sources.map((source: unknown) => checkSource(name, source))))
    } else {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`csp.directives["${key}"]`, 'an array of sources, or false', describe(sources))
    }
  }
  const reportUri = options.reportUri
  if (reportUri !== undefined) {
    if (typeof reportUri !== 'string' || !CSP_SOURCE.test(reportUri)) {
      throw new FST_NEX_SECURITY_INVALID_OPTION('csp.reportUri', 'a URL or path without spaces, ";" or ","', describe(reportUri))
    }
    if (merged.has('report-uri')) {
      throw new FST_NEX_SECURITY_INVALID_OPTION('csp.reportUri', 'left out when csp.directives has "report-uri" (set one of them)', describe(reportUri))
    }
    merged.set('report-uri', [reportUri])
  }
  const reportOnly = bool('csp.reportOnly', options.reportOnly, false)
  for (const key of Object.keys(options)) {
    if (key !== 'directives' && key !== 'reportUri' && key !== 'reportOnly') {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`csp.${key}`, 'left out (csp takes directives, reportOnly, reportUri)', 'an unknown option')
    }
  }
  const list = Object.freeze([...merged].map(([name, sources]) => Object.freeze({ name, sources })))
  return Object.freeze({ directives: list, reportOnly, policy: compileCsp(list, reportOnly) })
}

function checkSecretLength (source: string, secret: string): void {
  // Never echoes the secret: error messages end up in logs.
  if (secret.length < MIN_SECRET_LENGTH) throw new FST_NEX_SECURITY_WEAK_SECRET(source, secret.length)
}

/** The secrets: the option (newest first), else NEX_SECRET, else in development one random secret per process. */
function resolveSecrets (option: unknown, env: NodeJS.ProcessEnv, dev: boolean): { secrets: readonly string[], generated: boolean } {
  if (option !== undefined) {
    const list: unknown[] = Array.isArray(option) ? option : [option]
    if (list.length === 0 || !list.every((secret) => typeof secret === 'string')) {
      throw new FST_NEX_SECURITY_INVALID_OPTION('secret', 'a string or a non-empty array of strings', describe(option))
    }
    list.forEach((secret, i) => checkSecretLength(Array.isArray(option) ? `option "secret[${i}]"` : 'option "secret"', secret as string))
    return { secrets: Object.freeze([...list as string[]]), generated: false }
  }
  const fromEnv = env.NEX_SECRET
  if (fromEnv !== undefined && fromEnv !== '') {
    checkSecretLength('NEX_SECRET', fromEnv)
    return { secrets: Object.freeze([fromEnv]), generated: false }
  }
  if (!dev) throw new FST_NEX_SECURITY_MISSING_SECRET()
  processSecret ??= randomBytes(32).toString('base64url')
  return { secrets: Object.freeze([processSecret]), generated: true }
}

function csrfOptions (value: unknown, secretOption: unknown, env: NodeJS.ProcessEnv, dev: boolean): NormalizedCsrfOptions | false {
  const options = part('csrf', value)
  if (options === false) return false
  for (const key of Object.keys(options)) {
    if (!['cookieName', 'field', 'header', 'secure'].includes(key)) {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`csrf.${key}`, 'left out (csrf takes cookieName, field, header, secure)', 'an unknown option')
    }
  }
  const token = (name: 'cookieName' | 'header', fallback: string): string => {
    const given = options[name]
    if (given === undefined) return fallback
    if (typeof given !== 'string' || !TOKEN.test(given)) {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`csrf.${name}`, `a ${name === 'header' ? 'header' : 'cookie'} name (letters, digits, !#$%&'*+-.^_\`|~)`, describe(given))
    }
    return given
  }
  const cookieName = token('cookieName', CSRF_DEFAULTS.cookieName)
  const header = token('header', CSRF_DEFAULTS.header).toLowerCase()
  const field = options.field ?? CSRF_DEFAULTS.field
  if (typeof field !== 'string' || field === '') throw new FST_NEX_SECURITY_INVALID_OPTION('csrf.field', 'a non-empty string', describe(field))
  const secure = options.secure ?? (dev ? 'auto' : true)
  if (secure !== true && secure !== false && secure !== 'auto') {
    throw new FST_NEX_SECURITY_INVALID_OPTION('csrf.secure', "true, false or 'auto'", describe(secure))
  }
  if ((cookieName.startsWith('__Host-') || cookieName.startsWith('__Secure-')) && secure !== true) {
    throw new FST_NEX_SECURITY_INVALID_OPTION('csrf.secure', `true with the cookie name ${JSON.stringify(cookieName)} (browsers drop such cookies without Secure)`, describe(secure))
  }
  const { secrets, generated } = resolveSecrets(secretOption, env, dev)
  return Object.freeze({ cookieName, field, header, secure, secrets, secretGenerated: generated })
}

type Helmet = (options: object) => (req: object, res: object, next: (error?: unknown) => void) => void
let helmet: Helmet | undefined

/** helmet itself (the library @fastify/helmet wraps): its options are checked and its headers recorded once. */
export function loadHelmet (): Helmet {
  if (helmet === undefined) {
    const fromHere = createRequire(import.meta.url)
    helmet = createRequire(fromHere.resolve('@fastify/helmet'))('helmet') as Helmet
  }
  return helmet
}

function headersOptions (value: unknown): Readonly<Record<string, unknown>> | false {
  const options = part('headers', value)
  if (options === false) return false
  for (const key of ['contentSecurityPolicy', 'enableCSPNonces', 'global']) {
    if (key in options) {
      throw new FST_NEX_SECURITY_INVALID_OPTION(`headers.${key}`, 'left out: the CSP is configured by the "csp" option, and the headers apply to every route', describe(options[key]))
    }
  }
  const merged = { ...HEADERS_DEFAULTS, ...options }
  try {
    loadHelmet()({ ...merged, contentSecurityPolicy: false })
  } catch (error) {
    throw new FST_NEX_SECURITY_INVALID_OPTION('headers', 'valid helmet options', (error as Error).message)
  }
  return Object.freeze(merged)
}

function hostPattern (entry: string): string | null {
  const lower = entry.toLowerCase()
  return isHostPattern(lower) ? lower : null
}

/** Validates, fills in defaults and freezes the options; throws coded errors naming the option. */
export function normalizeOptions (options: SecurityOptions = {}, env: NodeJS.ProcessEnv = process.env): NormalizedSecurityOptions {
  if (!isPlainObject(options as unknown)) throw new FST_NEX_SECURITY_INVALID_OPTION('options', 'an object', describe(options))
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw new FST_NEX_SECURITY_INVALID_OPTION(key, `left out (the options are ${[...OPTION_NAMES].join(', ')})`, 'an unknown option')
  }
  const dev = bool('dev', options.dev, env.NODE_ENV !== 'production')
  const fetchMetadata = bool('fetchMetadata', options.fetchMetadata, true)
  const hostGuard = bool('hostGuard', options.hostGuard, true)
  const redirectGuard = bool('redirectGuard', options.redirectGuard, true)
  const allowedHosts = options.allowedHosts === undefined
    ? null
    : stringList('allowedHosts', options.allowedHosts, hostPattern, 'a hostname without port ("example.com", "*.example.com", "127.0.0.1", "[::1]")')
  const needs = (option: string, on: boolean, given: unknown, part: string): void => {
    if (!on && given !== undefined) throw new FST_NEX_SECURITY_INVALID_OPTION(option, `left out when ${part} is false`, describe(given))
  }
  needs('allowedHosts', hostGuard, options.allowedHosts, 'hostGuard')
  needs('allowedOrigins', fetchMetadata, options.allowedOrigins, 'fetchMetadata')
  needs('allowedRedirectOrigins', redirectGuard, options.allowedRedirectOrigins, 'redirectGuard')
  return Object.freeze({
    dev,
    headers: headersOptions(options.headers),
    csp: cspOptions(options.csp),
    csrf: csrfOptions(options.csrf, options.secret, env, dev),
    fetchMetadata,
    allowedOrigins: origins('allowedOrigins', options.allowedOrigins),
    hostGuard,
    allowedHosts,
    redirectGuard,
    allowedRedirectOrigins: origins('allowedRedirectOrigins', options.allowedRedirectOrigins),
    rateLimit: normalizeRateLimitOptions(options.rateLimit)
  })
}
