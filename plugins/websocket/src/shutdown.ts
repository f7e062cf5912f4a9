/**
 * Shutdown of WebSockets. `closeClients` is the `preClose` given to @fastify/websocket: every socket gets
 * 1001, the close handshakes get `closeTimeout`, the rest are terminated.
 *
 * `watchRefusedUpgrades` covers the sockets of upgrades that never became WebSockets. Refusals that go
 * through Fastify's hooks are destroyed by @fastify/websocket's `onResponse`, but the 503 Fastify writes
 * itself while closing (`return503OnClosing`) bypasses every hook; HTTP server sockets allow half-open
 * connections, so nothing would end those and `server.close()` would wait for the client.
 */
import type { Server } from 'node:http'
import { Socket } from 'node:net'
import type { WebSocket, WebSocketServer } from 'ws'

const GOING_AWAY = 1001

export interface RefusedUpgrades {
  /** From now on, a new upgrade socket idle for `timeout` ms is destroyed. */
  closing (timeout: number): void
  /** Ends (after what was written) every upgrade socket that did not become a WebSocket. */
  sweep (): void
}

export function watchRefusedUpgrades (server: Server, wss: WebSocketServer): RefusedUpgrades {
  const upgraded = new WeakSet<Socket>()
  const waiting = new Set<Socket>()
  let idleTimeout = 0
  wss.on('connection', (_socket, request) => {
    const socket: unknown = request.socket
    if (!(socket instanceof Socket)) return
    upgraded.add(socket)
    waiting.delete(socket)
  })
  server.on('upgrade', (_request, socket: unknown) => {
    // `injectWS` (tests) emits upgrades over an in-memory stream: no connection to end.
    if (!(socket instanceof Socket) || socket.destroyed) return
    waiting.add(socket)
    socket.once('close', () => waiting.delete(socket))
    // The client hung up on a refused upgrade: end our side too.
    socket.once('end', () => {
      if (!upgraded.has(socket)) socket.destroy()
    })
    if (idleTimeout > 0) socket.setTimeout(idleTimeout, () => socket.destroy())
  })
  return {
    closing (timeout) {
      idleTimeout = timeout
    },
    sweep () {
      for (const socket of waiting) socket.destroySoon()
      waiting.clear()
    }
  }
}

/** Closes every client of `wss` with 1001 and waits up to `closeTimeout` for each handshake; terminates the rest. */
export async function closeClients (wss: WebSocketServer, closeTimeout: number): Promise<void> {
  const clients = Array.from(wss.clients)
  const closed = Promise.all(clients.map(closeEvent))
  for (const client of clients) {
    try {
      client.close(GOING_AWAY, 'server shutting down')
    } catch {
      client.terminate()
    }
  }
  await within(closed, closeTimeout)
  for (const client of wss.clients) client.terminate()
  await within(closed, closeTimeout)
}

async function closeEvent (socket: WebSocket): Promise<void> {
  if (socket.readyState === socket.CLOSED) return
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
}

/** Waits for `promise`, at most `ms`. */
export async function within (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
