/**
 * A small event-stream client for tests, over a real socket of its own: it parses `text/event-stream` the
 * way browsers do (data lines joined with LF, `id`, `event`, comments ignored) and records every event in
 * order, so a test can say exactly what a connection received. It never reconnects on its own: a test
 * reconnects explicitly, with the `Last-Event-ID` it chooses.
 *
 * It uses `node:http` without an agent rather than `fetch`: after an aborted response, fetch's pool opens
 * a spare connection that never sends a request, and such a connection keeps Fastify's `close()` (and a
 * server process's SIGTERM) waiting.
 */
import { request, type IncomingMessage } from 'node:http'

export interface SseEvent {
  /** The event's `id:` field, or null when it had none. */
  readonly id: string | null
  /** The event name; '' for an unnamed message (what htmx swaps). */
  readonly event: string
  readonly data: string
}

export interface SseConnection {
  readonly status: number
  readonly contentType: string | null
  /** Every event received so far, in order. */
  readonly events: readonly SseEvent[]
  /** Resolves once an event satisfies `match` (with every event up to it); rejects after `timeout` ms or when the stream ends first. */
  until (match: (event: SseEvent) => boolean, timeout?: number): Promise<SseEvent[]>
  /** Closes the connection (the server sees the client leave). */
  close (): void
}

const WAIT_MS = 5_000

export async function connectSse (url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, resolve)
    req.setTimeout(WAIT_MS, () => req.destroy(new Error(`no answer from ${url} within ${WAIT_MS} ms`)))
    req.once('error', reject)
    req.end()
  })
  response.socket.setTimeout(0)
  const events: SseEvent[] = []
  const waiters = new Set<() => void>()
  let ended: Error | null = null
  const notify = (): void => { for (const waiter of [...waiters]) waiter() }

  async function read (body: IncomingMessage): Promise<void> {
    body.setEncoding('utf8')
    let buffer = ''
    let data: string[] = []
    let id: string | null = null
    let name = ''
    for await (const chunk of body) {
      buffer += chunk as string
      const lines = buffer.split(/\r\n|\r|\n/)
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) events.push({ id, event: name, data: data.join('\n') })
          data = []
          id = null
          name = ''
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        let value = colon === -1 ? '' : line.slice(colon + 1)
        if (value.startsWith(' ')) value = value.slice(1)
        if (field === 'data') data.push(value)
        else if (field === 'id') id = value
        else if (field === 'event') name = value
      }
      notify()
    }
  }

  read(response).then(
    () => { ended = new Error('the stream ended') },
    (error: unknown) => { ended = error instanceof Error ? error : new Error(String(error)) }
  ).finally(notify)

  return {
    status: response.statusCode ?? 0,
    contentType: response.headers['content-type'] ?? null,
    events,
    until (match, timeout = WAIT_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const index = events.findIndex(match)
          if (index !== -1) finish(() => resolve(events.slice(0, index + 1)))
          else if (ended !== null) finish(() => reject(new Error(`${ended?.message} after ${events.length} events: ${JSON.stringify(events.slice(-3))}`)))
        }
        const timer = setTimeout(() => finish(() => reject(new Error(`no matching event within ${timeout} ms; got ${events.length}: ${JSON.stringify(events.slice(-3))}`))), timeout)
        function finish (settle: () => void): void {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      })
    },
    close () {
      response.socket?.destroy()
      response.destroy()
    }
  }
}
