/**
 * The rate-limit part of the @nex/security error catalogue. Codes are never reused; the README's errors
 * table explains each. Response bodies never echo request input: the messages hold only the limit's window.
 */
import createError from '@fastify/error'

/** A bad `rateLimit` option (at `register`). */
export const FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION',
  '@nex/security: option "%s" must be %s, got %s',
  500,
  TypeError
)

/** A route whose `config.rateLimit` is neither `'login'`, `false` nor an @fastify/rate-limit object (at startup). */
export const FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG = createError<[route: string, got: string]>(
  'FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG',
  '@nex/security: route %s has config.rateLimit %s; use \'login\', false, or { max, timeWindow } ' +
    '(the options of @fastify/rate-limit)',
  500,
  TypeError
)

/**
 * A route marked `rateLimit: 'login'` that serves safe and unsafe methods at once (at startup): the login
 * limit applies to unsafe methods only, and one route has one limit.
 */
export const FST_NEX_SECURITY_RATE_LIMIT_MIXED_METHODS = createError<[route: string]>(
  'FST_NEX_SECURITY_RATE_LIMIT_MIXED_METHODS',
  '@nex/security: route %s is marked rateLimit: \'login\' but mixes safe and unsafe methods; register the ' +
    'GET (the form) and the POST (the attempt) as two routes so reloading the form never uses up attempts',
  500,
  TypeError
)

/** A client over its limit (`Retry-After` and `x-ratelimit-*` headers are set on the reply). */
export const FST_NEX_SECURITY_RATE_LIMITED = createError<[after: string]>(
  'FST_NEX_SECURITY_RATE_LIMITED',
  '@nex/security: too many requests; retry in %s',
  429
)

/** A client over the `ban` threshold of a route that configured one (@fastify/rate-limit's `ban`). */
export const FST_NEX_SECURITY_RATE_LIMIT_BANNED = createError(
  'FST_NEX_SECURITY_RATE_LIMIT_BANNED',
  '@nex/security: too many requests over the limit; access is refused for now',
  403
)

/**
 * The rate-limit store (Redis) failed or timed out on a route that fails closed (login-like routes by
 * default). Answered 503 with `Retry-After`; the store's error is the `cause`, for the logs.
 */
export const FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE = createError(
  'FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE',
  '@nex/security: the rate limiter is unavailable; retry shortly',
  503
)
