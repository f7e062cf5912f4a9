/** The @nex/metrics error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

export const FST_NEX_METRICS_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_METRICS_INVALID_OPTION',
  '@nex/metrics: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_METRICS_ALREADY_REGISTERED = createError(
  'FST_NEX_METRICS_ALREADY_REGISTERED',
  '@nex/metrics: the plugin is already registered in this app. Register it once, at the root',
  500
)

export const FST_NEX_METRICS_NAME_TAKEN = createError<[name: string]>(
  'FST_NEX_METRICS_NAME_TAKEN',
  '@nex/metrics: the registry already holds a metric named "%s" (another app registered @nex/metrics with ' +
    'the same registry, or collectDefaultMetrics() ran on it). Give each app its own registry, set a ' +
    '"prefix", or pass defaultMetrics: false when you collect process metrics yourself',
  500
)

export const FST_NEX_METRICS_FORBIDDEN = createError(
  'FST_NEX_METRICS_FORBIDDEN',
  '@nex/metrics: not allowed to read the metrics',
  403
)
