/**
 * @nex/sse — server-sent events for Fastify.
 *
 * `reply.sse(handler)` turns a route into an event stream: the handler gets an `SseStream` (send events,
 * subscribe to topics, watch `signal`) or is an async generator whose yields are sent. Topics go through
 * an `EventLog` (in-process by default, Redis across processes), so `fastify.nexSse.publish(topic, event)`
 * on any process reaches every stream following the topic, with per-topic ids and replay on reconnect.
 * `preClose` ends every stream with `event: shutdown`, so `fastify.close()` never waits on one.
 *
 * Decorators: `reply.sse`, `fastify.nexSse`, `fastify.nexTopics` (shared with @nex/websocket).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { sharedTopics, type EventLog, type JsonValue, type TopicMessage } from '@nex/pubsub'
import { isSafeHtml } from '@nex/html'
import { FST_NEX_SSE_FORBIDDEN_ORIGIN, FST_NEX_SSE_INVALID_DATA, FST_NEX_SSE_INVALID_OPTION } from './errors.js'
import { checkEventName, type SseChunk, type SseMessage } from './lib/frame.js'
import { originAllowed } from './lib/origin.js'
import { normalizeOptions, type SseOptions } from './options.js'
import { StreamRegistry } from './registry.js'
import { TopicHub } from './hub.js'
import { EventStream, type SseStream, type StreamEnv } from './stream.js'

export type { SseStream, SubscribeOptions, TopicSubscription } from './stream.js'
export { formatMessage, formatComment, parseLastEventId, type SseChunk, type SseMessage } from './lib/frame.js'
export { originAllowed, type AllowedOrigins } from './lib/origin.js'
export type { SseOptions } from './options.js'
export * as errors from './errors.js'

/** What a stream runs: a function of the stream (may return an async iterable), or an async iterable. */
export type StreamSource =
  | ((stream: SseStream) => unknown)
  | AsyncIterable<SseChunk>

/** An event to publish on a topic: a message with `event` and `data` (JSON-able), or its data alone. */
export type PublishedEvent = string | { readonly value: string } | Pick<SseMessage, 'event' | 'data'>

export interface NexSseApi {
  /**
   * Appends an event to a topic: every stream following it, in every process sharing the topics log,
   * gets it. Resolves to the event's id. Data must be a string, html`…`, or a JSON value.
   */
  publish (topic: string, event: PublishedEvent): Promise<number>
  /** Streams open now (this process). */
  readonly streams: number
  /** The topics log streams follow. */
  readonly topics: EventLog
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Answers with an event stream fed by `source`. Resolves (to nothing: the reply is a thenable that
     * would wait for the stream's end) once the headers are out or the client left; rejects (for the
     * error handler) when the source fails before sending anything, e.g. a 404.
     */
    sse (source: StreamSource): Promise<void>
  }
  interface FastifyInstance {
    nexSse: NexSseApi
    nexTopics: EventLog
  }
}

/** Marks a `(ctx, stream) => …` function as a stream handler for file routes (@nex/routes). */
export const STREAM_HANDLER = Symbol.for('@nex/sse.handler')

/** Marks `handler` as a stream handler: an API method or a page's `stream` export served as `text/event-stream`. */
export function stream<F extends (...args: never[]) => unknown> (handler: F): F {
  Object.defineProperty(handler, STREAM_HANDLER, { value: true })
  return handler
}

function isAsyncIterable (value: unknown): value is AsyncIterable<SseChunk> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

/** The topic message a published event becomes (what every process frames). */
export function toTopicMessage (event: PublishedEvent): TopicMessage {
  if (typeof event === 'string') return { data: event }
  if (isSafeHtml(event)) return { data: event.value }
  if (typeof event !== 'object' || event === null) throw new FST_NEX_SSE_INVALID_DATA(String(event))
  if (!Object.hasOwn(event, 'data') && !Object.hasOwn(event, 'event')) throw new FST_NEX_SSE_INVALID_DATA('an object without "data" or "event" (put JSON in { data })')
  const message = event as Pick<SseMessage, 'event' | 'data'>
  const name = checkEventName(message.event)
  const data = message.data
  const wire = isSafeHtml(data) ? data.value : (data === undefined ? '' : data) as JsonValue
  return name === undefined ? { data: wire } : { event: name, data: wire }
}

async function pump (stream: EventStream, iterable: AsyncIterable<SseChunk>): Promise<void> {
  const iterator = iterable[Symbol.asyncIterator]()
  // A generator waiting on something (a timer, a fetch) learns the client left at its next yield; `return()` runs its `finally`.
  const stop = (): void => { iterator.return?.()?.catch(() => {}) }
  stream.signal.addEventListener('abort', stop, { once: true })
  // Whether the iterator finished by itself (done, or threw): otherwise it is returned, so a generator's
  // `finally` also runs when the stream closed or when sending a yielded value failed.
  let finished = false
  try {
    while (!stream.closed) {
      let next: IteratorResult<SseChunk>
      try {
        next = await iterator.next()
      } catch (error) {
        finished = true
        throw error
      }
      if (next.done === true) {
        finished = true
        break
      }
      if (stream.closed) break
      stream.send(next.value)
    }
  } finally {
    stream.signal.removeEventListener('abort', stop)
    if (!finished) await iterator.return?.()
  }
}

async function nexSse (app: FastifyInstance, options: SseOptions): Promise<void> {
  const opts = normalizeOptions(options)
  const connectionTimeout = app.initialConfig.connectionTimeout ?? 0
  if (connectionTimeout > 0 && opts.heartbeat >= connectionTimeout) {
    throw new FST_NEX_SSE_INVALID_OPTION('heartbeat', `below the server's connectionTimeout (${connectionTimeout} ms), or idle streams are cut`, String(opts.heartbeat))
  }
  const topics = sharedTopics(app, opts.topics)
  const registry = new StreamRegistry(opts)
  const hub = new TopicHub(topics, (error, topic) => app.log.error({ err: error, topic }, '@nex/sse: topic delivery failed'))
  const env: StreamEnv = {
    hub,
    topics,
    maxBufferedBytes: opts.maxBufferedBytes,
    clock: registry.clock,
    release: (stream) => registry.remove(stream)
  }
  const retryAfter = String(opts.retryAfter)

  function checkRequest (request: FastifyRequest, reply: FastifyReply): void {
    const headers = request.headers
    if (!originAllowed(headers.origin, headers['sec-fetch-site'] as string | undefined, request.host, opts.allowedOrigins)) {
      throw new FST_NEX_SSE_FORBIDDEN_ORIGIN()
    }
    try {
      registry.admit(request)
    } catch (error) {
      reply.header('retry-after', retryAfter)
      throw error
    }
  }

  app.decorateReply('sse', function sse (this: FastifyReply, source: StreamSource): Promise<void> {
    const reply = this
    const request = reply.request
    checkRequest(request, reply)
    const stream = new EventStream(request, reply, env)
    registry.add(stream)
    if (request.method === 'HEAD') {
      // The headers a GET would get, and no stream (Fastify serves HEAD for every GET route).
      stream.close()
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      stream.onCommit = () => resolve()
      let run: Promise<unknown>
      try {
        const result = typeof source === 'function' ? source(stream) : source
        run = isAsyncIterable(result) ? pump(stream, result) : Promise.resolve(result)
      } catch (error) {
        run = Promise.reject(error)
      }
      run.then(
        () => stream.handlerDone(),
        (error: unknown) => {
          if (!stream.committed) {
            stream.abandon()
            reject(error)
            return
          }
          request.log.error({ err: error }, '@nex/sse: the stream handler failed; ending the stream')
          stream.close()
        }
      )
    })
  })

  app.decorate('nexSse', {
    publish: async (topic: string, event: PublishedEvent) => await topics.append(topic, toTopicMessage(event) as unknown as JsonValue),
    get streams () {
      return registry.size
    },
    topics
  } satisfies NexSseApi)

  // Before the server stops accepting: an open stream would keep close() waiting forever.
  app.addHook('preClose', async () => registry.shutdown())
}

const plugin = fp(nexSse, { fastify: '5.x', name: '@nex/sse' })
export { plugin as nexSse }
export default plugin
