/**
 * @nex/pubsub: the `PubSub` contract (publish a JSON message to a topic, subscribe handlers to topics)
 * and its in-process implementation, `createMemoryPubSub()`. The Redis implementation, for apps running
 * as several processes, is `createRedisPubSub()` in @nex/redis; both pass the contract suite in
 * @nex/testing. The kit in `lib/` (topic and JSON checks, the handler registry) is exported for other
 * implementations, so every bus refuses and delivers alike.
 */
export type { JsonValue, MessageHandler, PubSub, PubSubErrorHandler, PubSubOptions, Unsubscribe } from './types.js'
export { createMemoryPubSub, type MemoryPubSub, type MemoryPubSubOptions } from './memory-pubsub.js'
export { encodeMessage } from './lib/json.js'
export { assertHandler, assertTopic, describeValue, MAX_TOPIC_LENGTH } from './lib/topic.js'
export { createHandlerRegistry, resolveOnError, warnOnError, type HandlerRegistry, type Subscription } from './lib/handler-registry.js'
export * as errors from './errors.js'
