/** The @nex/state error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

const GENERATE_SECRET = 'NEX_SECRET=$(node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))")'

export const FST_NEX_STATE_INVALID_PAGE_ID = createError(
  'FST_NEX_STATE_INVALID_PAGE_ID',
  '@nex/state: this page id was not issued by this server (or the secret changed). Reload the page to get a new one',
  410
)

export const FST_NEX_STATE_PAGE_TOO_LARGE = createError(
  'FST_NEX_STATE_PAGE_TOO_LARGE',
  '@nex/state: writing key "%s" would make the page state %d bytes, over the %d-byte limit. ' +
    'Keep less state per page or raise the store\'s maxPageBytes',
  413
)

export const FST_NEX_STATE_NOT_JSON = createError(
  'FST_NEX_STATE_NOT_JSON',
  '@nex/state: the value for key "%s" is not JSON: %s. Page state holds only plain objects, arrays, ' +
    'strings, finite numbers, booleans and null (store a Date as an ISO string, a Map as an object)',
  500,
  TypeError
)

export const FST_NEX_STATE_MISSING_SECRET = createError(
  'FST_NEX_STATE_MISSING_SECRET',
  '@nex/state: no secret to sign page ids in production. Pass the "secret" option or set the NEX_SECRET ' +
    `environment variable to at least 32 random characters, e.g. ${GENERATE_SECRET}`,
  500
)

export const FST_NEX_STATE_WEAK_SECRET = createError(
  'FST_NEX_STATE_WEAK_SECRET',
  `@nex/state: %s is %d characters long; page ids need a secret of at least 32 characters, e.g. ${GENERATE_SECRET}`,
  500,
  TypeError
)

export const FST_NEX_STATE_INVALID_OPTION = createError(
  'FST_NEX_STATE_INVALID_OPTION',
  '@nex/state: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_STATE_ALREADY_REGISTERED = createError(
  'FST_NEX_STATE_ALREADY_REGISTERED',
  '@nex/state: the plugin is already registered in this scope or a parent scope. Register it once, at the root',
  500
)

export const FST_NEX_STATE_STORE_UNAVAILABLE = createError(
  'FST_NEX_STATE_STORE_UNAVAILABLE',
  '@nex/state: the page-state store is unavailable. Retry shortly; check the store (e.g. Redis) is reachable',
  503
)

export const FST_NEX_STATE_STORE_CLOSED = createError(
  'FST_NEX_STATE_STORE_CLOSED',
  '@nex/state: the page-state store is closed (the server is shutting down)',
  503
)
