/**
 * The @nex/security error catalogue. Codes are never reused; the README's errors table explains each.
 * Messages of the errors a client can cause (4xx) never hold request input: they are sent in responses.
 */
import createError from '@fastify/error'

export * from './rate-limit-errors.js'

// At register time.

export const FST_NEX_SECURITY_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_SECURITY_INVALID_OPTION',
  '@nex/security: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_SECURITY_UNSAFE_CSP = createError<[source: string, directive: string, why: string]>(
  'FST_NEX_SECURITY_UNSAFE_CSP',
  '@nex/security: %s in csp.directives["%s"] is refused: %s',
  500,
  TypeError
)

export const FST_NEX_SECURITY_MISSING_SECRET = createError(
  'FST_NEX_SECURITY_MISSING_SECRET',
  '@nex/security: no secret to sign CSRF tokens with in production. Pass the "secret" option or set the ' +
    'NEX_SECRET environment variable (at least 32 characters, e.g. `openssl rand -base64 32`), or turn CSRF ' +
    'protection off with csrf: false',
  500
)

export const FST_NEX_SECURITY_WEAK_SECRET = createError<[source: string, length: number]>(
  'FST_NEX_SECURITY_WEAK_SECRET',
  '@nex/security: the secret from %s has %d characters; use at least 32 (e.g. `openssl rand -base64 32`)',
  500,
  TypeError
)

export const FST_NEX_SECURITY_CONFLICT = createError<[what: string, fix: string]>(
  'FST_NEX_SECURITY_CONFLICT',
  '@nex/security: %s is already registered on this app. %s',
  500
)

export const FST_NEX_SECURITY_INVALID_ROUTE_CONFIG = createError<[route: string, key: string, got: string]>(
  'FST_NEX_SECURITY_INVALID_ROUTE_CONFIG',
  '@nex/security: route %s has config.%s %s; use true or false (false turns it off for this route)',
  500,
  TypeError
)

export const FST_NEX_SECURITY_CSRF_DISABLED = createError(
  'FST_NEX_SECURITY_CSRF_DISABLED',
  '@nex/security: reply.csrfToken() was called but CSRF protection is off (csrf: false). Check ' +
    'app.nexSecurity.csrf (null when off) before rendering a token',
  500
)

// Per request.

export const FST_NEX_SECURITY_CSRF_MISSING = createError(
  'FST_NEX_SECURITY_CSRF_MISSING',
  '@nex/security: this request changes data but carries no CSRF token. Reload the page and try again',
  403
)

export const FST_NEX_SECURITY_CSRF_INVALID = createError(
  'FST_NEX_SECURITY_CSRF_INVALID',
  '@nex/security: the CSRF token of this request is invalid or belongs to another browser session. ' +
    'Reload the page and try again',
  403
)

export const FST_NEX_SECURITY_CROSS_SITE = createError(
  'FST_NEX_SECURITY_CROSS_SITE',
  '@nex/security: this request changes data and came from another site, which is refused',
  403
)

export const FST_NEX_SECURITY_BAD_HOST = createError<[problem: string]>(
  'FST_NEX_SECURITY_BAD_HOST',
  '@nex/security: bad request: %s',
  400
)

export const FST_NEX_SECURITY_UNKNOWN_HOST = createError(
  'FST_NEX_SECURITY_UNKNOWN_HOST',
  '@nex/security: this server does not serve the requested host',
  421
)

export const FST_NEX_SECURITY_BAD_TARGET = createError<[problem: string]>(
  'FST_NEX_SECURITY_BAD_TARGET',
  '@nex/security: bad request: %s',
  400
)

export const FST_NEX_SECURITY_UNSAFE_REDIRECT = createError<[header: string]>(
  'FST_NEX_SECURITY_UNSAFE_REDIRECT',
  '@nex/security: the response redirected (%s) to a target that is not a path on this site nor an allowed ' +
    'origin, so it was refused',
  400
)
