/**
 * The pub/sub contract: what a bus implements so `publish(topic, message)` in one process reaches the
 * subscribers of that topic in every process sharing the bus. The in-process bus here and the Redis bus in
 * @nex/redis both pass the contract suite in @nex/testing (`testPubSub`).
 */

/** A JSON value: what a message can be. Anything else is refused with FST_NEX_PUBSUB_NOT_JSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * Called once per message with the handler's own copy of it. Runs after `publish` returned, never inside
 * it. A handler that throws (or returns a promise that rejects) is reported to `onError`; the other
 * handlers still get the message.
 */
export type MessageHandler = (message: JsonValue, topic: string) => void | Promise<void>

/** Ends one subscription. Idempotent; resolves once the handler gets nothing more. */
export type Unsubscribe = () => Promise<void>

/**
 * Errors with no caller to reject: a handler that threw, a message on a channel that is not JSON.
 * Must not throw (what it throws is ignored).
 */
export type PubSubErrorHandler = (error: unknown, topic: string) => void

/**
 * A topic-based message bus. Topics are plain names (no patterns), 1 to 256 characters.
 *
 * Delivery is at most once: a subscriber gets the messages published after its `subscribe` resolved and
 * before it unsubscribed, while its bus is connected. Messages from one publisher reach a subscriber in
 * publish order (across topics too).
 */
export interface PubSub {
  /** Sends `message` to every subscriber of `topic`; resolves once the bus accepted it (not delivered). */
  publish (topic: string, message: JsonValue): Promise<void>
  /**
   * Calls `handler` for every message on `topic` from now on; resolves once the subscription is active
   * (for Redis: SUBSCRIBE acknowledged) to the function that ends it. Subscribing the same function twice
   * makes two subscriptions.
   */
  subscribe (topic: string, handler: MessageHandler): Promise<Unsubscribe>
  /** Stops every delivery at once and releases what the bus owns. Later calls reject with FST_NEX_PUBSUB_CLOSED. */
  close (): Promise<void>
}

/** Options every implementation takes. */
export interface PubSubOptions {
  /** Receives handler failures and undeliverable messages. Default: a process warning (`NexPubSubWarning`). */
  onError?: PubSubErrorHandler
}

/** One event of a topic's log: its id (monotonic per topic, in every process sharing the log) and its message. */
export interface LoggedEvent {
  readonly id: number
  readonly message: JsonValue
}

/** Called once per appended event, in id order per topic. Same error rules as `MessageHandler`. */
export type LoggedEventHandler = (event: LoggedEvent, topic: string) => void | Promise<void>

/** What `EventLog.since` found. */
export interface Replay {
  /** Kept events with an id above the one asked for, oldest first. */
  readonly events: LoggedEvent[]
  /**
   * False when events after the id asked for may be missing: they were dropped from the bounded buffer,
   * or the log cannot tell (the topic expired or was evicted). The caller can then tell its client to reload.
   */
  readonly complete: boolean
}

/**
 * Topics with ids and replay, on top of a `PubSub`: `append` gives a message the topic's next id, keeps it
 * in a bounded per-topic buffer and delivers `{ id, message }` to every subscriber of the topic in every
 * process sharing the log. Ids only grow, per topic, across processes, restarts and expiry (they start
 * from the clock, in microseconds), so a client that reconnects anywhere can ask `since(its last id)`.
 * Subscribers see a topic's events in id order.
 */
export interface EventLog {
  /** Appends `message` to `topic`; resolves to its id once the log accepted it (not once delivered). */
  append (topic: string, message: JsonValue): Promise<number>
  /** The kept events of `topic` with an id above `after`. */
  since (topic: string, after: number): Promise<Replay>
  /** Calls `handler` for every event appended to `topic` from now on; resolves to the function that ends it. */
  subscribe (topic: string, handler: LoggedEventHandler): Promise<Unsubscribe>
  /** Stops deliveries and releases what the log owns (a bus it created). Later calls reject with FST_NEX_PUBSUB_CLOSED. */
  close (): Promise<void>
}
