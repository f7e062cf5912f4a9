/**
 * Pings: every `interval` ms each open socket gets a ping, and one that has not answered the previous
 * ping is terminated (a dead peer, a vanished laptop). The pings also keep proxies from closing idle
 * connections.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket, WebSocketServer } from 'ws'

/** Starts pinging the clients of `wss`; returns the function that stops it. `interval` 0: no pings. */
export function startHeartbeat (wss: WebSocketServer, interval: number, log: FastifyBaseLogger): () => void {
  if (interval === 0) return () => {}
  const awaitingPong = new WeakSet<WebSocket>()
  const onConnection = (socket: WebSocket): void => {
    socket.on('pong', () => awaitingPong.delete(socket))
  }
  wss.on('connection', onConnection)

  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue
      if (awaitingPong.has(socket)) {
        log.debug('@nex/websocket: terminated a WebSocket that did not answer the last ping')
        socket.terminate()
        continue
      }
      awaitingPong.add(socket)
      socket.ping()
    }
  }, interval)
  timer.unref()

  return () => {
    clearInterval(timer)
    wss.off('connection', onConnection)
  }
}
