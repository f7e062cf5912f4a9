/**
 * One open event stream: what a stream handler gets. It writes frames straight to the socket (the reply
 * is hijacked, so nothing buffers or compresses it), drops the client when more than `maxBufferedBytes`
 * wait to be sent, and, when it closes for any reason (the client left, the handler finished, the server
 * shuts down, the client was too slow), aborts its signal, releases its topic subscriptions and leaves
 * the registry, exactly once.
 *
 * Headers are sent lazily: on the first write, when a topic subscription is active, or when the handler
 * returns. Until then the handler can still fail with a proper status (404, 403, a coded 503).
 */
import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { EventLog } from '@nex/pubsub'
import { FST_NEX_SSE_REPLAY_TWICE } from './errors.js'
import { formatComment, formatMessage, parseLastEventId, toMessage, type SseChunk } from './lib/frame.js'
import type { TopicHub, TopicMember } from './hub.js'

/** What a stream needs from its plugin (one object per registration). */
export interface StreamEnv {
  readonly hub: TopicHub
  readonly topics: EventLog
  readonly maxBufferedBytes: number
  /** The heartbeat clock: a counter that advances every half heartbeat. */
  readonly clock: { tick: number }
  release (stream: EventStream): void
}

export interface SubscribeOptions {
  /**
   * Send this topic's event ids, and on a reconnect replay what the browser missed (from its
   * `Last-Event-ID`). One topic per stream can replay. @default false
   */
  replay?: boolean
  /**
   * With `replay`, where to replay from when the browser sent no `Last-Event-ID` (its first connection):
   * the id of the newest event the page was rendered with, so nothing published between the render and
   * the connection is missed. @default no replay on a first connection
   */
  after?: number
}

/** An active topic subscription of a stream. */
export interface TopicSubscription {
  readonly topic: string
  /** Events replayed from the topic's buffer before live ones. */
  readonly replayed: number
  /**
   * False when the replay may have missed events (they left the bounded buffer, or expired): the page
   * may be stale, so tell it to reload (`stream.send({ event: 'reload' })`) if that matters.
   */
  readonly complete: boolean
  /** Ends this subscription (the stream closes when nothing else can feed it). */
  unsubscribe (): void
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx (and others) buffer proxied responses unless told not to.
  'x-accel-buffering': 'no'
} as const

function validAfter (after: unknown): number | null {
  return typeof after === 'number' && Number.isSafeInteger(after) && after >= 0 ? after : null
}

const HEADERS_TO_DROP = ['content-length', 'content-encoding', 'transfer-encoding', 'etag', 'last-modified'] as const

/**
 * What a stream handler gets. An interface, not the class, so the type is the same whichever copy of this
 * package (`src` or `dist`) declared it: `reply.sse` is declared by each, and a class with private fields
 * would make the two declarations conflict.
 */
export interface SseStream {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The browser's `Last-Event-ID` (a topic position), or null on a first connection. */
  readonly lastEventId: number | null
  /** True once the stream ended (client gone, closed, server shutting down). Nothing more is sent. */
  readonly closed: boolean
  /** True once the headers are out. */
  readonly committed: boolean
  /** Aborted when the stream closes: pass it to fetches, timers and loops of the handler. */
  readonly signal: AbortSignal
  /** Resolves once the stream closed: `await stream.whenClosed()` keeps a callback-driven handler alive. */
  whenClosed (): Promise<void>
  /**
   * Sends one event: a message `{ data, event, id, retry, comment }`, or a string / html`…` as the data of
   * an unnamed message. Returns false when the stream is closed (the event is dropped).
   */
  send (chunk: SseChunk): boolean
  /** Sends a comment line (clients ignore it). */
  comment (text: string): boolean
  /**
   * Delivers every event of `topic` from now on to this stream (with `replay`, first the ones the browser
   * missed). Resolves once the subscription is active.
   */
  subscribe (topic: string, options?: SubscribeOptions): Promise<TopicSubscription>
  /** Ends the stream (the browser's EventSource or htmx will reconnect unless told otherwise). */
  close (): void
}

/** The stream behind `SseStream`, with what the hub and the registry use. */
export class EventStream implements SseStream {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The browser's `Last-Event-ID` (a topic position), or null on a first connection. */
  readonly lastEventId: number | null
  /** Heartbeat clock tick of the last write (read by the registry). */
  lastWriteTick: number
  /** Ticks in a row with unsent bytes that did not go down (read by the registry). */
  stallTicks = 0
  lastBuffered = 0
  /** Called once the reply is hijacked and the headers are out. */
  onCommit: (() => void) | null = null
  readonly #raw: ServerResponse
  readonly #env: StreamEnv
  #committed = false
  #closed = false
  #handlerDone = false
  #abort: AbortController | null = null
  #members: Array<{ topic: string, member: TopicMember }> | null = null
  /** Subscriptions asked for and not ended (including ones still joining). */
  #feeds = 0
  #replayTopic: string | null = null
  #waiters: Array<() => void> | null = null
  #backlogCheck: NodeJS.Immediate | null = null

  constructor (request: FastifyRequest, reply: FastifyReply, env: StreamEnv) {
    this.request = request
    this.reply = reply
    this.#raw = reply.raw
    this.#env = env
    this.lastEventId = parseLastEventId(request.headers['last-event-id'])
    this.lastWriteTick = env.clock.tick
    this.#raw.once('close', () => this.#finish('client'))
  }

  /** True once the stream ended (client gone, closed, server shutting down). Nothing more is sent. */
  get closed (): boolean {
    return this.#closed
  }

  /** True once the headers are out. */
  get committed (): boolean {
    return this.#committed
  }

  /** Aborted when the stream closes: pass it to fetches, timers and loops of the handler. */
  get signal (): AbortSignal {
    this.#abort ??= new AbortController()
    if (this.#closed) this.#abort.abort()
    return this.#abort.signal
  }

  /** Resolves once the stream closed: `await stream.whenClosed()` keeps a callback-driven handler alive. */
  whenClosed (): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise(resolve => (this.#waiters ??= []).push(resolve))
  }

  /**
   * Sends one event: a message `{ data, event, id, retry, comment }`, or a string / html`…` as the data of
   * an unnamed message. Returns false when the stream is closed (the event is dropped).
   */
  send (chunk: SseChunk): boolean {
    if (this.#closed) return false
    return this.write(formatMessage(toMessage(chunk)))
  }

  /** Sends a comment line (clients ignore it). */
  comment (text: string): boolean {
    if (this.#closed) return false
    return this.write(formatComment(text))
  }

  /** Writes framed bytes. Drops the client when too much is waiting. @internal (for the hub and registry) */
  write (frame: string | Buffer): boolean {
    if (this.#closed) return false
    if (!this.#committed) this.commit()
    const raw = this.#raw
    raw.write(frame)
    this.lastWriteTick = this.#env.clock.tick
    if (raw.writableLength > this.#env.maxBufferedBytes) this.#checkBacklog()
    return true
  }

  /**
   * Node keeps what a response writes in one tick corked until the next, so a burst (a replay, a batch
   * of events) counts as waiting even for a client that reads at once: the backlog is measured again
   * once the socket had its chance to take it.
   */
  #checkBacklog (): void {
    if (this.#backlogCheck !== null) return
    this.#backlogCheck = setImmediate(() => {
      this.#backlogCheck = null
      if (this.#raw.writableLength > this.#env.maxBufferedBytes) this.drop('slow client: more than maxBufferedBytes waiting to be sent')
    })
  }

  /**
   * Delivers every event of `topic` from now on to this stream (with `replay`, first the ones the browser
   * missed). Resolves once the subscription is active.
   */
  async subscribe (topic: string, options: SubscribeOptions = {}): Promise<TopicSubscription> {
    const replay = options.replay === true
    if (replay) {
      if (this.#replayTopic !== null) throw new FST_NEX_SSE_REPLAY_TWICE(this.#replayTopic, topic)
      this.#replayTopic = topic
    }
    const after = replay ? this.lastEventId ?? validAfter(options.after) : null
    const member: TopicMember = { stream: this, withId: replay, lastId: after ?? 0, pending: after === null ? null : [] }
    this.#feeds++
    let joined = false
    const subscription: TopicSubscription = {
      topic,
      replayed: 0,
      complete: true,
      unsubscribe: () => {
        if (!joined) return
        joined = false
        this.#leave(topic, member)
      }
    }
    try {
      await this.#env.hub.join(topic, member)
    } catch (error) {
      this.#feeds--
      if (replay) this.#replayTopic = null
      throw error
    }
    joined = true
    ;(this.#members ??= []).push({ topic, member })
    if (this.#closed) {
      subscription.unsubscribe()
      return subscription
    }
    if (after !== null) {
      const { replayed, complete } = await this.#replay(topic, member, after)
      Object.assign(subscription, { replayed, complete })
    }
    if (!this.#committed) this.commit()
    return subscription
  }

  async #replay (topic: string, member: TopicMember, after: number): Promise<{ replayed: number, complete: boolean }> {
    let replayed = 0
    let complete = true
    try {
      const found = await this.#env.topics.since(topic, after)
      complete = found.complete
      for (const event of found.events) {
        if (event.id <= member.lastId) continue
        this.write(this.#env.hub.frameOf(event).withId)
        member.lastId = event.id
        replayed++
      }
    } catch (error) {
      // Live events still flow; only the missed ones are lost. Say so instead of failing the stream.
      complete = false
      this.request.log.warn({ err: error, topic }, '@nex/sse: replay failed; continuing with live events')
    }
    const pending = member.pending ?? []
    member.pending = null
    for (const event of pending) this.#env.hub.deliverTo(member, event)
    return { replayed, complete }
  }

  #leave (topic: string, member: TopicMember): void {
    this.#env.hub.leave(topic, member)
    this.#feeds--
    if (this.#members !== null) this.#members = this.#members.filter(entry => entry.member !== member)
    if (this.#feeds === 0 && this.#handlerDone) this.close()
  }

  /** Whether something can still feed the stream after its handler returned. @internal */
  get fed (): boolean {
    return this.#feeds > 0
  }

  /** The handler returned: the stream stays open while topic subscriptions feed it. @internal */
  handlerDone (): void {
    this.#handlerDone = true
    if (this.#closed) return
    if (!this.#committed) this.commit()
    if (this.#feeds === 0) this.close()
  }

  /** Hijacks the reply and sends the headers (those set on the reply so far, plus the SSE ones). @internal */
  commit (): void {
    if (this.#committed || this.#closed) return
    this.#committed = true
    this.reply.hijack()
    const headers: Record<string, string | number | string[]> = {}
    const set = this.reply.getHeaders()
    for (const name in set) {
      const value = set[name]
      if (value !== undefined) headers[name] = value as string | number | string[]
    }
    for (const name of HEADERS_TO_DROP) delete headers[name]
    Object.assign(headers, SSE_HEADERS)
    this.#raw.writeHead(200, headers)
    this.#raw.flushHeaders()
    const onCommit = this.onCommit
    this.onCommit = null
    onCommit?.()
  }

  /** Ends the stream (the browser's EventSource or htmx will reconnect unless told otherwise). */
  close (): void {
    if (this.#closed) return
    if (!this.#committed) this.commit()
    this.#finish('closed')
    this.#raw.end()
  }

  /** Sends `frame` (the shutdown event), then ends the stream. @internal */
  endWith (frame: string): void {
    if (this.#closed) return
    if (!this.#committed) this.commit()
    this.#raw.write(frame)
    this.close()
  }

  /** The handler failed before anything was sent: let Fastify answer with the error instead. @internal */
  abandon (): void {
    this.#finish('closed')
  }

  /** Cuts the connection at once (a client too slow to keep up). @internal */
  drop (reason: string): void {
    if (this.#closed) return
    this.request.log.info({ reason }, '@nex/sse: dropped an event stream')
    this.#finish('dropped')
    this.#raw.destroy()
  }

  #finish (why: 'client' | 'closed' | 'dropped'): void {
    if (this.#closed) return
    this.#closed = true
    if (!this.#committed && why === 'client') {
      // Gone before anything was sent: nothing to answer, and `reply.sse()` must still settle.
      this.reply.hijack()
      const settle = this.onCommit
      this.onCommit = null
      settle?.()
    }
    if (this.#backlogCheck !== null) clearImmediate(this.#backlogCheck)
    this.#backlogCheck = null
    this.#abort?.abort(why)
    const members = this.#members
    this.#members = null
    if (members !== null) for (const { topic, member } of members) this.#env.hub.leave(topic, member)
    this.#feeds = 0
    this.#env.release(this)
    const waiters = this.#waiters
    this.#waiters = null
    if (waiters !== null) for (const resolve of waiters) resolve()
  }
}
