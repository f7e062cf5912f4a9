/** Private per-request state of @nex/metrics. */

/** The request's route series (or EXCLUDED), set in `onRequest`; null until then. */
export const kRouteSeries = Symbol('@nex/metrics.routeSeries')
/** Whether the request counts in `nex_http_requests_in_flight` now. */
export const kInFlight = Symbol('@nex/metrics.inFlight')
/** The code of the error Fastify's error handling saw for this request (`onError`), or null. */
export const kErrorCode = Symbol('@nex/metrics.errorCode')
