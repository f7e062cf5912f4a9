/**
 * One event log per app, shared by the plugins that deliver topics to clients (@nex/sse, @nex/websocket),
 * so `publish` through either reaches the subscribers of both. The first plugin registered decorates the
 * app with `nexTopics`: the log it was given, or an in-process one it creates and closes on `onClose`.
 * Later plugins use that decorator unless given a log of their own.
 */
import { createMemoryEventLog } from './memory-event-log.js'
import type { EventLog, JsonValue } from './types.js'

/** The part of a Fastify instance this needs (kept structural: @nex/pubsub does not depend on Fastify). */
export interface TopicsHost {
  hasDecorator (name: string): boolean
  decorate (name: string, value: unknown): unknown
  addHook (name: 'onClose', hook: () => Promise<void>): unknown
}

export const TOPICS_DECORATOR = 'nexTopics'

/** The log a plugin should use: `given`, else the app's shared one, else a new in-process one made the app's. */
export function sharedTopics (app: TopicsHost, given?: EventLog): EventLog {
  const host = app as TopicsHost & { nexTopics?: EventLog }
  if (given !== undefined) {
    if (!app.hasDecorator(TOPICS_DECORATOR)) app.decorate(TOPICS_DECORATOR, given)
    return given
  }
  if (app.hasDecorator(TOPICS_DECORATOR) && host.nexTopics !== undefined) return host.nexTopics
  const log = createMemoryEventLog()
  app.decorate(TOPICS_DECORATOR, log)
  app.addHook('onClose', async () => await log.close())
  return log
}

/**
 * What the `publish` helpers of @nex/sse and @nex/websocket put on a topic: an optional event name and the
 * data (a string is sent as text or markup, anything else as JSON).
 */
export interface TopicMessage {
  event?: string
  data: JsonValue
}

/** Whether a topic message has the `{ event?, data }` shape (anything else is data as a whole). */
export function isTopicMessage (value: JsonValue): value is JsonValue & TopicMessage {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'data') &&
    (value.event === undefined || typeof value.event === 'string')
}
