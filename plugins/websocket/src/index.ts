/**
 * @nex/websocket: WebSocket routes for Fastify, on @fastify/websocket registered with safe settings:
 * a 64 KiB payload limit (1009), a per-connection message rate limit (1008), connection caps in all and
 * per client address (503), an Origin check against cross-site WebSocket hijacking (403), a cap on what
 * may wait for a slow client (terminated), pings that drop dead peers, and topics through the app's event
 * log (`nexTopics`, shared with @nex/sse).
 *
 * Hooks: `onRequest` refuses upgrades past the caps or during shutdown (503; plain requests pass
 * untouched); `preValidation` of the routes it registers checks the Origin (`checkOrigin`, exposed for
 * routes registered elsewhere); `preClose` (given to @fastify/websocket) closes every socket with 1001,
 * waits `closeTimeout` for the handshakes, terminates the rest, so `fastify.close()` never hangs.
 *
 * Decorators: `fastify.nexWebSocket`; `fastify.nexTopics` unless another plugin made it; those of
 * @fastify/websocket (`websocketServer`, `injectWS`, `request.ws`).
 *
 * Wrapped in fastify-plugin: the decorators, the upgrade hooks and the shutdown must cover the whole app.
 */
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { WebSocket, WebSocketServer } from 'ws'
import fastifyWebsocket from '@fastify/websocket'
import fp from 'fastify-plugin'
import { describeValue, sharedTopics, type EventLog, type JsonValue, type TopicMessage } from '@nex/pubsub'
import { normalizeOptions, type WebSocketOptions } from './options.js'
import {
  FST_NEX_WS_ALREADY_REGISTERED,
  FST_NEX_WS_FORBIDDEN_ORIGIN,
  FST_NEX_WS_SHUTTING_DOWN,
  FST_NEX_WS_TOO_MANY_CONNECTIONS
} from './errors.js'
import { kReleased } from './symbols.js'
import { createWebSocketHandler, type HandlerHub, type WebSocketDefinition, type WebSocketRouteHandler } from './handler.js'
import { startHeartbeat } from './heartbeat.js'
import { closeClients, watchRefusedUpgrades, within } from './shutdown.js'
import type { SocketConnection } from './socket.js'
import { createConnectionSlots } from './lib/connection-slots.js'

/** Route options `route()` passes on (method, url, handler and `websocket` are its own). */
export type WebSocketRouteOptions = Omit<RouteShorthandOptions, 'websocket'>

/** `fastify.nexWebSocket`: WebSocket routes, topics and the connection count. */
export interface NexWebSocketApi {
  /**
   * Registers `GET url` as a WebSocket route on the instance `nexWebSocket` was read from (its prefix and
   * hooks apply), with the Origin check in front of its own `preValidation` hooks.
   */
  route<Context = unknown> (url: string, definition: WebSocketDefinition<Context>, routeOptions?: WebSocketRouteOptions): FastifyInstance
  /**
   * The handler of a `websocket: true` route running `definition`, for plugins registering routes
   * themselves: `{ websocket: true, handler, preValidation: fastify.nexWebSocket.checkOrigin }`.
   */
  handler<Context = unknown> (definition: WebSocketDefinition<Context>): WebSocketRouteHandler
  /** The Origin check as a `preValidation` hook: 403 FST_NEX_WS_FORBIDDEN_ORIGIN before any upgrade. */
  readonly checkOrigin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  /** Appends `message` to `topic` for every subscribed socket (and SSE stream); resolves to its id. */
  publish (topic: string, message: JsonValue | TopicMessage): Promise<number>
  /** Open WebSockets. */
  readonly connections: number
}

declare module 'fastify' {
  interface FastifyInstance {
    nexWebSocket: NexWebSocketApi
    /** The app's event log for topics, shared by @nex/websocket and @nex/sse. */
    nexTopics: EventLog
  }
}

const GOING_AWAY = 1001
const INTERNAL_ERROR = 1011
const RETRY_AFTER_FULL = '5'
const RETRY_AFTER_CLOSING = '1'

async function plugin (fastify: FastifyInstance, options: WebSocketOptions): Promise<void> {
  const normalized = normalizeOptions(options)
  const { allowOrigin, closeTimeout } = normalized

  if (fastify.hasDecorator('nexWebSocket')) throw new FST_NEX_WS_ALREADY_REGISTERED('@nex/websocket')
  if (fastify.hasDecorator('websocketServer')) throw new FST_NEX_WS_ALREADY_REGISTERED('@fastify/websocket')

  const topics = sharedTopics(fastify, normalized.topics)
  const slots = createConnectionSlots(normalized.maxConnections, normalized.maxConnectionsPerIp)
  const sockets = new Set<SocketConnection>()
  let closing = false

  // `closeTimeout` is a ws server option its types do not list yet: ws terminates a socket whose close
  // handshake takes longer.
  const serverOptions = { maxPayload: normalized.maxPayload, closeTimeout }
  await fastify.register(fastifyWebsocket, {
    options: serverOptions,
    preClose: closeAll,
    errorHandler: onSocketError
  })
  const wss: WebSocketServer = fastify.websocketServer
  const stopHeartbeat = startHeartbeat(wss, normalized.heartbeat, fastify.log)
  const refusedUpgrades = watchRefusedUpgrades(fastify.server, wss)

  const hub: HandlerHub = {
    topics,
    maxBufferedBytes: normalized.maxBufferedBytes,
    rateLimit: normalized.rateLimit,
    adopt (socket) {
      sockets.add(socket)
      socket[kReleased].then(() => sockets.delete(socket))
      // Upgraded while the app was closing (its hooks ran before): closeAll may have passed already.
      if (closing) socket.close(GOING_AWAY, 'server shutting down')
    }
  }

  async function checkOrigin (request: FastifyRequest): Promise<void> {
    const origin = request.headers.origin
    // No Origin header: not a browser, so not a page of another site riding on the user's cookies.
    if (origin === undefined) return
    if (await allowOrigin(origin, request)) return
    throw new FST_NEX_WS_FORBIDDEN_ORIGIN(describeValue(origin))
  }

  // Upgrades only (cheap for the rest): a slot per connection, held from here until the TCP socket
  // closes, whether the upgrade happened or a later hook refused it.
  fastify.addHook('onRequest', function admitUpgrade (request, reply, done) {
    if (!request.ws) {
      done()
      return
    }
    if (closing) {
      reply.header('retry-after', RETRY_AFTER_CLOSING)
      done(new FST_NEX_WS_SHUTTING_DOWN())
      return
    }
    // `injectWS` (tests) upgrades without a TCP socket: nothing to count.
    const connection = request.raw.socket as Socket | undefined
    if (connection === undefined) {
      done()
      return
    }
    const address = request.ip
    const refusal = slots.acquire(address)
    if (refusal !== null) {
      reply.header('retry-after', RETRY_AFTER_FULL)
      done(new FST_NEX_WS_TOO_MANY_CONNECTIONS(refusal, normalized[refusal]))
      return
    }
    if (connection.destroyed) slots.release(address)
    else connection.once('close', () => slots.release(address))
    done()
  })

  const apis = new WeakMap<FastifyInstance, NexWebSocketApi>()
  function apiOf (instance: FastifyInstance): NexWebSocketApi {
    return {
      route (url, definition, routeOptions = {}) {
        const own = routeOptions.preValidation
        const preValidation = [checkOrigin, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])]
        return instance.route({
          ...routeOptions,
          method: 'GET',
          url,
          websocket: true,
          preValidation,
          handler: createWebSocketHandler(definition, hub)
        } as Parameters<FastifyInstance['route']>[0])
      },
      handler: (definition) => createWebSocketHandler(definition, hub),
      checkOrigin,
      publish: async (topic, message) => await topics.append(topic, message as JsonValue),
      get connections () {
        return wss.clients.size
      }
    }
  }
  // A getter, so that `route` registers on the (encapsulated) instance the decorator is read from.
  fastify.decorate('nexWebSocket', {
    getter (this: FastifyInstance): NexWebSocketApi {
      let api = apis.get(this)
      if (api === undefined) {
        api = apiOf(this)
        apis.set(this, api)
      }
      return api
    }
  })

  /** @fastify/websocket's preClose. */
  async function closeAll (): Promise<void> {
    closing = true
    refusedUpgrades.closing(closeTimeout)
    stopHeartbeat()
    await closeClients(wss, closeTimeout)
    // Topic subscriptions are released before onClose closes the event log.
    await within(Promise.all(Array.from(sockets, async (socket) => await socket[kReleased])), closeTimeout)
    refusedUpgrades.sweep()
    wss.close()
  }
}

/**
 * @fastify/websocket's errorHandler: a client breaking the protocol or a limit (ws closes it with the
 * right code) is the client's problem; anything else failed in a route handler and closes with 1011.
 */
function onSocketError (error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
    request.log.info({ err: error }, '@nex/websocket: closed a WebSocket whose client broke the protocol or a limit')
    return
  }
  request.log.error({ err: error }, '@nex/websocket: a WebSocket handler failed; closing the socket with 1011')
  if (socket.readyState === socket.OPEN) socket.close(INTERNAL_ERROR, 'internal error')
  else socket.terminate()
}

export const nexWebSocket = fp(plugin, { fastify: '5.x', name: '@nex/websocket' })
export default nexWebSocket

export type { NexSocket, OutgoingMessage, TopicHandler } from './socket.js'
export type { WebSocketCallbacks, WebSocketDefinition, WebSocketRouteHandler } from './handler.js'
export type { OriginCheck, RateLimitOptions, WebSocketOptions } from './options.js'
export { DEFAULTS } from './options.js'
export type { EventLog, JsonValue, TopicMessage, Unsubscribe } from '@nex/pubsub'
export * as errors from './errors.js'
