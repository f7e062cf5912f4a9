/**
 * What the Redis test files share: fail-fast clients the test owns, a wait for `ready`, a fresh key
 * prefix per store/bus/log (so they never see each other's keys and channels), and an error recorder.
 */
import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import type { PubSubErrorHandler } from '@nex/pubsub'
import { DEFAULT_CLIENT_OPTIONS } from '../src/index.js'

interface Teardown {
  teardown (fn: () => unknown): void
}

export interface RedisTestKit {
  /** A client the test owns (disconnected at the end of the file), fail-fast like production clients. */
  connect (options?: RedisOptions, url?: string): Redis
  /** A key and channel prefix no other call returned. */
  freshPrefix (): string
}

export function redisTestKit (t: Teardown, defaultUrl: string, defaults: RedisOptions = {}): RedisTestKit {
  let prefixes = 0
  return {
    connect (options = {}, url = defaultUrl) {
      const client = new Redis(url, { ...DEFAULT_CLIENT_OPTIONS, ...defaults, ...options })
      client.on('error', () => {})
      t.teardown(() => { client.disconnect() })
      return client
    },
    freshPrefix: () => `test${prefixes++}-${randomBytes(4).toString('hex')}:`
  }
}

/** Resolves with the client once it is ready. */
export async function ready (client: Redis): Promise<Redis> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}

/** An onError that records what it gets. */
export function recordErrors (): { onError: PubSubErrorHandler, errors: Array<{ error: unknown, topic: string }> } {
  const errors: Array<{ error: unknown, topic: string }> = []
  return { errors, onError: (error, topic) => { errors.push({ error, topic }) } }
}
