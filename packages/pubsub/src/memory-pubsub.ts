/**
 * The in-process bus: publish and subscribe within one process (one instance is one bus). Messages are
 * encoded to JSON text at `publish` and parsed again for each handler, so it behaves like the Redis bus:
 * the same values are refused, every handler gets its own copy, and changing the published object after
 * `publish` changes nothing.
 *
 * Delivery is batched on `setImmediate`: `publish` never runs a handler inside the caller, messages keep
 * their publish order, and a handler that publishes again lets I/O run between rounds instead of
 * starving the event loop with microtasks.
 */
import { FST_NEX_PUBSUB_CLOSED } from './errors.js'
import { createHandlerRegistry, resolveOnError } from './lib/handler-registry.js'
import { encodeMessage } from './lib/json.js'
import { assertHandler, assertTopic } from './lib/topic.js'
import type { PubSub, PubSubOptions, Unsubscribe } from './types.js'

export interface MemoryPubSubOptions extends PubSubOptions {}

export interface MemoryPubSub extends PubSub {
  /** Topics with at least one subscription (the registry holds nothing else). */
  readonly topicCount: number
  /** Messages published but not yet delivered (drained on the next `setImmediate`). */
  readonly pendingMessages: number
}

export function createMemoryPubSub (options: MemoryPubSubOptions = {}): MemoryPubSub {
  const registry = createHandlerRegistry(resolveOnError(options?.onError))
  // Topic and JSON text of each message waiting for the next delivery round, in publish order.
  let pending: Array<[string, string]> = []
  let round: NodeJS.Immediate | null = null
  let closed = false

  function deliverRound (): void {
    round = null
    const batch = pending
    pending = []
    for (const [topic, json] of batch) {
      if (closed) return
      registry.deliver(topic, json)
    }
  }

  function assertOpen (): void {
    if (closed) throw new FST_NEX_PUBSUB_CLOSED()
  }

  return {
    async publish (topic, message) {
      assertOpen()
      assertTopic(topic)
      const json = encodeMessage(topic, message)
      // Nobody listening: nothing to keep (a later subscriber never sees earlier messages anyway).
      if (!registry.has(topic)) return
      pending.push([topic, json])
      round ??= setImmediate(deliverRound)
    },

    async subscribe (topic, handler) {
      assertOpen()
      assertTopic(topic)
      assertHandler(topic, handler)
      const subscription = registry.add(topic, handler)
      let removed = false
      const unsubscribe: Unsubscribe = async () => {
        if (removed) return
        removed = true
        registry.remove(subscription)
      }
      return unsubscribe
    },

    async close () {
      if (closed) return
      closed = true
      if (round !== null) clearImmediate(round)
      round = null
      pending = []
      registry.clear()
    },

    get topicCount () {
      return registry.size
    },

    get pendingMessages () {
      return pending.length
    }
  }
}
