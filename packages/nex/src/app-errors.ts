/**
 * Error catalogue of the app-wide error handler, static files and compression (`nexErrors`, `nexStatic`,
 * `nexCompression`). Codes are never reused; the README's errors table explains each.
 */
import createError from '@fastify/error'

export const FST_NEX_ERRORS_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_ERRORS_INVALID_OPTION',
  'nex-errors: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_ERRORS_ALREADY_REGISTERED = createError(
  'FST_NEX_ERRORS_ALREADY_REGISTERED',
  'nex-errors: the plugin is already registered (fastify.nexErrors exists). Register it once, at the root, ' +
    'before the plugins and routes whose errors it should handle',
  500
)

/** What unknown URLs answer: the status and a message that never repeats the URL. */
export const FST_NEX_NOT_FOUND = createError(
  'FST_NEX_NOT_FOUND',
  'Not found',
  404
)

export const FST_NEX_STATIC_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_STATIC_INVALID_OPTION',
  'nex-static: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_COMPRESS_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_COMPRESS_INVALID_OPTION',
  'nex-compression: option "%s" must be %s, got %s',
  500,
  TypeError
)
