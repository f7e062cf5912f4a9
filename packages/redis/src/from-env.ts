/**
 * Backend selection by configuration, not code: with `REDIS_URL` set, page state, sessions, pub/sub and
 * the event log live in that Redis (shared by every process of the app); without it, `redisFromEnv` returns null and
 * the plugins keep their in-memory defaults. The examples and the `nex` preset call it, so moving from one
 * process to several is one environment variable.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { EventLog, PubSub } from '@nex/pubsub'
import { createRedisStore, DEFAULT_CLIENT_OPTIONS, type RedisPageStore } from './redis-store.js'
import { createRedisEventLog } from './redis-event-log.js'
import { createRedisPubSub } from './redis-pubsub.js'
import { waitReady } from './lib/ready.js'

export interface RedisBackends {
  /** The one client every backend shares (pub/sub adds its own subscriber connection). */
  readonly client: Redis
  /** Page state for @nex/state (`nex:page:{id}`). */
  readonly pageStore: RedisPageStore
  /** Sessions for @nex/session (`nex:session:{id}`). */
  readonly sessionStore: RedisPageStore
  /** Pub/sub across processes. */
  readonly pubsub: PubSub
  /** Topics with ids and replay for @nex/sse and @nex/websocket (`nex:events:<topic>` and `…:seq`), delivered through `pubsub`. */
  readonly events: EventLog
  /** Closes the event log, then pub/sub and the stores, then the client. Register it with `onClose`. */
  close (): Promise<void>
}

export interface RedisFromEnvOptions {
  /** Where to read `REDIS_URL` (and `REDIS_PREFIX`). @default process.env */
  env?: NodeJS.ProcessEnv
  /** Key and channel prefix. @default env.REDIS_PREFIX ?? 'nex:' */
  prefix?: string
  /** Options merged over the fail-fast client defaults (`DEFAULT_CLIENT_OPTIONS`). */
  clientOptions?: RedisOptions
  /** Sliding lifetime of a session in ms. @default 86_400_000 (24 h) */
  sessionTtl?: number
  /**
   * How long to wait for the first connection, in ms. Redis still down after it is not fatal: the app
   * starts, requests needing Redis answer 503 with `Retry-After`, and everything recovers when it is up.
   * @default 5000
   */
  readyTimeout?: number
  /** Told when Redis was not ready in time (e.g. `app.log.warn`). */
  onNotReady?: (error: Error) => void
}

/** Redis backends when `REDIS_URL` is set, else null (use the in-memory defaults). */
export async function redisFromEnv (options: RedisFromEnvOptions = {}): Promise<RedisBackends | null> {
  const env = options.env ?? process.env
  const url = env.REDIS_URL
  if (url === undefined || url === '') return null
  const prefix = options.prefix ?? env.REDIS_PREFIX ?? 'nex:'

  const client = new Redis(url, { ...DEFAULT_CLIENT_OPTIONS, ...options.clientOptions })
  // Connection errors surface as 503s on calls; as events they would only be unhandled noise.
  client.on('error', () => {})
  try {
    await waitReady(client, options.readyTimeout ?? 5000)
  } catch (error) {
    options.onNotReady?.(new Error(`Redis at REDIS_URL is not ready (${(error as Error).message}); requests that need it answer 503 until it is`))
  }

  const pageStore = createRedisStore({ client, prefix })
  const sessionStore = createRedisStore({ client, prefix, namespace: 'session', ttl: options.sessionTtl ?? 86_400_000 })
  const pubsub = createRedisPubSub({ client, prefix })
  const events = createRedisEventLog({ client, prefix, pubsub })
  let closing: Promise<void> | null = null
  return {
    client,
    pageStore,
    sessionStore,
    pubsub,
    events,
    close () {
      closing ??= (async () => {
        // The log's subscriptions live on the bus: end them before the bus.
        await events.close().catch(() => {})
        await Promise.allSettled([pubsub.close(), pageStore.close(), sessionStore.close()])
        // QUIT resolves on Redis' OK; the socket closes just after. Wait for that, bounded, so close() means closed.
        const ended = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000)
          client.once('end', () => {
            clearTimeout(timer)
            resolve()
          })
        })
        await client.quit().catch(() => client.disconnect())
        await ended
      })()
      return closing
    }
  }
}
