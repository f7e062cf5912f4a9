/**
 * The in-process event log: ids from one counter for the whole process (so they are monotonic per topic
 * whatever gets evicted), a bounded replay buffer per topic, and delivery through a `PubSub` (its own
 * in-process bus unless given one).
 *
 * The counter starts at the clock in microseconds, so a restarted process hands out ids above those it
 * handed out before, and a client reconnecting with an old `Last-Event-ID` never sees ids go backwards.
 *
 * Bounds: `maxEvents` per topic, `maxTopics` topics (least recently appended evicted first) and
 * `maxBytes` of kept message text in all. What is evicted is only missing from replays, which then say
 * `complete: false`; live delivery never depends on the buffer.
 */
import { FST_NEX_PUBSUB_CLOSED, FST_NEX_PUBSUB_INVALID_OPTION } from './errors.js'
import { encodeMessage } from './lib/json.js'
import { assertHandler, assertTopic, describeValue } from './lib/topic.js'
import { createMemoryPubSub } from './memory-pubsub.js'
import type { EventLog, JsonValue, LoggedEvent, PubSub, PubSubOptions } from './types.js'

export interface MemoryEventLogOptions extends PubSubOptions {
  /** The bus that delivers events; the log never closes a bus it was given. Default: its own in-process bus. */
  pubsub?: PubSub
  /** Events kept per topic for replay. @default 100 */
  maxEvents?: number
  /** Topics with a replay buffer. @default 10_000 */
  maxTopics?: number
  /** Bytes of message JSON kept in all buffers together. @default 16 MiB */
  maxBytes?: number
}

export interface MemoryEventLog extends EventLog {
  /** Topics with a replay buffer. */
  readonly topicCount: number
  /** Bytes of message JSON kept. */
  readonly bytes: number
}

interface Kept {
  readonly id: number
  readonly json: string
}

interface TopicBuffer {
  events: Kept[]
  bytes: number
  /** Id of the newest event dropped from this buffer (0: none). */
  droppedUpTo: number
}

function positiveInteger (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new FST_NEX_PUBSUB_INVALID_OPTION(name, 'a positive integer', describeValue(value))
  }
  return value
}

/** The first id of a process: the clock in microseconds, above any id an earlier run of the process gave. */
export function clockId (): number {
  return Date.now() * 1000
}

export function createMemoryEventLog (options: MemoryEventLogOptions = {}): MemoryEventLog {
  const maxEvents = positiveInteger('maxEvents', options.maxEvents, 100)
  const maxTopics = positiveInteger('maxTopics', options.maxTopics, 10_000)
  const maxBytes = positiveInteger('maxBytes', options.maxBytes, 16 * 1024 * 1024)
  const ownsBus = options.pubsub === undefined
  const bus = options.pubsub ?? createMemoryPubSub({ onError: options.onError })

  // Insertion order is recency order: a topic is moved to the end on every append.
  const buffers = new Map<string, TopicBuffer>()
  let lastId = clockId()
  let bytes = 0
  // Newest id dropped with an evicted topic: a replay of an unknown topic after it cannot be complete.
  let evictedUpTo = 0
  let closed = false

  function assertOpen (): void {
    if (closed) throw new FST_NEX_PUBSUB_CLOSED()
  }

  function evictTopic (topic: string, buffer: TopicBuffer): void {
    buffers.delete(topic)
    bytes -= buffer.bytes
    const newest = buffer.events.at(-1)?.id ?? buffer.droppedUpTo
    if (newest > evictedUpTo) evictedUpTo = newest
  }

  function keep (topic: string, event: Kept): void {
    let buffer = buffers.get(topic)
    if (buffer === undefined) {
      // The topic may have lived before and been evicted: what it had is gone, as far as anyone can tell.
      buffer = { events: [], bytes: 0, droppedUpTo: evictedUpTo }
    } else {
      buffers.delete(topic)
    }
    buffers.set(topic, buffer)
    buffer.events.push(event)
    buffer.bytes += event.json.length
    bytes += event.json.length
    while (buffer.events.length > maxEvents) dropOldest(buffer)
    // Over the byte budget: empty the least recently used topics first, then this topic's oldest events.
    for (const [name, other] of buffers) {
      if (bytes <= maxBytes || other === buffer) break
      evictTopic(name, other)
    }
    while (bytes > maxBytes && buffer.events.length > 0) dropOldest(buffer)
    while (buffers.size > maxTopics) {
      const [name, oldest] = buffers.entries().next().value as [string, TopicBuffer]
      evictTopic(name, oldest)
    }
  }

  function dropOldest (buffer: TopicBuffer): void {
    const dropped = buffer.events.shift() as Kept
    buffer.bytes -= dropped.json.length
    bytes -= dropped.json.length
    buffer.droppedUpTo = dropped.id
  }

  return {
    async append (topic, message) {
      assertOpen()
      assertTopic(topic)
      const json = encodeMessage(topic, message)
      const id = ++lastId
      keep(topic, { id, json })
      await bus.publish(topic, { id, message })
      return id
    },

    async since (topic, after) {
      assertOpen()
      assertTopic(topic)
      const buffer = buffers.get(topic)
      if (buffer === undefined) return { events: [], complete: after >= evictedUpTo }
      const events: LoggedEvent[] = []
      for (const kept of buffer.events) {
        if (kept.id > after) events.push({ id: kept.id, message: JSON.parse(kept.json) as JsonValue })
      }
      return { events, complete: after >= buffer.droppedUpTo }
    },

    async subscribe (topic, handler) {
      assertOpen()
      assertTopic(topic)
      assertHandler(topic, handler)
      return await bus.subscribe(topic, (envelope, name) => handler(envelope as unknown as LoggedEvent, name))
    },

    async close () {
      if (closed) return
      closed = true
      buffers.clear()
      bytes = 0
      if (ownsBus) await bus.close()
    },

    get topicCount () {
      return buffers.size
    },

    get bytes () {
      return bytes
    }
  }
}
