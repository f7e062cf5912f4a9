/** The @nex/sse error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

export const FST_NEX_SSE_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_SSE_INVALID_OPTION',
  '@nex/sse: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_SSE_INVALID_FIELD = createError<[field: string, problem: string]>(
  'FST_NEX_SSE_INVALID_FIELD',
  '@nex/sse: the "%s" field of an event %s. Event names and ids are single lines (no CR, LF or NUL): ' +
    'put multi-line text in data',
  500,
  TypeError
)

export const FST_NEX_SSE_INVALID_DATA = createError<[got: string]>(
  'FST_NEX_SSE_INVALID_DATA',
  '@nex/sse: event data must be a string, html`…`, or a JSON value (object, array, number, boolean, null), got %s',
  500,
  TypeError
)

export const FST_NEX_SSE_TOO_MANY_STREAMS = createError<[scope: string, limit: number]>(
  'FST_NEX_SSE_TOO_MANY_STREAMS',
  '@nex/sse: too many open event streams (%s limit %d). Retry later',
  503
)

export const FST_NEX_SSE_FORBIDDEN_ORIGIN = createError(
  'FST_NEX_SSE_FORBIDDEN_ORIGIN',
  '@nex/sse: event streams are only served to pages of this site (the request came from another origin). ' +
    'Add the origin to the "allowedOrigins" option if it is yours',
  403
)

export const FST_NEX_SSE_CLOSING = createError(
  'FST_NEX_SSE_CLOSING',
  '@nex/sse: the server is shutting down and opens no new event streams. Reconnect in a moment',
  503
)

export const FST_NEX_SSE_REPLAY_TWICE = createError<[first: string, second: string]>(
  'FST_NEX_SSE_REPLAY_TWICE',
  '@nex/sse: a stream can replay one topic ("%s"); "%s" was also subscribed with replay. Event ids are per ' +
    'topic, so a browser\'s Last-Event-ID can only name a position in one of them. Subscribe the others without replay',
  500
)
