/**
 * What the SSE tests share: an app listening on a real socket (streaming cannot go through `inject`), a
 * raw HTTP stream client that keeps every byte it got, a small parser of the wire format, a log collector
 * and polling.
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import nexSse, { type SseOptions } from '../src/index.js'

export interface Served {
  app: FastifyInstance
  /** `http://127.0.0.1:<port>` */
  base: string
  port: number
}

export interface ServeOptions {
  fastify?: FastifyServerOptions
  routes?: (app: FastifyInstance) => void
  /** Log lines (parsed) land here when given. */
  logs?: LogCollector
}

/** An app with @nex/sse and `routes`, listening on 127.0.0.1; closed by the teardown of `t`. */
export async function serve (t: Test, options: SseOptions = {}, { fastify = {}, routes, logs }: ServeOptions = {}): Promise<Served> {
  const app = Fastify({ ...fastify, ...(logs === undefined ? {} : { logger: { level: 'info', stream: logs.stream } }) })
  t.teardown(async () => await app.close())
  await app.register(nexSse, options)
  routes?.(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  return { app, base: `http://127.0.0.1:${port}`, port }
}

/** One HTTP response read as it arrives. */
export interface RawStream {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Everything received so far. */
  readonly text: string
  /** True once the response ended or its connection closed. */
  readonly done: boolean
  /** Resolves when the response ended (EOF) or its connection closed; to whether it ended cleanly. */
  readonly ended: Promise<boolean>
  /** Resolves to the text once `until` holds for it; rejects after `timeout` ms or when the response ends first. */
  until (until: RegExp | ((text: string) => boolean), timeout?: number): Promise<string>
  /** Closes the connection (the client leaves). */
  close (): void
}

/**
 * Opens `path` with a connection of its own (from `localAddress`, another loopback address for another
 * client IP); resolves once the response headers arrived.
 */
export async function open (base: string, path: string, headers: Record<string, string> = {}, { localAddress }: { localAddress?: string } = {}): Promise<RawStream> {
  return await new Promise((resolve, reject) => {
    const request = http.get(`${base}${path}`, { agent: false, headers, ...(localAddress === undefined ? {} : { localAddress }) })
    request.once('error', reject)
    request.once('response', (response) => {
      let text = ''
      let done = false
      let clean = false
      const waiters = new Set<() => void>()
      const check = (): void => { for (const waiter of [...waiters]) waiter() }
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        text += chunk
        check()
      })
      response.once('end', () => { clean = true })
      const ended = new Promise<boolean>((resolve) => {
        const finish = (): void => {
          if (done) return
          done = true
          check()
          resolve(clean)
        }
        response.once('end', finish)
        response.once('close', finish)
        response.once('error', finish)
        request.once('close', finish)
      })
      // The client side of a connection cut by the server.
      request.on('error', () => {})
      response.on('error', () => {})
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        get text () { return text },
        get done () { return done },
        ended,
        async until (until, timeout = 5000) {
          const test = typeof until === 'function' ? until : (text: string) => until.test(text)
          if (test(text)) return text
          return await new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => {
              waiters.delete(waiter)
              reject(new Error(`timed out after ${timeout} ms waiting for ${String(until)}; got ${JSON.stringify(text.slice(-500))}`))
            }, timeout)
            const waiter = (): void => {
              if (test(text)) {
                clearTimeout(timer)
                waiters.delete(waiter)
                resolve(text)
              } else if (done) {
                clearTimeout(timer)
                waiters.delete(waiter)
                reject(new Error(`the response ended before ${String(until)}; got ${JSON.stringify(text.slice(-500))}`))
              }
            }
            waiters.add(waiter)
          })
        },
        close () {
          request.destroy()
        }
      })
    })
  })
}

/** One event as a client parses it (fields as they came; `comments` for `:` lines). */
export interface WireEvent {
  event?: string
  data?: string
  id?: string
  retry?: string
  comments?: string[]
}

/**
 * Parses LF-framed event stream text (what @nex/sse writes) into its blocks: a block is everything up to a
 * blank line. Data lines are joined with LF, as clients do. An unfinished last block is left out.
 */
export function parseEvents (text: string): WireEvent[] {
  const events: WireEvent[] = []
  const blocks = text.split('\n\n')
  blocks.pop()
  for (const block of blocks) {
    const event: WireEvent = {}
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        (event.comments ??= []).push(line.slice(1).replace(/^ /, ''))
        continue
      }
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`
      else if (field === 'event' || field === 'id' || field === 'retry') event[field] = value
      else throw new Error(`unknown field ${JSON.stringify(field)} in ${JSON.stringify(block)}`)
    }
    events.push(event)
  }
  return events
}

/** The events of `text` that carry data (what a client dispatches), without comments and heartbeats. */
export function dataEvents (text: string): WireEvent[] {
  return parseEvents(text).filter(event => event.data !== undefined)
}

export interface LogCollector {
  readonly stream: Writable
  readonly lines: Array<Record<string, unknown>>
}

/** A Fastify logger destination keeping each line, parsed. */
export function collectLogs (): LogCollector {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    }
  })
  return { stream, lines }
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Polls `condition` every 10 ms; resolves to whether it held within `timeout` ms. */
export async function eventually (condition: () => boolean, timeout = 5000): Promise<boolean> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

/** Whether `promise` settles within `ms` (it goes on either way). */
export async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = promise.then(() => true, () => true)
  const result = await Promise.race([settled, new Promise<boolean>(resolve => { timer = setTimeout(resolve, ms, false) })])
  clearTimeout(timer)
  return result
}

/** A promise with its resolve function outside. */
export function deferred<T = void> (): { promise: Promise<T>, resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}
