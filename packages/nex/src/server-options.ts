/**
 * Hardened server options for Fastify: every socket and request limit in one place, with production
 * defaults (Fastify's own leave `requestTimeout` and `connectionTimeout` at 0, "no limit"), each value
 * checked once, and each passed where Node actually reads it. `headersTimeout` and
 * `connectionsCheckingInterval` only work inside `http: {}` (or `https: {}` with TLS, when `http` is
 * ignored), while a `requestTimeout` put there is silently replaced by Fastify's top-level 0. Router
 * errors (bad URL encoding, over-long parameters) are answered without repeating the URL (`frameworkErrors`).
 */
import { readFileSync } from 'node:fs'
import type * as http from 'node:http'
import type * as http2 from 'node:http2'
import type * as https from 'node:https'
import type {
  FastifyHttp2Options,
  FastifyHttp2SecureOptions,
  FastifyHttpOptions,
  FastifyHttpsOptions,
  FastifyRouterOptions,
  FastifyServerOptions
} from 'fastify'
import { FST_NEX_INVALID_OPTION } from './errors.js'
import { frameworkErrors } from './framework-errors.js'
import { fdHeadroom, maxConnectionsFor, parseOpenFilesLimit } from './lib/open-files.js'

/** The largest delay `setTimeout` honours; a bigger one fires after 1 ms (with a TimeoutOverflowWarning). */
const TIMER_MAX = 2_147_483_647

/**
 * The production defaults, also shown in the README. Times in ms, sizes in bytes. `maxConnections` is
 * the ceiling: under a low open-files limit the default is lower (see `NexServerOptions.maxConnections`).
 */
export const hardenedDefaults = Object.freeze({
  requestTimeout: 30_000,
  headersTimeout: 10_000,
  connectionsCheckingInterval: 1_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 72_000,
  handlerTimeout: 10_000,
  bodyLimit: 65_536,
  maxParamLength: 100,
  maxConnections: 10_000,
  maxJsonDepth: 64,
  handshakeTimeout: 10_000,
  http2SessionTimeout: 72_000,
  maxConcurrentStreams: 100,
  trustProxy: false,
  return503OnClosing: true,
  forceCloseConnections: 'idle'
} as const)

/** Trusts the proxy at this address for `X-Forwarded-*`; Fastify's `trustProxy` function form. */
export type TrustProxyFunction = (address: string, hop: number) => boolean

/** The options nex sets or checks itself; the rest of Fastify's options pass through unchanged. */
type OwnOptions = 'requestTimeout' | 'connectionTimeout' | 'keepAliveTimeout' | 'handlerTimeout' | 'bodyLimit' |
  'maxParamLength' | 'trustProxy' | 'routerOptions' | 'serverFactory' | 'forceCloseConnections' | 'return503OnClosing'

export interface NexServerOptions extends Omit<FastifyServerOptions, OwnOptions> {
  /**
   * Time to receive a whole request, headers and body, in ms. Past it Node answers 408 and closes the
   * connection: the bound on slow bodies (R-U-Dead-Yet). Give big uploads their own server or more.
   * @default 30_000
   */
  requestTimeout?: number
  /**
   * Time to receive the request headers in ms (408 past it): the bound on slowloris and on connections that
   * never send anything. At most `requestTimeout`. @default 10_000, or `requestTimeout` when that is shorter
   */
  headersTimeout?: number
  /**
   * How often Node checks `headersTimeout` and `requestTimeout`, in ms: they are enforced up to this much
   * late. At most `headersTimeout`. @default 1_000, or `headersTimeout` when that is shorter
   */
  connectionsCheckingInterval?: number
  /**
   * Socket inactivity in ms (`server.setTimeout`): nothing read or written for this long destroys the
   * socket. The only bound on a client that stops reading a response (slow read). Streams (SSE, WebSocket)
   * must send heartbeats more often than this. @default 60_000
   */
  connectionTimeout?: number
  /**
   * Idle time between requests on a kept-alive connection, in ms. Behind a load balancer it must be
   * longer than the balancer's idle timeout (AWS ALB: 60 s), or the balancer sends requests onto
   * connections Node is closing and answers 502. Directly exposed: 5_000–10_000. @default 72_000
   */
  keepAliveTimeout?: number
  /**
   * Time from routing to the response being sent, in ms; past it Fastify answers 503
   * `FST_ERR_HANDLER_TIMEOUT` and aborts `request.signal` (pass it on to database and fetch calls).
   * Routes can set their own `handlerTimeout`; `reply.hijack()` (SSE, WebSocket) stops it. @default 10_000
   */
  handlerTimeout?: number
  /** Largest request body in bytes (413 past it). Routes that take uploads set their own `bodyLimit`. @default 65_536 */
  bodyLimit?: number
  /** Longest route parameter in characters (414 past it). Passed as `routerOptions.maxParamLength`. @default 100 */
  maxParamLength?: number
  /**
   * Most open connections; more are dropped when accepted (`server.maxConnections`). Set by `createServer()`.
   * Each connection is a file descriptor, so the default follows the process's soft open-files limit
   * (`ulimit -n`, read from `/proc/self/limits` on Linux): `min(10_000, soft - headroom)`, the headroom
   * (files, Redis, logs, Node's own) being 10 % of the limit, at least 64 but at most half of it: 512 gives
   * 448, 1 024 gives 921, 65 536 or more 10 000. Where the limit cannot be read (other platforms,
   * unlimited), 10 000. A value you set is used as given; if it leaves less than that headroom,
   * `createServer()` logs a warning (the cap would then never fire before `accept()` fails with EMFILE).
   * @default min(10_000, soft open-files limit - headroom), or 10_000
   */
  maxConnections?: number
  /**
   * Deepest nesting of arrays and objects a JSON body may have. `createServer()` installs a JSON parser
   * on the root instance that scans the body once (linear, no allocation) and refuses deeper bodies with
   * 400 `FST_ERR_CTP_INVALID_JSON_BODY` before `JSON.parse` runs, then parses with Fastify's own parser
   * (`onProtoPoisoning`/`onConstructorPoisoning` as configured, empty bodies as before). To use your own
   * JSON parser, `app.removeContentTypeParser('application/json')` first. Not applied by `serverOptions()`.
   * @default 64
   */
  maxJsonDepth?: number
  /** Time for a TLS handshake in ms (with `https`; Node's default is 120_000). @default 10_000 */
  handshakeTimeout?: number
  /** Idle time of an HTTP/2 session in ms (with `http2`). @default 72_000 */
  http2SessionTimeout?: number
  /** Streams one HTTP/2 session may open at once (with `http2`; Node's default is 2^32 - 1). @default 100 */
  maxConcurrentStreams?: number
  /**
   * Which proxies `request.ip`, `hostname` and `protocol` may come from: the proxy's address or CIDR, a
   * list of them, or a function. Never `true`: any client could then pick its own IP with
   * `X-Forwarded-For` and get around per-IP limits. @default false
   */
  trustProxy?: false | string | readonly string[] | TrustProxyFunction
  /** Answer requests that arrive on open connections after `close()` with 503. @default true */
  return503OnClosing?: boolean
  /**
   * What `close()` does with open connections: `'idle'` closes the kept-alive ones between requests; `true`
   * also destroys those in flight (with `http2`, where `'idle'` does not exist, it closes each session
   * gracefully). @default 'idle', or true with `http2`
   */
  forceCloseConnections?: boolean | 'idle'
  /** Other `http.createServer` options (`http2.createServer` options with `http2`). The limits above are set at the top level, not here. */
  http?: http.ServerOptions | http2.ServerOptions | null
  /** TLS options (key, cert, …); `http` is then ignored by Node, so nex puts the HTTP limits here. */
  https?: https.ServerOptions | http2.SecureServerOptions | null
  /** Serve HTTP/2. Node's HTTP/1 limits (`requestTimeout`, `headersTimeout`, …) do not exist there. */
  http2?: boolean
  /** Fastify's router options, except `maxParamLength`, which is set at the top level. */
  routerOptions?: Omit<FastifyRouterOptions<http.Server>, 'maxParamLength'>
  /**
   * Answers Fastify's router errors: a badly encoded URL (`/foo%`, 400 `FST_ERR_BAD_URL`) and a parameter
   * over `maxParamLength` (414 `FST_ERR_MAX_PARAM_LENGTH`). Fastify's own answers repeat the URL; nex's keep
   * the code and status with a message that does not, through nexErrors' error page when it is registered.
   * @default nex's `frameworkErrors`
   */
  frameworkErrors?: NonNullable<FastifyServerOptions['frameworkErrors']>
}

/** The Node server Fastify creates for these options. */
export type NexRawServer<O> = O extends { http2: true }
  ? O extends { https: object } ? http2.Http2SecureServer : http2.Http2Server
  : O extends { https: object } ? https.Server : http.Server

/** What `serverOptions()` returns: options for the `Fastify()` overload that creates `NexRawServer<O>`. */
export type NexFastifyOptions<O> = O extends { http2: true }
  ? O extends { https: object } ? FastifyHttp2SecureOptions<http2.Http2SecureServer> : FastifyHttp2Options<http2.Http2Server>
  : O extends { https: object } ? FastifyHttpsOptions<https.Server> : FastifyHttpOptions<http.Server>

/** Options Node takes through `http: {}`/`https: {}` that nex sets from a top-level option. */
const NESTED_LIMITS = ['requestTimeout', 'headersTimeout', 'connectionsCheckingInterval', 'keepAliveTimeout', 'handshakeTimeout'] as const
/**
 * The HTTP/2 header list limit advertised in SETTINGS (RFC 9113 §6.5.2: names, values and 32 bytes per
 * field), the size of Node's HTTP/1 `maxHeaderSize`. An app's own `settings.maxHeaderListSize` wins.
 */
export const HTTP2_MAX_HEADER_LIST_SIZE = 16_384

/** Settings only Node's HTTP/1 server has; refused with `http2` rather than silently doing nothing. */
const HTTP1_LIMITS = ['requestTimeout', 'headersTimeout', 'connectionsCheckingInterval', 'keepAliveTimeout'] as const
/** trustProxy values that trust every address, which is `true` by another name. */
const TRUST_ALL = new Set(['0.0.0.0/0', '::/0'])

/**
 * Fastify server options with the hardened defaults: `Fastify(serverOptions({ logger: true }))`.
 * `maxConnections` is not a Fastify option: `createServer()` sets it, or set `app.server.maxConnections`.
 * Throws `FST_NEX_INVALID_OPTION` for a value out of range or a combination that cannot work.
 */
export function serverOptions<O extends NexServerOptions = NexServerOptions> (options?: O): NexFastifyOptions<O> {
  return buildServerOptions(options).fastify as NexFastifyOptions<O>
}

/** What `createServer()` needs: `serverOptions()`, plus what only the created server and app can take. */
export interface BuiltServerOptions {
  fastify: Record<string, unknown>
  maxConnections: number
  maxJsonDepth: number
  /** Advice to log at startup (a maxConnections the open-files limit cannot back). */
  warnings: string[]
}

/**
 * `serverOptions()` plus what only the created server can take (used by `createServer()`).
 * `openFilesLimit` reads the soft open-files limit (null when unknown); tests pass their own.
 */
export function buildServerOptions (options: NexServerOptions = {}, openFilesLimit: () => number | null = readOpenFilesLimit): BuiltServerOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FST_NEX_INVALID_OPTION('options', 'an object', describeValue(options))
  }
  const {
    requestTimeout, headersTimeout, connectionsCheckingInterval, connectionTimeout, keepAliveTimeout, handlerTimeout,
    bodyLimit, maxParamLength, maxConnections, maxJsonDepth, handshakeTimeout, http2SessionTimeout, maxConcurrentStreams,
    trustProxy, return503OnClosing, forceCloseConnections, http, https, http2, routerOptions, ...passthrough
  } = options
  const defaults = hardenedDefaults
  if ('serverFactory' in passthrough) {
    throw new FST_NEX_INVALID_OPTION('serverFactory', 'left out: a server from serverFactory gets none of these limits (call Fastify() yourself)', 'a serverFactory')
  }
  const useHttp2 = flag('http2', http2, false)
  const tls = nestedObject('https', https)
  const plain = nestedObject('http', http)
  if (tls !== null && plain !== null) {
    throw new FST_NEX_INVALID_OPTION('http', 'left out when https is set (Node then ignores it: put server options in https)', 'an object')
  }
  checkNested('https', tls)
  checkNested('http', plain)
  if (useHttp2) {
    for (const name of HTTP1_LIMITS) {
      if (options[name] !== undefined) {
        throw new FST_NEX_INVALID_OPTION(name, 'left out with http2: true (Node\'s HTTP/2 server has no such limit; ' +
          'sessions are bounded by http2SessionTimeout and connectionTimeout)', describeValue(options[name]))
      }
    }
  }

  // A shorter requestTimeout (or headersTimeout) alone lowers the defaults below it, as Node does.
  const request = milliseconds('requestTimeout', requestTimeout, defaults.requestTimeout)
  const headers = milliseconds('headersTimeout', headersTimeout, Math.min(defaults.headersTimeout, request))
  const limits = {
    requestTimeout: request,
    headersTimeout: headers,
    connectionsCheckingInterval: milliseconds('connectionsCheckingInterval', connectionsCheckingInterval, Math.min(defaults.connectionsCheckingInterval, headers)),
    connectionTimeout: milliseconds('connectionTimeout', connectionTimeout, defaults.connectionTimeout),
    keepAliveTimeout: milliseconds('keepAliveTimeout', keepAliveTimeout, defaults.keepAliveTimeout),
    handlerTimeout: milliseconds('handlerTimeout', handlerTimeout, defaults.handlerTimeout),
    handshakeTimeout: milliseconds('handshakeTimeout', handshakeTimeout, defaults.handshakeTimeout),
    http2SessionTimeout: milliseconds('http2SessionTimeout', http2SessionTimeout, defaults.http2SessionTimeout),
    bodyLimit: count('bodyLimit', bodyLimit, defaults.bodyLimit, Number.MAX_SAFE_INTEGER, 'bytes'),
    maxParamLength: count('maxParamLength', maxParamLength, defaults.maxParamLength, Number.MAX_SAFE_INTEGER, 'characters'),
    maxJsonDepth: count('maxJsonDepth', maxJsonDepth, defaults.maxJsonDepth, Number.MAX_SAFE_INTEGER, 'levels'),
    maxConcurrentStreams: count('maxConcurrentStreams', maxConcurrentStreams, defaults.maxConcurrentStreams, 4_294_967_295, 'streams')
  }
  if (limits.headersTimeout > limits.requestTimeout) {
    throw new FST_NEX_INVALID_OPTION('headersTimeout', `at most requestTimeout (${limits.requestTimeout}): the headers are part of the request`, String(limits.headersTimeout))
  }
  if (limits.connectionsCheckingInterval > limits.headersTimeout) {
    throw new FST_NEX_INVALID_OPTION('connectionsCheckingInterval', `at most headersTimeout (${limits.headersTimeout}): ` +
      'both timeouts are enforced up to one interval late', String(limits.connectionsCheckingInterval))
  }

  const fastify: Record<string, unknown> = {
    ...passthrough,
    // Bad URL encoding (400) and over-long parameters (414) answered without repeating the URL, by
    // nexErrors when registered (HTML, fragment or JSON by request kind). An app's own function wins.
    frameworkErrors: passthrough.frameworkErrors ?? frameworkErrors,
    connectionTimeout: limits.connectionTimeout,
    handlerTimeout: limits.handlerTimeout,
    bodyLimit: limits.bodyLimit,
    trustProxy: checkTrustProxy(trustProxy),
    return503OnClosing: flag('return503OnClosing', return503OnClosing, defaults.return503OnClosing),
    forceCloseConnections: checkForceClose(forceCloseConnections, useHttp2),
    routerOptions: { ...checkRouterOptions(routerOptions), maxParamLength: limits.maxParamLength }
  }
  if (useHttp2) {
    fastify.http2 = true
    fastify.http2SessionTimeout = limits.http2SessionTimeout
    // Fastify hands `https` to http2.createSecureServer, or `http` to http2.createServer.
    const server = tls ?? plain ?? {}
    // Node advertises no header list limit and enforces 64 KiB; HTTP/1 refuses 16 KiB (maxHeaderSize).
    const settings = { maxHeaderListSize: HTTP2_MAX_HEADER_LIST_SIZE, ...(server.settings as object | undefined), maxConcurrentStreams: limits.maxConcurrentStreams }
    if (tls !== null) fastify.https = { ...tls, settings, handshakeTimeout: limits.handshakeTimeout }
    else fastify.http = { ...plain, settings }
  } else {
    // Top level, never inside http: {} (Fastify overwrites that with its own default, 0).
    fastify.requestTimeout = limits.requestTimeout
    fastify.keepAliveTimeout = limits.keepAliveTimeout
    const nodeLimits = { headersTimeout: limits.headersTimeout, connectionsCheckingInterval: limits.connectionsCheckingInterval }
    if (tls !== null) fastify.https = { ...tls, ...nodeLimits, handshakeTimeout: limits.handshakeTimeout }
    else fastify.http = { ...plain, ...nodeLimits }
  }
  const connections = checkMaxConnections(maxConnections, openFilesLimit())
  return { fastify, maxConnections: connections.value, maxJsonDepth: limits.maxJsonDepth, warnings: connections.warnings }
}

/** The soft open-files limit of this process (Linux: `/proc/self/limits`), or null when unknown. */
export function readOpenFilesLimit (): number | null {
  if (process.platform !== 'linux') return null
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'))
  } catch {
    return null
  }
}

/** The connection cap: the one given, or the one the open-files limit allows; a warning when a given one exceeds that. */
function checkMaxConnections (value: unknown, soft: number | null): { value: number, warnings: string[] } {
  const fallback = maxConnectionsFor(soft)
  const chosen = count('maxConnections', value, fallback, Number.MAX_SAFE_INTEGER, 'connections')
  if (value === undefined || soft === null || chosen <= soft - fdHeadroom(soft)) return { value: chosen, warnings: [] }
  return {
    value: chosen,
    warnings: [`nex: maxConnections ${chosen} leaves fewer than ${fdHeadroom(soft)} of the process's ${soft} file descriptors ` +
      '(ulimit -n) for files, Redis and logs: a connection flood can exhaust them (EMFILE, reset connections) before the cap ' +
      `refuses any. Set maxConnections to at most ${fallback} (or leave it out), or raise the open-files limit`]
  }
}

function milliseconds (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= TIMER_MAX) return value as number
  throw new FST_NEX_INVALID_OPTION(name, `a whole number of milliseconds from 1 to ${TIMER_MAX} (0 would turn the limit off)`, describeValue(value))
}

function count (name: string, value: unknown, fallback: number, max: number, unit: string): number {
  if (value === undefined) return fallback
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max) return value as number
  throw new FST_NEX_INVALID_OPTION(name, `a whole number of ${unit} from 1 to ${max}`, describeValue(value))
}

function flag (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value === 'boolean') return value
  throw new FST_NEX_INVALID_OPTION(name, 'true or false', describeValue(value))
}

function nestedObject (name: string, value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  throw new FST_NEX_INVALID_OPTION(name, 'an object of Node server options', describeValue(value))
}

/** Limits nex sets at the top level are refused inside `http`/`https`, so there is one place for each. */
function checkNested (name: 'http' | 'https', server: Record<string, unknown> | null): void {
  if (server === null) return
  for (const key of NESTED_LIMITS) {
    if (server[key] !== undefined) {
      throw new FST_NEX_INVALID_OPTION(`${name}.${key}`, `left out: set the top-level "${key}" (nex passes it where Node reads it)`, describeValue(server[key]))
    }
  }
  const settings = server.settings as Record<string, unknown> | undefined
  if (settings?.maxConcurrentStreams !== undefined) {
    throw new FST_NEX_INVALID_OPTION(`${name}.settings.maxConcurrentStreams`, 'left out: set the top-level "maxConcurrentStreams"', describeValue(settings.maxConcurrentStreams))
  }
  if (server.insecureHTTPParser !== undefined && server.insecureHTTPParser !== false) {
    throw new FST_NEX_INVALID_OPTION(`${name}.insecureHTTPParser`, 'false or left out: the lenient parser lets requests be smuggled past a proxy', describeValue(server.insecureHTTPParser))
  }
}

function checkTrustProxy (value: unknown): false | string | string[] | TrustProxyFunction {
  if (value === undefined || value === false) return false
  if (typeof value === 'function') return value as TrustProxyFunction
  const allowed = 'false, the proxy\'s address or CIDR (e.g. "10.0.0.1", "10.0.0.0/8", "loopback"), a list of them, or a ' +
    'function; never true or a hop count: clients could then set their own IP with X-Forwarded-For and get past per-IP limits'
  const addresses = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value as unknown[] : null
  if (addresses === null || addresses.length === 0) throw new FST_NEX_INVALID_OPTION('trustProxy', allowed, describeValue(value))
  for (const address of addresses) {
    if (typeof address !== 'string' || address.trim() === '' || TRUST_ALL.has(address.trim())) {
      throw new FST_NEX_INVALID_OPTION('trustProxy', allowed, describeValue(value))
    }
  }
  return typeof value === 'string' ? value : [...addresses as string[]]
}

/** HTTP/2 servers have no idle connections to close: `true` makes Fastify close each session gracefully (GOAWAY). */
function checkForceClose (value: unknown, useHttp2: boolean): boolean | 'idle' {
  if (value === undefined) return useHttp2 ? true : hardenedDefaults.forceCloseConnections
  if (typeof value === 'boolean' || (value === 'idle' && !useHttp2)) return value
  if (useHttp2) {
    throw new FST_NEX_INVALID_OPTION('forceCloseConnections', 'true (sessions get a graceful GOAWAY at close) or false with http2: true', describeValue(value))
  }
  throw new FST_NEX_INVALID_OPTION('forceCloseConnections', '"idle", true or false', describeValue(value))
}

function checkRouterOptions (value: unknown): Record<string, unknown> {
  const router = nestedObject('routerOptions', value) ?? {}
  if (router.maxParamLength !== undefined) {
    throw new FST_NEX_INVALID_OPTION('routerOptions.maxParamLength', 'left out: set the top-level "maxParamLength"', describeValue(router.maxParamLength))
  }
  return router
}

/** A short description of a value for the "got …" part of an error. */
function describeValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return `a ${typeof value}`
}
