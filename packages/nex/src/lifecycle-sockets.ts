/**
 * Sockets that connected and never sent a byte. Node 20's `server.close()` does not count them as idle
 * (a connection is "active" until its first request completes), and `close()` stops the timer that
 * enforces `headersTimeout`, so `app.close()` waits for each of them until `connectionTimeout` (measured:
 * 59.95 s with createServer()'s 60 s; never with Fastify's default 0). Browsers and proxies open such
 * preconnections all the time. Once the listener is closed, nothing sent on them would be answered
 * anyway (`app.close()` has stopped accepting), so they are destroyed then.
 *
 * "Never sent a byte" is read from `socket.bytesRead`, so a request whose headers are still arriving
 * is not cut, and no `request` or `upgrade` listener is needed (an `upgrade` listener would change how
 * Node treats upgrade requests). TLS sockets are tracked from `secureConnection`; HTTP/2 and custom
 * servers are left alone.
 */
import { Server as HttpServer } from 'node:http'
import { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'

/** How often, once closing began, to look whether the listener is closed yet (ms). */
const LISTENER_POLL_INTERVAL = 20

export interface SilentSockets {
  /**
   * Destroys the silent sockets as soon as the server stopped listening (`app.close()` stops it after
   * the `preClose` hooks), then stops tracking; `onDestroyed` is told how many there were. Idempotent.
   */
  destroyWhenClosed (onDestroyed?: (count: number) => void): void
  /** Stops tracking without destroying anything. */
  stop (): void
}

export function trackSilentSockets (server: unknown): SilentSockets {
  const event = server instanceof HttpsServer ? 'secureConnection' : server instanceof HttpServer ? 'connection' : null
  const sockets = new Set<Socket>()
  let timer: NodeJS.Timeout | null = null
  let stopped = false

  function forget (this: Socket): void {
    sockets.delete(this)
  }
  function track (socket: Socket): void {
    sockets.add(socket)
    socket.once('close', forget)
  }
  const emitter = server as HttpServer
  if (event !== null) emitter.on(event, track)

  function stop (): void {
    if (stopped) return
    stopped = true
    if (timer !== null) clearInterval(timer)
    if (event !== null) emitter.off(event, track)
    for (const socket of sockets) socket.off('close', forget)
    sockets.clear()
  }

  return {
    destroyWhenClosed (onDestroyed) {
      if (stopped || timer !== null) return
      const destroyIfClosed = (): void => {
        if (emitter.listening) return
        let count = 0
        for (const socket of sockets) {
          if (socket.bytesRead > 0) continue
          socket.destroy()
          count++
        }
        stop()
        onDestroyed?.(count)
      }
      timer = setInterval(destroyIfClosed, LISTENER_POLL_INTERVAL).unref()
      destroyIfClosed()
    },
    stop
  }
}
