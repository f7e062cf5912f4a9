/**
 * The Redis bus: `publish(topic, message)` in any process reaches the subscribers of that topic in every
 * process connected to the same Redis. Messages are JSON text on the channel `${prefix}topic:${topic}`.
 *
 * Publishing uses the given (or created) client. Subscribing uses a dedicated connection, always created
 * here (a connection in subscriber mode can run nothing else), with one SUBSCRIBE per topic however many
 * handlers it has, and an UNSUBSCRIBE when its last handler leaves, so the server's subscriptions follow
 * the handler map and never grow beyond it.
 *
 * Which channels to be subscribed to is decided from the handler map, not by ioredis: after a reconnect
 * (the server dropped every subscription) the bus SUBSCRIBEs every topic that has handlers. ioredis's own
 * `autoResubscribe` is off because it replays the channel set it saw when the connection dropped, which
 * brings back channels whose last handler left during the outage.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { firstReadyGate } from './lib/ready.js'
import {
  assertHandler, assertTopic, createHandlerRegistry, describeValue, encodeMessage, errors, resolveOnError,
  type PubSub, type PubSubOptions, type Unsubscribe
} from '@nex/pubsub'
import { DEFAULT_CLIENT_OPTIONS } from './redis-store.js'

const { FST_NEX_PUBSUB_CLOSED, FST_NEX_PUBSUB_INVALID_OPTION, FST_NEX_PUBSUB_UNAVAILABLE } = errors

export interface RedisPubSubOptions extends PubSubOptions {
  /** An ioredis client you own, used to publish (the bus never closes it); its options shape the subscriber connection. */
  client?: Redis
  /** A Redis URL; the bus creates (and on `close()` quits) its own publishing client with fail-fast options. */
  url?: string
  /** Options for the client created from `url`, merged over `DEFAULT_CLIENT_OPTIONS`. */
  clientOptions?: RedisOptions
  /** Prefix of every channel: `${prefix}topic:${topic}`. Default `'nex:'`. */
  prefix?: string
}

/**
 * What the subscriber connection always uses, whatever client it is duplicated from: fail fast (a
 * SUBSCRIBE while disconnected rejects at once), RESP2, and resubscription left to the bus.
 */
const SUBSCRIBER_OPTIONS: RedisOptions = {
  protocol: 2,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  lazyConnect: false,
  autoResubscribe: false,
  // A (UN)SUBSCRIBE cut off by a disconnect has already failed to its caller; the resync replaces it.
  autoResendUnfulfilledCommands: false
}

/** Most ms `close()` waits for the subscriber socket to end. */
const DISCONNECT_TIMEOUT = 1000

/** What the bus knows about one channel on the current subscriber connection (absent: not subscribed). */
type ChannelState = 'on' | 'unknown'

export function createRedisPubSub (options: RedisPubSubOptions): PubSub {
  const { client: userClient, url, clientOptions, prefix = 'nex:', onError } = options ?? {}
  if ((userClient === undefined) === (url === undefined)) {
    throw new FST_NEX_PUBSUB_INVALID_OPTION('client', 'an ioredis client, or "url" a Redis URL (exactly one of the two)', describeValue(userClient ?? url))
  }
  if (url !== undefined && typeof url !== 'string') throw new FST_NEX_PUBSUB_INVALID_OPTION('url', 'a Redis URL string', describeValue(url))
  if (typeof prefix !== 'string') throw new FST_NEX_PUBSUB_INVALID_OPTION('prefix', 'a string', describeValue(prefix))
  const registry = createHandlerRegistry(resolveOnError(onError))

  const ownsPublisher = userClient === undefined
  const publisher = userClient ?? new Redis(url as string, { ...DEFAULT_CLIENT_OPTIONS, ...clientOptions })
  const subscriber = publisher.duplicate({
    ...SUBSCRIBER_OPTIONS,
    commandTimeout: publisher.options.commandTimeout ?? DEFAULT_CLIENT_OPTIONS.commandTimeout
  })
  // Connections we created report failures as events; they surface as 503s on calls instead.
  if (ownsPublisher) publisher.on('error', noop)
  subscriber.on('error', noop)

  // With the offline queue off, commands sent before the first `ready` fail: wait for it, bounded.
  const publisherReady = ownsPublisher ? firstReadyGate(publisher) : resolved
  const subscriberReady = firstReadyGate(subscriber)

  const channelPrefix = `${prefix}topic:`
  const channelOf = (topic: string): string => `${channelPrefix}${topic}`
  const channels = new Map<string, ChannelState>()
  // Bumped when the subscriber connection closes: results of commands sent on an older connection are ignored.
  let connection = 0
  // Topic → tail of its chain of reconciliations; an entry exists only while one is queued or running.
  const syncing = new Map<string, Promise<void>>()
  let closed = false
  let closing: Promise<void> | null = null

  /** Makes the server's subscription of `topic` match the handler map: SUBSCRIBE, UNSUBSCRIBE or nothing. */
  async function reconcile (topic: string): Promise<void> {
    if (closed) throw new FST_NEX_PUBSUB_CLOSED()
    const wanted = registry.has(topic)
    const state = channels.get(topic)
    if (wanted ? state === 'on' : state === undefined) return
    await subscriberReady()
    // A result counts only for a command sent on a live connection: one sent while disconnected fails at
    // once without reaching the server, and the server forgot this connection's channels when it closed.
    const on = subscriber.status === 'ready' ? connection : -1
    try {
      if (wanted) await subscriber.subscribe(channelOf(topic))
      else await subscriber.unsubscribe(channelOf(topic))
      if (on === connection) {
        if (wanted) channels.set(topic, 'on')
        else channels.delete(topic)
      }
    } catch (err) {
      // Timed out or cut off: the server may or may not have applied it. The next reconcile resends.
      if (on === connection) channels.set(topic, 'unknown')
      throw err
    }
  }

  /** Queues a reconcile of `topic` after the ones in flight, so (UN)SUBSCRIBEs of a topic never cross. */
  function sync (topic: string): Promise<void> {
    const tail = syncing.get(topic)
    const result = tail === undefined ? reconcile(topic) : tail.then(() => reconcile(topic))
    const settled = result.then(noop, noop)
    syncing.set(topic, settled)
    settled.then(() => {
      if (syncing.get(topic) === settled) syncing.delete(topic)
    }, noop)
    return result
  }

  subscriber.on('message', (channel: string, json: string) => {
    if (closed || !channel.startsWith(channelPrefix)) return
    const topic = channel.slice(channelPrefix.length)
    registry.deliver(topic, json)
  })

  subscriber.on('close', () => {
    connection++
    channels.clear()
  })

  let connectedBefore = false
  subscriber.on('ready', () => {
    // The first time, the subscribe calls waiting for it send their own SUBSCRIBEs.
    if (!connectedBefore) {
      connectedBefore = true
      return
    }
    for (const topic of [...registry.topics()]) {
      sync(topic).catch((err: unknown) => {
        if (!closed) registry.report(new FST_NEX_PUBSUB_UNAVAILABLE({ cause: err }), topic)
      })
    }
  })

  function assertOpen (): void {
    if (closed) throw new FST_NEX_PUBSUB_CLOSED()
  }

  /** The error a failed Redis call turns into: closed while it ran, else unavailable (503). */
  function failure (err: unknown): Error {
    return closed ? new FST_NEX_PUBSUB_CLOSED() : new FST_NEX_PUBSUB_UNAVAILABLE({ cause: err })
  }

  return {
    async publish (topic, message) {
      assertOpen()
      assertTopic(topic)
      const json = encodeMessage(topic, message)
      try {
        await publisherReady()
        await publisher.publish(channelOf(topic), json)
      } catch (err) {
        throw failure(err)
      }
    },

    async subscribe (topic, handler) {
      assertOpen()
      assertTopic(topic)
      assertHandler(topic, handler)
      // Registered inactive: it makes the topic wanted, but gets messages only once SUBSCRIBE is acknowledged.
      const subscription = registry.add(topic, handler, false)
      try {
        await sync(topic)
        assertOpen()
      } catch (err) {
        // Drop the channel again if nobody else wants it (the SUBSCRIBE may still go through).
        if (registry.remove(subscription) && !closed) sync(topic).catch(noop)
        throw failure(err)
      }
      subscription.active = true
      let ending: Promise<void> | null = null
      const unsubscribe: Unsubscribe = () => {
        ending ??= (async () => {
          // Removed at once, so the handler gets nothing more. The UNSUBSCRIBE cannot fail in a way that
          // leaves the channel behind: sent, a stalled server still runs it; not sent, the connection is
          // down and the server forgot every subscription.
          if (registry.remove(subscription) && !closed) await sync(topic).catch(noop)
        })()
        return ending
      }
      return unsubscribe
    },

    close () {
      if (closing !== null) return closing
      closed = true
      registry.clear()
      closing = (async () => {
        await disconnect(subscriber)
        if (ownsPublisher) await publisher.quit().catch(() => publisher.disconnect())
      })()
      return closing
    }
  }
}

/** Closes a connection we own at once (nothing to flush on a subscriber) and waits, bounded, for it to end. */
async function disconnect (client: Redis): Promise<void> {
  // Without a live socket there is no `end` to wait for: disconnect() ends it (or stops reconnecting) now.
  const live = client.status === 'connecting' || client.status === 'connect' || client.status === 'ready'
  const ended = live
    ? new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DISCONNECT_TIMEOUT)
      timer.unref()
      client.once('end', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    : undefined
  client.disconnect()
  await ended
}

async function resolved (): Promise<void> {}

function noop (): void {}
