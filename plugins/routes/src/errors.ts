/**
 * Every error @nex/routes throws. Codes are never reused; the README's errors table says how to fix each.
 */
import createError from '@fastify/error'

/** A route file whose name or exports cannot be served (startup). */
export const InvalidRouteFileError = createError<[file: string, reason: string]>(
  'FST_NEX_ROUTES_INVALID_FILE',
  '@nex/routes: %s: %s',
  500
)

/** Two files that would serve the same URL (startup). */
export const RouteConflictError = createError<[first: string, second: string, url: string]>(
  'FST_NEX_ROUTES_CONFLICT',
  '@nex/routes: %s and %s both serve %s; rename or remove one of them',
  500
)

export const InvalidOptionError = createError<[option: string, value: string, allowed: string]>(
  'FST_NEX_ROUTES_INVALID_OPTION',
  '@nex/routes: option "%s" is %s; %s',
  500,
  TypeError
)

/** `POST <page>?/<name>` where the page has no own action called name. */
export const UnknownActionError = createError(
  'FST_NEX_ROUTES_UNKNOWN_ACTION',
  'This page has no such action',
  404
)

/** A method the page or API file does not handle. */
export const MethodNotAllowedError = createError(
  'FST_NEX_ROUTES_METHOD_NOT_ALLOWED',
  'Method not allowed',
  405
)

/** A URL no route serves. */
export const NotFoundError = createError(
  'FST_NEX_ROUTES_NOT_FOUND',
  'Not found',
  404
)

/** A redirect to anything but a same-origin path (open redirect or `javascript:` through HX-Redirect). */
export const UnsafeRedirectError = createError(
  'FST_NEX_ROUTES_UNSAFE_REDIRECT',
  'Redirect target must be a same-origin path starting with a single "/"',
  400
)

/** `ctx.state` used in an app without @nex/state. */
export const StateNotRegisteredError = createError(
  'FST_NEX_ROUTES_NO_STATE',
  '@nex/routes: ctx.state needs @nex/state; register it before @nex/routes: app.register(nexState)',
  500
)

/** `ctx.session` used in an app without @nex/session. */
export const SessionNotRegisteredError = createError(
  'FST_NEX_ROUTES_NO_SESSION',
  '@nex/routes: ctx.session needs @nex/session; register it before @nex/routes: app.register(nexSession)',
  500
)

/** A render, layout or handler returned something that is not markup. */
export const InvalidRenderResultError = createError<[file: string, got: string]>(
  'FST_NEX_ROUTES_INVALID_RENDER_RESULT',
  '@nex/routes: %s returned %s; return a string or html`...` (SafeHtml)',
  500
)

/** A route file exports a stream handler in an app without @nex/sse. */
export const SseNotRegisteredError = createError<[file: string]>(
  'FST_NEX_ROUTES_NO_SSE',
  '@nex/routes: %s exports a stream handler, which needs @nex/sse; register it before @nex/routes: app.register(nexSse)',
  500
)

/** A route file exports a WebSocket handler in an app without @nex/websocket. */
export const WebSocketNotRegisteredError = createError<[file: string]>(
  'FST_NEX_ROUTES_NO_WEBSOCKET',
  '@nex/routes: %s exports a socket, which needs @nex/websocket; register it before @nex/routes: app.register(nexWebSocket)',
  500
)
