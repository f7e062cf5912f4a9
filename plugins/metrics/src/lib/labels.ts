/**
 * Label values of the HTTP metrics. Every label draws from a closed set or from the boot-time route
 * table, never from the URL, so the number of series is bounded however many paths clients make up
 * (RELIABILITY MEM-03). Functions return indexes into the sets: the request hooks use them to find a
 * cached series without building a key.
 */

/** The `route` of requests that matched no route (the not-found handler). */
export const UNKNOWN_ROUTE = '__unknown__'

/** `method` values: the usual methods, and `OTHER` for everything else (PROPFIND, made-up ones). */
export const METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const)

/** `status_code` values: the class of the status, not the status, so a route has at most five. */
export const STATUS_CLASSES = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx'] as const)

/** `reason` values of `nex_http_errors_total`, most specific first. */
export const ERROR_REASONS = Object.freeze([
  'handler_timeout',
  'store_unavailable',
  'overloaded',
  'shutting_down',
  'rate_limited',
  'server_error',
  'client_error'
] as const)

export type MethodLabel = typeof METHODS[number]
export type StatusClass = typeof STATUS_CLASSES[number]
export type ErrorReason = typeof ERROR_REASONS[number]

const reason = (name: ErrorReason): number => ERROR_REASONS.indexOf(name)
const HANDLER_TIMEOUT = reason('handler_timeout')
const RATE_LIMITED = reason('rate_limited')
const SERVER_ERROR = reason('server_error')
const CLIENT_ERROR = reason('client_error')

/** Error codes with a reason of their own (the errors of Fastify, Nex packages and @fastify/under-pressure). */
export const REASON_OF_CODE: ReadonlyMap<string, ErrorReason> = new Map([
  ['FST_ERR_HANDLER_TIMEOUT', 'handler_timeout'],
  ['FST_NEX_STATE_STORE_UNAVAILABLE', 'store_unavailable'],
  ['FST_NEX_PUBSUB_UNAVAILABLE', 'store_unavailable'],
  ['FST_UNDER_PRESSURE', 'overloaded'],
  ['FST_NEX_SSE_TOO_MANY_STREAMS', 'overloaded'],
  ['FST_NEX_WS_TOO_MANY_CONNECTIONS', 'overloaded'],
  ['FST_NEX_SSE_CLOSING', 'shutting_down'],
  ['FST_NEX_WS_SHUTTING_DOWN', 'shutting_down'],
  ['FST_NEX_STATE_STORE_CLOSED', 'shutting_down'],
  ['FST_NEX_PUBSUB_CLOSED', 'shutting_down']
])
const REASON_INDEX_OF_CODE: ReadonlyMap<string, number> = new Map(Array.from(REASON_OF_CODE, ([code, name]) => [code, reason(name)]))

/** Index in METHODS of a request method. */
export function methodIndex (method: string): number {
  switch (method) {
    case 'GET': return 0
    case 'HEAD': return 1
    case 'POST': return 2
    case 'PUT': return 3
    case 'PATCH': return 4
    case 'DELETE': return 5
    case 'OPTIONS': return 6
    default: return 7
  }
}

/** Index in STATUS_CLASSES of a status code. Fastify only sends 100–599; anything else counts as 5xx. */
export function statusClassIndex (statusCode: number): number {
  const hundreds = Math.floor(statusCode / 100)
  return hundreds >= 1 && hundreds <= 5 ? hundreds - 1 : 4
}

/**
 * Index in ERROR_REASONS of a response, or -1 when it is not an error. An error is a status ≥ 400, or a
 * handler timeout (a response already under way is cut, whatever its status). Its reason is the one of
 * the error's code when the code has one, otherwise 429 → rate_limited, 5xx → server_error, 4xx →
 * client_error.
 */
export function errorReasonIndex (statusCode: number, code: string | null): number {
  const byCode = code === null ? undefined : REASON_INDEX_OF_CODE.get(code)
  if (byCode === HANDLER_TIMEOUT) return byCode
  if (statusCode < 400) return -1
  if (byCode !== undefined) return byCode
  if (statusCode === 429) return RATE_LIMITED
  return statusCode >= 500 ? SERVER_ERROR : CLIENT_ERROR
}
