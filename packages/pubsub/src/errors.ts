/** The @nex/pubsub error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

export const FST_NEX_PUBSUB_NOT_JSON = createError(
  'FST_NEX_PUBSUB_NOT_JSON',
  '@nex/pubsub: the message for topic "%s" is not JSON: %s. Messages are plain objects, arrays, strings, ' +
    'finite numbers, booleans and null (send a Date as an ISO string, a Map as an object)',
  500,
  TypeError
)

export const FST_NEX_PUBSUB_INVALID_TOPIC = createError(
  'FST_NEX_PUBSUB_INVALID_TOPIC',
  '@nex/pubsub: a topic must be a string of 1 to %d characters without lone surrogates, got %s',
  500,
  TypeError
)

export const FST_NEX_PUBSUB_INVALID_HANDLER = createError(
  'FST_NEX_PUBSUB_INVALID_HANDLER',
  '@nex/pubsub: the handler subscribed to topic "%s" must be a function, got %s',
  500,
  TypeError
)

export const FST_NEX_PUBSUB_INVALID_OPTION = createError(
  'FST_NEX_PUBSUB_INVALID_OPTION',
  '@nex/pubsub: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_PUBSUB_MALFORMED_MESSAGE = createError(
  'FST_NEX_PUBSUB_MALFORMED_MESSAGE',
  '@nex/pubsub: dropped a message on topic "%s" that is not JSON. Something other than this bus publishes ' +
    'on its channel: publish through PubSub.publish, or give the bus its own prefix'
)

export const FST_NEX_PUBSUB_UNAVAILABLE = createError(
  'FST_NEX_PUBSUB_UNAVAILABLE',
  '@nex/pubsub: the message bus is unavailable. Retry shortly; check the bus (e.g. Redis) is reachable',
  503
)

export const FST_NEX_PUBSUB_CLOSED = createError(
  'FST_NEX_PUBSUB_CLOSED',
  '@nex/pubsub: the message bus is closed (the server is shutting down)',
  503
)
