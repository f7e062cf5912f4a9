/**
 * The Redis event log: topics with ids and replay, shared by every process connected to the same Redis.
 * Layout per topic, both keys expiring `ttl` after the topic's last append:
 *
 * - `${prefix}events:${topic}:seq`: the topic's last id (a counter, INCR);
 * - `${prefix}events:${topic}`: a list of the last `maxEvents` events, oldest first, each `"<id> <json>"`.
 *
 * `append` is one Lua script (`nexEventAppend`, sent by EVALSHA), so the steps cannot interleave with
 * another process's: when the counter does not exist (a new topic, or one whose keys expired or were lost
 * with a Redis restart) it starts at the server's clock in microseconds (`TIME`), so ids never go backwards
 * for a client holding an id from before; then INCR, RPUSH, LTRIM to `maxEvents`, PEXPIRE both keys, and
 * PUBLISH `{"id":<id>,"message":<json>}` on the bus channel `${prefix}topic:${topic}`. Publishing inside
 * the script puts the events of a topic on the channel in id order, so every subscriber, in every process,
 * sees them in id order.
 *
 * Completeness. The ids of one life of a topic are consecutive (INCR) and the list always starts right
 * after the newest id the log no longer has: after the start value when nothing was trimmed, after the
 * newest trimmed id otherwise (a counter started anew empties the list). So with the first kept id `f`,
 * `since(topic, after)` is complete exactly when `after >= f - 1`. With an empty list (the list was lost
 * but the counter lives, e.g. evicted under `maxmemory`), it is complete when `after` is at least the
 * counter. With neither key, the log cannot tell a topic that never had events from one whose keys
 * expired or were lost: complete is false. Asking from before a topic's first id minus one is therefore
 * incomplete here (the log cannot rule out an earlier, expired life of the topic), where the in-process
 * log, which saw every event since it started, says complete.
 *
 * Failures are 503s (`FST_NEX_PUBSUB_UNAVAILABLE`) and fail fast during an outage, like the store: the
 * first connection failure or timeout marks Redis down, calls then fail at once until a background PING
 * answers. A reply error (e.g. OOM under `maxmemory`) fails only its call.
 */
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import {
  assertHandler, assertTopic, describeValue, encodeMessage, errors, resolveOnError,
  type EventLog, type JsonValue, type LoggedEvent, type PubSub, type PubSubOptions, type Unsubscribe
} from '@nex/pubsub'
import { trackAvailability, withTimeout } from './availability.js'
import { firstReadyGate } from './lib/ready.js'
import { DEFAULT_CLIENT_OPTIONS } from './redis-store.js'
import { createRedisPubSub } from './redis-pubsub.js'

const { FST_NEX_PUBSUB_CLOSED, FST_NEX_PUBSUB_INVALID_OPTION, FST_NEX_PUBSUB_MALFORMED_MESSAGE, FST_NEX_PUBSUB_UNAVAILABLE } = errors

export interface RedisEventLogOptions extends PubSubOptions {
  /** An ioredis client you own (the log never closes it). Use fail-fast options, like `DEFAULT_CLIENT_OPTIONS`. */
  client?: Redis
  /** A Redis URL; the log creates (and on `close()` quits) its own client with fail-fast options. */
  url?: string
  /** Options for the client created from `url`, merged over `DEFAULT_CLIENT_OPTIONS`. */
  clientOptions?: RedisOptions
  /**
   * The bus that delivers events: a `createRedisPubSub` bus on the same Redis with the same `prefix` (the
   * log publishes on its channels from Lua). The log never closes a bus it was given. Default: its own,
   * on `client`, closed by `close()`.
   */
  pubsub?: PubSub
  /** Prefix of every key (`${prefix}events:…`) and channel (`${prefix}topic:…`). @default 'nex:' */
  prefix?: string
  /** Events kept per topic for replay. @default 100 */
  maxEvents?: number
  /** How long a topic's keys live after its last append, in ms. @default 86_400_000 (24 h) */
  ttl?: number
  /**
   * Longest one Redis call may take, in ms: the client's `commandTimeout` when it has one, else this.
   * Also bounds the background probe of an outage. @default 1000
   */
  timeout?: number
  /** Pause between probes while Redis is down, in ms. @default 250 */
  probeInterval?: number
}

// KEYS: list, counter. ARGV: message JSON, maxEvents, ttl, channel. Numbers go through '%.0f': Lua 5.1
// prints numbers with 14 significant digits, and ids have 16.
const APPEND_SCRIPT = `
local list = KEYS[1]
local seq = KEYS[2]
if redis.call('EXISTS', seq) == 0 then
  local now = redis.call('TIME')
  local start = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local newest = redis.call('LINDEX', list, -1)
  if newest then
    local kept = tonumber(string.match(newest, '^%d+'))
    if kept and kept > start then start = kept end
  end
  redis.call('DEL', list)
  redis.call('SET', seq, string.format('%.0f', start))
end
local id = string.format('%.0f', redis.call('INCR', seq))
redis.call('RPUSH', list, id .. ' ' .. ARGV[1])
redis.call('LTRIM', list, -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', list, ARGV[3])
redis.call('PEXPIRE', seq, ARGV[3])
redis.call('PUBLISH', ARGV[4], '{"id":' .. id .. ',"message":' .. ARGV[1] .. '}')
return id
`

// KEYS: list, counter. One atomic read: the kept events and the counter (false when absent).
const SINCE_SCRIPT = `
return { redis.call('LRANGE', KEYS[1], 0, -1), redis.call('GET', KEYS[2]) }
`

type ScriptedRedis = Redis & {
  nexEventAppend (list: string, seq: string, json: string, maxEvents: number, ttl: number, channel: string): Promise<string>
  nexEventSince (list: string, seq: string): Promise<[string[], string | null]>
}

export function createRedisEventLog (options: RedisEventLogOptions): EventLog {
  const {
    client: userClient,
    url,
    clientOptions,
    pubsub,
    prefix = 'nex:',
    maxEvents = 100,
    ttl = 86_400_000,
    probeInterval = 250,
    onError
  } = options ?? {}
  if ((userClient === undefined) === (url === undefined)) {
    throw new FST_NEX_PUBSUB_INVALID_OPTION('client', 'an ioredis client, or "url" a Redis URL (exactly one of the two)', describeValue(userClient ?? url))
  }
  if (url !== undefined && typeof url !== 'string') throw new FST_NEX_PUBSUB_INVALID_OPTION('url', 'a Redis URL string', describeValue(url))
  if (typeof prefix !== 'string') throw new FST_NEX_PUBSUB_INVALID_OPTION('prefix', 'a string', describeValue(prefix))
  if (pubsub !== undefined && (typeof pubsub?.subscribe !== 'function' || typeof pubsub.close !== 'function')) {
    throw new FST_NEX_PUBSUB_INVALID_OPTION('pubsub', 'a PubSub (createRedisPubSub with the same prefix)', describeValue(pubsub))
  }
  assertPositiveInteger('maxEvents', maxEvents)
  assertPositiveInteger('ttl', ttl)
  assertPositiveInteger('probeInterval', probeInterval)
  if (options.timeout !== undefined) assertPositiveInteger('timeout', options.timeout)
  resolveOnError(onError)

  const ownsClient = userClient === undefined
  const client = (userClient ?? new Redis(url as string, { ...DEFAULT_CLIENT_OPTIONS, ...clientOptions })) as ScriptedRedis
  // A client we created reports connection errors as events; they surface as 503s on calls instead.
  if (ownsClient) client.on('error', noop)
  // Defining the commands on a shared client is harmless: same names, same scripts, EVALSHA with EVAL fallback.
  client.defineCommand('nexEventAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT })
  client.defineCommand('nexEventSince', { numberOfKeys: 2, lua: SINCE_SCRIPT })
  const ownsBus = pubsub === undefined
  const bus = pubsub ?? createRedisPubSub({ client, prefix, onError })

  // With the offline queue off, commands sent before the first `ready` fail: wait for it, bounded.
  const firstReady = ownsClient ? firstReadyGate(client) : null
  // ioredis times out its own commands when `commandTimeout` is set; otherwise the log does.
  const clientTimeout = client.options.commandTimeout
  const timeout = clientTimeout ?? options.timeout ?? DEFAULT_CLIENT_OPTIONS.commandTimeout as number
  const bounded = clientTimeout === undefined
    ? <T>(promise: Promise<T>): Promise<T> => withTimeout(promise, timeout)
    : <T>(promise: Promise<T>): Promise<T> => promise
  const availability = trackAvailability(client, { probeInterval, probeTimeout: timeout })

  const listKey = (topic: string): string => `${prefix}events:${topic}`
  const seqKey = (topic: string): string => `${prefix}events:${topic}:seq`
  const channelOf = (topic: string): string => `${prefix}topic:${topic}`
  // Subscriptions made through this log: ended by close(), also on a bus the log does not own.
  const subscriptions = new Set<Unsubscribe>()
  let closed = false
  let closing: Promise<void> | null = null

  function assertOpen (): void {
    if (closed) throw new FST_NEX_PUBSUB_CLOSED()
  }

  /** Runs one Redis call; any failure is a 503, and a connection failure or timeout marks Redis down. */
  async function redis<T> (call: () => Promise<T>): Promise<T> {
    assertOpen()
    if (!availability.up) throw new FST_NEX_PUBSUB_UNAVAILABLE()
    try {
      if (firstReady !== null) await firstReady()
      return await bounded(call())
    } catch (err) {
      if (closed) throw new FST_NEX_PUBSUB_CLOSED()
      if (!(err instanceof ReplyError)) availability.failed()
      throw new FST_NEX_PUBSUB_UNAVAILABLE({ cause: err })
    }
  }

  return {
    async append (topic, message) {
      assertOpen()
      assertTopic(topic)
      const json = encodeMessage(topic, message)
      const id = await redis(() => client.nexEventAppend(listKey(topic), seqKey(topic), json, maxEvents, ttl, channelOf(topic)))
      return Number(id)
    },

    async since (topic, after) {
      assertOpen()
      assertTopic(topic)
      const [entries, seq] = await redis(() => client.nexEventSince(listKey(topic), seqKey(topic)))
      const events: LoggedEvent[] = []
      let first: number | null = null
      for (const entry of entries) {
        const space = entry.indexOf(' ')
        const id = Number(entry.slice(0, space))
        first ??= id
        if (id > after) events.push({ id, message: JSON.parse(entry.slice(space + 1)) as JsonValue })
      }
      // See the header: the list starts right after the newest id the log no longer has.
      const complete = first !== null ? after >= first - 1 : seq !== null && after >= Number(seq)
      return { events, complete }
    },

    async subscribe (topic, handler) {
      assertOpen()
      assertTopic(topic)
      assertHandler(topic, handler)
      const unsubscribeBus = await bus.subscribe(topic, (envelope, name) => {
        if (closed) return
        // Something else publishing plain messages on the topic's channel: not an event of this log.
        if (!isEnvelope(envelope)) throw new FST_NEX_PUBSUB_MALFORMED_MESSAGE(name)
        return handler(envelope, name)
      })
      if (closed) {
        await unsubscribeBus()
        throw new FST_NEX_PUBSUB_CLOSED()
      }
      const unsubscribe: Unsubscribe = async () => {
        subscriptions.delete(unsubscribe)
        await unsubscribeBus()
      }
      subscriptions.add(unsubscribe)
      return unsubscribe
    },

    close () {
      if (closing !== null) return closing
      closed = true
      availability.stop()
      closing = (async () => {
        const ending = [...subscriptions].map((unsubscribe) => unsubscribe().catch(noop))
        subscriptions.clear()
        await Promise.all(ending)
        if (ownsBus) await bus.close()
        if (ownsClient) await client.quit().catch(() => client.disconnect())
      })()
      return closing
    }
  }
}

/** Whether a message on a topic's channel is an event of the log: `{ id, message }` with an integer id. */
function isEnvelope (value: JsonValue): value is JsonValue & LoggedEvent {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Number.isSafeInteger(value.id) && Object.hasOwn(value, 'message')
}

function assertPositiveInteger (name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new FST_NEX_PUBSUB_INVALID_OPTION(name, 'a positive integer', describeValue(value))
  }
}

function noop (): void {}
