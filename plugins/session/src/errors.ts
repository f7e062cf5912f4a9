/** The @nex/session error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

export const FST_NEX_SESSION_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_SESSION_INVALID_OPTION',
  '@nex/session: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_SESSION_ALREADY_REGISTERED = createError(
  'FST_NEX_SESSION_ALREADY_REGISTERED',
  '@nex/session: request.session is already decorated, by this plugin or another session plugin ' +
    '(@fastify/session, @fastify/secure-session with its default name). Register one session plugin, once, at the root',
  500
)

export const FST_NEX_SESSION_RESERVED_KEY = createError<[key: string]>(
  'FST_NEX_SESSION_RESERVED_KEY',
  '@nex/session: session key "%s" is reserved: keys starting with "__nex" hold the session\'s own data ' +
    '(flash messages). Use another name',
  500,
  TypeError
)

export const FST_NEX_SESSION_INVALID_FLASH = createError<[problem: string]>(
  'FST_NEX_SESSION_INVALID_FLASH',
  '@nex/session: flash(type, message): %s',
  500,
  TypeError
)

export const FST_NEX_SESSION_COOKIE_TOO_LARGE = createError<[key: string, bytes: number, limit: number]>(
  'FST_NEX_SESSION_COOKIE_TOO_LARGE',
  '@nex/session: writing "%s" would make the session cookie %d bytes, over the %d-byte limit browsers keep. ' +
    'Keep less in a cookie session (ids, not records) or use backend "store"',
  413
)

export const FST_NEX_SESSION_NOT_READY = createError(
  'FST_NEX_SESSION_NOT_READY',
  '@nex/session: request.session (cookie backend) was used before the session cookie was decoded, in an ' +
    'onRequest hook added before the plugin. Use it in a hook added after registering @nex/session, or from preHandler on',
  500
)

export const FST_NEX_SESSION_FLASH_TOO_LARGE = createError<[bytes: number, limit: number]>(
  'FST_NEX_SESSION_FLASH_TOO_LARGE',
  '@nex/session: a browser without a session keeps its flash messages in a cookie; this message alone would make ' +
    'it %d bytes, over its %d-byte limit. Keep flash messages short (a sentence, not a record)',
  500
)
