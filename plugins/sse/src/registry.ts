/**
 * The open streams of one registration: admission (stream caps in total and per client IP, refusal
 * while shutting down), one heartbeat timer for all of them, and the shutdown that ends them all.
 *
 * The heartbeat timer ticks every half `heartbeat` and writes `:` to the streams that wrote nothing
 * during the last full tick, so no stream goes silent for a whole `heartbeat`. The same tick notices a
 * client that stopped reading: unsent bytes that did not go down for two heartbeats drop it (the
 * `maxBufferedBytes` cap catches fast-growing backlogs sooner).
 */
import type { FastifyRequest } from 'fastify'
import { FST_NEX_SSE_CLOSING, FST_NEX_SSE_TOO_MANY_STREAMS } from './errors.js'
import { formatMessage } from './lib/frame.js'
import type { EventStream } from './stream.js'

const HEARTBEAT = Buffer.from(':\n\n')
/** Half-heartbeat ticks with a stuck backlog before a client counts as gone. */
const STALL_TICKS = 4

export interface RegistryLimits {
  readonly maxStreams: number
  readonly maxStreamsPerIp: number
  readonly heartbeat: number
  readonly shutdownRetry: number
}

export class StreamRegistry {
  readonly clock = { tick: 0 }
  readonly #streams = new Set<EventStream>()
  readonly #perIp = new Map<string, number>()
  readonly #ipOf = new WeakMap<EventStream, string>()
  readonly #limits: RegistryLimits
  #timer: NodeJS.Timeout | null = null
  #closing = false

  constructor (limits: RegistryLimits) {
    this.#limits = limits
  }

  get size (): number {
    return this.#streams.size
  }

  get closing (): boolean {
    return this.#closing
  }

  /** Throws the coded 503 when no stream may open now for this request. */
  admit (request: FastifyRequest): void {
    if (this.#closing) throw new FST_NEX_SSE_CLOSING()
    if (this.#streams.size >= this.#limits.maxStreams) throw new FST_NEX_SSE_TOO_MANY_STREAMS('server', this.#limits.maxStreams)
    if ((this.#perIp.get(request.ip) ?? 0) >= this.#limits.maxStreamsPerIp) {
      throw new FST_NEX_SSE_TOO_MANY_STREAMS('per-client', this.#limits.maxStreamsPerIp)
    }
  }

  add (stream: EventStream): void {
    const ip = stream.request.ip
    this.#streams.add(stream)
    this.#ipOf.set(stream, ip)
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1)
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#beat(), Math.max(5, Math.floor(this.#limits.heartbeat / 2)))
      this.#timer.unref()
    }
  }

  remove (stream: EventStream): void {
    if (!this.#streams.delete(stream)) return
    const ip = this.#ipOf.get(stream) as string
    const count = (this.#perIp.get(ip) ?? 1) - 1
    if (count === 0) this.#perIp.delete(ip)
    else this.#perIp.set(ip, count)
    if (this.#streams.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }

  #beat (): void {
    const tick = ++this.clock.tick
    for (const stream of this.#streams) {
      if (!stream.committed) continue
      const buffered = stream.reply.raw.writableLength
      if (buffered > 0 && buffered >= stream.lastBuffered) {
        if (++stream.stallTicks >= STALL_TICKS) {
          stream.drop('slow client: nothing it was sent drained for two heartbeats')
          continue
        }
      } else {
        stream.stallTicks = 0
      }
      stream.lastBuffered = buffered
      if (stream.lastWriteTick <= tick - 2) stream.write(HEARTBEAT)
    }
  }

  /** Refuses new streams and ends every open one with `event: shutdown` (and a `retry:`). */
  shutdown (): void {
    this.#closing = true
    const frame = formatMessage({ event: 'shutdown', data: '', retry: this.#limits.shutdownRetry })
    for (const stream of [...this.#streams]) stream.endWith(frame)
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}
