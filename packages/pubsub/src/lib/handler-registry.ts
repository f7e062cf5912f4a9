/**
 * The topic → handlers map every bus keeps, and delivery with the same guarantees everywhere: each
 * handler gets its own parse of the message text, a handler that throws or rejects is reported to
 * `onError` and never stops the others, and a handler removed during a delivery is not called after.
 *
 * The map holds only what subscribers registered: an entry per subscription, a topic only while it has one.
 */
import { FST_NEX_PUBSUB_INVALID_OPTION, FST_NEX_PUBSUB_MALFORMED_MESSAGE } from '../errors.js'
import type { JsonValue, MessageHandler, PubSubErrorHandler } from '../types.js'
import { describeValue } from './topic.js'

/** One `subscribe` call. Inactive subscriptions (a subscribe still in progress) count as wanted but get nothing. */
export interface Subscription {
  readonly topic: string
  readonly handler: MessageHandler
  active: boolean
}

export interface HandlerRegistry {
  /** Registers a subscription, active unless told otherwise. */
  add (topic: string, handler: MessageHandler, active?: boolean): Subscription
  /** Removes a subscription; true when it was the last one of its topic (the topic is gone). */
  remove (subscription: Subscription): boolean
  /** True while `topic` has at least one subscription (active or not). */
  has (topic: string): boolean
  /** Topics with subscriptions. */
  topics (): IterableIterator<string>
  /**
   * Calls every active handler of `topic` with its own parse of `json`. Text that is not JSON is dropped
   * and reported as FST_NEX_PUBSUB_MALFORMED_MESSAGE.
   */
  deliver (topic: string, json: string): void
  /** Reports an error to `onError`, which may not throw. */
  report (error: unknown, topic: string): void
  /** Removes everything; a delivery in progress calls no further handler. */
  clear (): void
  /** Topics with subscriptions. */
  readonly size: number
}

/** The default `onError`: a process warning, so failures are visible but never crash the process. */
export function warnOnError (error: unknown, topic: string): void {
  const message = error instanceof Error ? error.message : String(error)
  process.emitWarning(`@nex/pubsub: error on topic ${JSON.stringify(topic)}: ${message}`, {
    type: 'NexPubSubWarning',
    detail: error instanceof Error ? error.stack : undefined
  })
}

/** The `onError` option checked (FST_NEX_PUBSUB_INVALID_OPTION), or the default. */
export function resolveOnError (onError: unknown): PubSubErrorHandler {
  if (onError === undefined) return warnOnError
  if (typeof onError !== 'function') throw new FST_NEX_PUBSUB_INVALID_OPTION('onError', 'a function (error, topic) => void', describeValue(onError))
  return onError as PubSubErrorHandler
}

export function createHandlerRegistry (onError: PubSubErrorHandler): HandlerRegistry {
  const byTopic = new Map<string, Set<Subscription>>()

  function report (error: unknown, topic: string): void {
    try {
      onError(error, topic)
    } catch {
      // onError runs inside message delivery (for Redis, inside the client's socket handler): it must not throw.
    }
  }

  function call (handler: MessageHandler, message: JsonValue, topic: string): void {
    try {
      const result = handler(message, topic)
      if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
        (result as PromiseLike<void>).then(undefined, (err: unknown) => report(err, topic))
      }
    } catch (err) {
      report(err, topic)
    }
  }

  return {
    add (topic, handler, active = true) {
      const subscription: Subscription = { topic, handler, active }
      let set = byTopic.get(topic)
      if (set === undefined) {
        set = new Set()
        byTopic.set(topic, set)
      }
      set.add(subscription)
      return subscription
    },

    remove (subscription) {
      const set = byTopic.get(subscription.topic)
      if (set === undefined || !set.delete(subscription)) return false
      if (set.size > 0) return false
      byTopic.delete(subscription.topic)
      return true
    },

    has (topic) {
      return byTopic.has(topic)
    },

    topics () {
      return byTopic.keys()
    },

    deliver (topic, json) {
      const set = byTopic.get(topic)
      if (set === undefined) return
      let message: JsonValue
      try {
        message = JSON.parse(json) as JsonValue
      } catch (err) {
        report(new FST_NEX_PUBSUB_MALFORMED_MESSAGE(topic, { cause: err }), topic)
        return
      }
      let first = true
      // A snapshot, checked again before each call: handlers may (un)subscribe while we deliver.
      for (const subscription of [...set]) {
        if (!subscription.active || !set.has(subscription)) continue
        call(subscription.handler, first ? message : JSON.parse(json) as JsonValue, topic)
        first = false
      }
    },

    report,

    clear () {
      for (const set of byTopic.values()) set.clear()
      byTopic.clear()
    },

    get size () {
      return byTopic.size
    }
  }
}
