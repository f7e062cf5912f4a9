/** Topics are plain names: no patterns, bounded length, well-formed text (so they map 1:1 to Redis channels). */
import { FST_NEX_PUBSUB_INVALID_HANDLER, FST_NEX_PUBSUB_INVALID_TOPIC } from '../errors.js'

/** Longest topic, in UTF-16 code units (`topic.length`). */
export const MAX_TOPIC_LENGTH = 256

// A lone surrogate becomes U+FFFD when encoded as UTF-8, so two topics would share one Redis channel.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Throws FST_NEX_PUBSUB_INVALID_TOPIC unless `topic` is a non-empty, well-formed string of at most 256 characters. */
export function assertTopic (topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH || LONE_SURROGATE.test(topic)) {
    throw new FST_NEX_PUBSUB_INVALID_TOPIC(MAX_TOPIC_LENGTH, describeValue(topic))
  }
}

/** Throws FST_NEX_PUBSUB_INVALID_HANDLER unless `handler` is a function. */
export function assertHandler (topic: string, handler: unknown): void {
  if (typeof handler !== 'function') throw new FST_NEX_PUBSUB_INVALID_HANDLER(topic, describeValue(handler))
}

/** A short description of a bad value for error messages: strings (cut at 40 characters) quoted, else the type. */
export function describeValue (value: unknown): string {
  if (typeof value === 'string') {
    if (value === '') return 'an empty string'
    return value.length > 40 ? `a ${value.length}-character string ${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
  }
  if (value === null || value === undefined) return String(value)
  return typeof value
}
