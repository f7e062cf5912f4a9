/**
 * Error catalogue of health, readiness and graceful shutdown (`nexHealth`, `serve`). Codes are never
 * reused; the README's errors table explains each.
 */
import createError from '@fastify/error'

export const FST_NEX_HEALTH_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_HEALTH_INVALID_OPTION',
  'nex-health: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_HEALTH_ALREADY_REGISTERED = createError(
  'FST_NEX_HEALTH_ALREADY_REGISTERED',
  'nex-health: the plugin is already registered in this scope or a parent scope (fastify.nexLifecycle exists). ' +
    'Register it once, at the root',
  500
)

export const FST_NEX_HEALTH_CHECK_TIMEOUT = createError<[timeout: number]>(
  'FST_NEX_HEALTH_CHECK_TIMEOUT',
  'nex-health: the readiness check did not settle within %d ms (option "checkTimeout")',
  503
)

export const FST_NEX_SHUTDOWN_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_SHUTDOWN_INVALID_OPTION',
  'nex serve(): option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_SHUTDOWN_NO_LIFECYCLE = createError(
  'FST_NEX_SHUTDOWN_NO_LIFECYCLE',
  'nex serve(): fastify.nexLifecycle is missing, so readiness cannot fail while draining. ' +
    'Register the nexHealth plugin (await app.register(nexHealth)) before calling serve(app)',
  500
)
