/**
 * @nex/pubsub: the `PubSub` contract (publish a JSON message to a topic, subscribe handlers to topics)
 * and its in-process implementation, `createMemoryPubSub()`; the `EventLog` contract (topics with
 * monotonic ids and bounded replay, on top of a bus) and its in-process implementation,
 * `createMemoryEventLog()`. The Redis implementations, for apps running as several processes, are in
 * @nex/redis; all pass the contract suites in @nex/testing. The kit in `lib/` (topic and JSON checks, the
 * handler registry) is exported for other implementations, so every bus refuses and delivers alike.
 */
export type {
  EventLog, JsonValue, LoggedEvent, LoggedEventHandler, MessageHandler, PubSub, PubSubErrorHandler, PubSubOptions, Replay, Unsubscribe
} from './types.js'
export { createMemoryPubSub, type MemoryPubSub, type MemoryPubSubOptions } from './memory-pubsub.js'
export { createMemoryEventLog, clockId, type MemoryEventLog, type MemoryEventLogOptions } from './memory-event-log.js'
export { encodeMessage } from './lib/json.js'
export { assertHandler, assertTopic, describeValue, MAX_TOPIC_LENGTH } from './lib/topic.js'
export { createHandlerRegistry, resolveOnError, warnOnError, type HandlerRegistry, type Subscription } from './lib/handler-registry.js'
export * as errors from './errors.js'
export { sharedTopics, isTopicMessage, TOPICS_DECORATOR, type TopicsHost, type TopicMessage } from './shared-topics.js'
