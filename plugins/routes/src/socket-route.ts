/**
 * WebSocket handlers in API files: `export const socket = { open, message, close }` (or a function called
 * on open) is served at the file's URL through @nex/websocket, on the same route as the file's GET (an
 * upgrade request goes to the socket, any other GET to the `GET` export). The upgrade request runs the
 * app's hooks first (session, page state), then the Origin check; the socket's `context` is the route's
 * `Context`. Callbacks are read from the module slot on every call, so live reload reaches open sockets.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { Context } from './context.js'
import { WebSocketNotRegisteredError } from './errors.js'
import { buildParams, type HandlerEnv } from './handlers.js'
import type { ParamSpec } from './lib/route-path.js'
import type { ApiModule, ModuleSlot } from './modules.js'
import { displayPath } from './route-table.js'

/** What this needs of @nex/websocket's `fastify.nexWebSocket` (known by shape: no dependency on it). */
interface WebSocketApi {
  handler (definition: Record<string, (socket: never, ...args: never[]) => unknown>): (...args: never[]) => unknown
  checkOrigin (request: FastifyRequest, reply: FastifyReply): Promise<void>
}

interface SocketLike {
  context: unknown
  readonly request: FastifyRequest
}

type Callback = (socket: SocketLike, ...args: unknown[]) => unknown

const kSocketContext = Symbol('nex.routes.socketContext')

type UpgradeRequest = FastifyRequest & { ws?: boolean, [kSocketContext]?: Context }

function callbackOf (slot: ModuleSlot<ApiModule>, name: 'open' | 'message' | 'close' | 'error'): Callback | undefined {
  const socket = slot.module.socket
  if (typeof socket === 'function') return name === 'open' ? socket as Callback : undefined
  const callback = socket?.[name]
  return typeof callback === 'function' ? callback as Callback : undefined
}

/** The route options that add the file's socket to its GET route. */
export function socketRouteOptions (app: FastifyInstance, slot: ModuleSlot<ApiModule>, specs: readonly ParamSpec[], env: HandlerEnv): Partial<RouteOptions> {
  const ws = (app as FastifyInstance & { nexWebSocket?: WebSocketApi }).nexWebSocket
  if (ws === undefined) throw new WebSocketNotRegisteredError(displayPath(env.dir, slot.file))
  const live = (name: 'message' | 'close' | 'error') => (socket: SocketLike, ...args: unknown[]) => callbackOf(slot, name)?.(socket, ...args)
  const handler = ws.handler({
    open (socket: SocketLike) {
      socket.context = (socket.request as UpgradeRequest)[kSocketContext]
      return callbackOf(slot, 'open')?.(socket)
    },
    message: live('message'),
    close: live('close'),
    error: live('error')
  } as never)
  return {
    wsHandler: handler,
    async preValidation (request: FastifyRequest, reply: FastifyReply) {
      if ((request as UpgradeRequest).ws === true) await ws.checkOrigin(request, reply)
    },
    async preHandler (request: FastifyRequest, reply: FastifyReply) {
      const upgrade = request as UpgradeRequest
      if (upgrade.ws !== true) return
      const params = buildParams(specs, request.params)
      if (params === null) return reply.callNotFound()
      upgrade[kSocketContext] = new Context(request, reply, params, env)
    }
  } as Partial<RouteOptions>
}
