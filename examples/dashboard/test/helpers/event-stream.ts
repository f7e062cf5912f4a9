/**
 * Reading `/api/energy-stream` as a test client: the raw text/event-stream over a socket, frame by frame,
 * and the ticks in it (what each shows, how late it arrived).
 */
import { get, type IncomingMessage } from 'node:http'
import type { Test } from 'tap'
import { CYCLE_SECONDS, secondOf } from '../../src/lib/energy.ts'

export const PRICE = /^\d+\.\d{2}$/
export const TIME = /^\d{2}:\d{2}:\d{2} UTC$/
export const POINTS = /^\d+$/
/** How long a tick may take to arrive: one second, plus slack for a loaded machine. */
const TICK_WAIT_MS = 3_000

/** An open `/api/energy-stream`, read frame by frame (the raw text of each event, heartbeats skipped). */
export interface EventStream {
  /** The next event's text (without the blank line ending it), or null once the stream ended. */
  next (timeoutMs?: number): Promise<string | null>
  close (): void
}

/**
 * Opens the stream (sending `headers`) with node:http and no agent: closing it destroys the socket and nothing reconnects
 * (fetch's pool opens a fresh idle connection after an aborted body, which then keeps the server's
 * close() waiting).
 */
export async function openStream (t: Test, base: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const request = get(`${base}/api/energy-stream`, { agent: false, headers })
  const close = (): void => { request.destroy() }
  t.teardown(close)
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  if (response.statusCode !== 200) throw new Error(`the stream answered ${response.statusCode}`)
  if (!String(response.headers['content-type']).startsWith('text/event-stream')) throw new Error('not an event stream')
  request.on('error', () => {}) // closing destroys the socket: not an error here
  const chunks = response.setEncoding('utf8')[Symbol.asyncIterator]() as AsyncIterator<string>
  let buffer = ''

  async function read (): Promise<string | null> {
    for (;;) {
      const end = buffer.indexOf('\n\n')
      if (end !== -1) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (frame.split('\n').every(line => line.startsWith(':'))) continue // a heartbeat comment
        return frame
      }
      const chunk = await chunks.next().catch(() => ({ done: true, value: '' }))
      if (chunk.done === true) return null
      buffer += chunk.value
    }
  }

  return {
    async next (timeoutMs = TICK_WAIT_MS) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs)
      })
      try {
        return await Promise.race([read(), timeout])
      } finally {
        clearTimeout(timer)
      }
    },
    close
  }
}

/** What one tick shows, read from its frame. */
export interface Tick {
  readonly frame: string
  readonly price: string
  readonly time: string
  readonly dataPoints: string
  /** Seconds between the tick's time and its arrival. */
  readonly lag: number
}

export function textOf (data: string, testId: string): string {
  const match = new RegExp(`<[^>]*data-testid="${testId}"[^>]*>([^<]*)<`).exec(data)
  if (match === null) throw new Error(`no ${testId} in ${data}`)
  return match[1] as string
}

/** A tick frame: exactly one unnamed message with one `data:` line (no `event:`, so htmx swaps it). */
export function tickOf (frame: string): Tick {
  if (!frame.startsWith('data: ') || frame.includes('\n')) throw new Error(`not a one-line unnamed message: ${JSON.stringify(frame)}`)
  const data = frame.slice('data: '.length)
  const time = textOf(data, 'energy-time')
  return { frame, price: textOf(data, 'energy-price'), time, dataPoints: textOf(data, 'energy-data-points'), lag: secondsAgo(time) }
}

export async function nextTick (stream: EventStream): Promise<Tick> {
  const frame = await stream.next()
  if (frame === null) throw new Error('the stream ended')
  return tickOf(frame)
}

export async function ticks (stream: EventStream, count: number): Promise<Tick[]> {
  const seen: Tick[] = []
  while (seen.length < count) seen.push(await nextTick(stream))
  return seen
}

/** Seconds from one data-points value to the next, across the top of the hour. */
export function step (from: string, to: string): number {
  return (Number(to) - Number(from) + CYCLE_SECONDS) % CYCLE_SECONDS
}

/** Seconds between `HH:MM:SS UTC` and now (0 to 86 399, so "just before" is near 86 400). */
export function secondsAgo (time: string): number {
  const [h, m, s] = time.slice(0, 8).split(':').map(Number) as [number, number, number]
  return ((secondOf(Date.now()) - (h * 3600 + m * 60 + s)) % 86_400 + 86_400) % 86_400
}
