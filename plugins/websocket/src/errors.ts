/** The @nex/websocket error catalogue. Codes are never reused; the README's errors table explains each. */
import createError from '@fastify/error'

export const FST_NEX_WS_INVALID_OPTION = createError<[option: string, allowed: string, got: string]>(
  'FST_NEX_WS_INVALID_OPTION',
  '@nex/websocket: option "%s" must be %s, got %s',
  500,
  TypeError
)

export const FST_NEX_WS_ALREADY_REGISTERED = createError<[what: string]>(
  'FST_NEX_WS_ALREADY_REGISTERED',
  '@nex/websocket: %s is already registered. Register @nex/websocket once, at the root, and not next to ' +
    '@fastify/websocket: it registers @fastify/websocket itself, with its payload limit and shutdown',
  500
)

export const FST_NEX_WS_INVALID_DEFINITION = createError<[problem: string]>(
  'FST_NEX_WS_INVALID_DEFINITION',
  '@nex/websocket: a WebSocket definition must be a function (called on open) or an object with the ' +
    'callbacks open, message, close and error; %s',
  500,
  TypeError
)

export const FST_NEX_WS_FORBIDDEN_ORIGIN = createError<[origin: string]>(
  'FST_NEX_WS_FORBIDDEN_ORIGIN',
  '@nex/websocket: WebSocket connections from origin %s are not allowed. If this origin is yours, add it ' +
    'to the "allowedOrigins" option',
  403
)

export const FST_NEX_WS_TOO_MANY_CONNECTIONS = createError<[limit: string, max: number]>(
  'FST_NEX_WS_TOO_MANY_CONNECTIONS',
  '@nex/websocket: too many WebSocket connections (%s: %d). Retry later; raise the option if the server ' +
    'can hold more',
  503
)

export const FST_NEX_WS_SHUTTING_DOWN = createError(
  'FST_NEX_WS_SHUTTING_DOWN',
  '@nex/websocket: the server is shutting down and accepts no new WebSocket connections. Reconnect to ' +
    'another instance',
  503
)

export const FST_NEX_WS_NOT_JSON = createError<[got: string]>(
  'FST_NEX_WS_NOT_JSON',
  '@nex/websocket: socket.send() takes a string, a Buffer or a JSON value, got %s',
  500,
  TypeError
)
