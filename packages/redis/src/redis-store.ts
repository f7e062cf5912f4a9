/**
 * The Redis page store. Layout: one hash per page, `${prefix}${namespace}:{<pageId>}` (the braces are a Cluster
 * hash tag), holding each state key as field `.<key>` (JSON text) plus the meta field `__v`, a write
 * token replaced by every write. One PEXPIRE slides the whole page.
 *
 * Every write runs one Lua script (`nexPageWrite`, sent by EVALSHA) that checks `__v` when asked to,
 * enforces the per-page byte limit, writes, sets a new `__v` and PEXPIREs, atomically. `update` reads
 * in JS, runs `fn`, then writes only if `__v` is unchanged (compare-and-set), retrying on conflict: that
 * keeps concurrent updates from several processes correct over one shared connection, with no
 * WATCH/MULTI. Inside one process a per-page promise queue orders writes, so a process never races
 * itself and conflicts only come from other processes.
 *
 * `__v` is a unique token, not a counter, so a page deleted (DEL) and written again never shows an old
 * version again (no ABA between a read and its compare-and-set).
 */
import { randomBytes } from 'node:crypto'
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import { trackAvailability, withTimeout } from './availability.js'
import { firstReadyGate } from './lib/ready.js'
import { createPageQueue, encodeStateValue, errors, KEY_OVERHEAD_BYTES, pageBaseBytes, type JsonValue, type PageStore, type Widen } from '@nex/state'

const { FST_NEX_STATE_INVALID_OPTION, FST_NEX_STATE_PAGE_TOO_LARGE, FST_NEX_STATE_STORE_CLOSED, FST_NEX_STATE_STORE_UNAVAILABLE } = errors

export interface RedisStoreOptions {
  /** An ioredis client you own (the store never closes it). Use `protocol: 2` and fail-fast options. */
  client?: Redis
  /** A Redis URL; the store creates (and on `close()` quits) its own client with fail-fast options. */
  url?: string
  /** Options for the client created from `url`, merged over the store's defaults. */
  clientOptions?: RedisOptions
  /** Prefix of every key the store writes. Default `'nex:'`. */
  prefix?: string
  /**
   * What the store holds, the key segment after the prefix: `'page'` for page state, `'session'` for a
   * session store, so both can share one Redis and one prefix. Default `'page'`.
   */
  namespace?: string
  /** Sliding lifetime of a page in ms (from its last write or touch). Default 1 h. */
  ttl?: number
  /** Most bytes one page may hold, counted like the memory store. Default 64 KiB. */
  maxPageBytes?: number
  /** How many times `update` retries a compare-and-set lost to another process. Default 50. */
  maxUpdateAttempts?: number
  /**
   * Longest one Redis call may take, in ms: the client's `commandTimeout` when it has one, else this
   * (the store then times calls out itself). Also bounds the background probe of an outage. Default 1000.
   */
  timeout?: number
  /** Pause between probes while Redis is down, in ms. Default 250. */
  probeInterval?: number
}

/** Client options the store uses for a client it creates from `url`: fail fast, RESP2. */
export const DEFAULT_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  protocol: 2,
  enableOfflineQueue: false,
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000
})

const WRITE_SCRIPT = `
local key = KEYS[1]
local expected = ARGV[1]
local current = redis.call('HGET', key, '__v') or ''
if expected ~= '*' and expected ~= current then
  return {1, 0}
end
local op = ARGV[5]
local field = ARGV[7]
if op == 'set' then
  local value = ARGV[8]
  local bytes = tonumber(ARGV[4])
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local name = all[i]
    if name ~= '__v' and name ~= field then
      bytes = bytes + ${KEY_OVERHEAD_BYTES} + #name - 1 + #all[i + 1]
    end
  end
  bytes = bytes + ${KEY_OVERHEAD_BYTES} + #field - 1 + #value
  if bytes > tonumber(ARGV[3]) then
    return {2, bytes}
  end
  redis.call('HSET', key, field, value, '__v', ARGV[6])
  redis.call('PEXPIRE', key, ARGV[2])
  return {0, bytes}
end
if redis.call('HDEL', key, field) == 1 then
  if redis.call('HLEN', key) <= 1 then
    redis.call('DEL', key)
    return {0, 0}
  end
  redis.call('HSET', key, '__v', ARGV[6])
end
redis.call('PEXPIRE', key, ARGV[2])
return {0, 0}
`

type ScriptedRedis = Redis & {
  nexPageWrite (key: string, expected: string, ttl: number, maxPageBytes: number, baseBytes: number,
    op: 'set' | 'del', version: string, field: string, value?: string): Promise<[number, number]>
}

const ANY_VERSION = '*'

export function createRedisStore (options: RedisStoreOptions): PageStore {
  const {
    client: userClient,
    url,
    clientOptions,
    prefix = 'nex:',
    namespace = 'page',
    ttl = 3_600_000,
    maxPageBytes = 65_536,
    maxUpdateAttempts = 50,
    probeInterval = 250
  } = options ?? {}
  if ((userClient === undefined) === (url === undefined)) {
    throw new FST_NEX_STATE_INVALID_OPTION('client', 'an ioredis client, or "url" a Redis URL (exactly one of the two)', describe(userClient ?? url))
  }
  if (typeof prefix !== 'string') throw new FST_NEX_STATE_INVALID_OPTION('prefix', 'a string', describe(prefix))
  if (typeof namespace !== 'string' || !/^[\w-]+$/.test(namespace)) {
    throw new FST_NEX_STATE_INVALID_OPTION('namespace', 'a non-empty string of letters, digits, "_" or "-"', describe(namespace))
  }
  assertPositiveInteger('ttl', ttl)
  assertPositiveInteger('maxPageBytes', maxPageBytes)
  assertPositiveInteger('maxUpdateAttempts', maxUpdateAttempts)
  assertPositiveInteger('probeInterval', probeInterval)
  if (options.timeout !== undefined) assertPositiveInteger('timeout', options.timeout)

  const owned = userClient === undefined
  const client = (userClient ?? new Redis(url as string, { ...DEFAULT_CLIENT_OPTIONS, ...clientOptions })) as ScriptedRedis
  // A client we created reports connection errors as events; they surface as 503s on calls instead.
  if (owned) client.on('error', noop)
  // Defining the command on a shared client is harmless: same name, same script, EVALSHA with EVAL fallback.
  client.defineCommand('nexPageWrite', { numberOfKeys: 1, lua: WRITE_SCRIPT })

  // With the offline queue off, commands sent before the first `ready` fail: wait for it, bounded.
  const firstReady = owned ? firstReadyGate(client) : null

  // ioredis times out its own commands when `commandTimeout` is set; otherwise the store does.
  const clientTimeout = client.options.commandTimeout
  const timeout = clientTimeout ?? options.timeout ?? DEFAULT_CLIENT_OPTIONS.commandTimeout as number
  const bounded = clientTimeout === undefined
    ? <T>(promise: Promise<T>): Promise<T> => withTimeout(promise, timeout)
    : <T>(promise: Promise<T>): Promise<T> => promise
  const availability = trackAvailability(client, { probeInterval, probeTimeout: timeout })

  const nonce = randomBytes(6).toString('base64url')
  let writes = 0
  const newVersion = (): string => `${nonce}.${(writes++).toString(36)}`

  const queue = createPageQueue()
  let closed = false

  function assertOpen (): void {
    if (closed) throw new FST_NEX_STATE_STORE_CLOSED()
  }

  const pageKey = (pageId: string): string => `${prefix}${namespace}:{${pageId}}`

  /**
   * Runs one Redis call; any Redis failure (error, timeout, disconnect) becomes a 503. A connection
   * failure or timeout marks Redis down, and calls fail at once until a probe sees it answer again. A
   * reply error (e.g. OOM under `maxmemory`) is Redis answering: it fails only this call.
   */
  async function redis<T> (call: () => Promise<T>): Promise<T> {
    assertOpen()
    if (!availability.up) throw new FST_NEX_STATE_STORE_UNAVAILABLE()
    try {
      if (firstReady !== null) await firstReady()
      return await bounded(call())
    } catch (err) {
      if (closed) throw new FST_NEX_STATE_STORE_CLOSED()
      if (!(err instanceof ReplyError)) availability.failed()
      throw new FST_NEX_STATE_STORE_UNAVAILABLE({ cause: err })
    }
  }

  /** One write script call; resolves true when written, false on a version conflict. */
  async function write (pageId: string, key: string, json: string | undefined, expected: string): Promise<boolean> {
    const [code, bytes] = await redis(() => json === undefined
      ? client.nexPageWrite(pageKey(pageId), expected, ttl, maxPageBytes, pageBaseBytes(pageId), 'del', newVersion(), `.${key}`)
      : client.nexPageWrite(pageKey(pageId), expected, ttl, maxPageBytes, pageBaseBytes(pageId), 'set', newVersion(), `.${key}`, json))
    if (code === 2) throw new FST_NEX_STATE_PAGE_TOO_LARGE(key, bytes, maxPageBytes)
    return code === 0
  }

  return {
    async get (pageId, key) {
      const json = await redis(() => client.hget(pageKey(pageId), `.${key}`))
      return json === null ? undefined : JSON.parse(json) as JsonValue
    },

    async getAll (pageId) {
      const fields = await redis(() => client.hgetall(pageKey(pageId)))
      const entries: Array<[string, JsonValue]> = []
      for (const [field, json] of Object.entries(fields)) {
        if (field.startsWith('.')) entries.push([field.slice(1), JSON.parse(json) as JsonValue])
      }
      // fromEntries defines properties, so a key named "__proto__" stays an ordinary key.
      return Object.fromEntries(entries)
    },

    async set (pageId, key, value) {
      assertOpen()
      const json = encodeStateValue(key, value)
      await queue.run(pageId, () => write(pageId, key, json, ANY_VERSION))
    },

    async update<T extends JsonValue> (
      pageId: string,
      key: string,
      fallback: T,
      fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>
    ): Promise<Widen<T>> {
      assertOpen()
      const fallbackJson = encodeStateValue(key, fallback)
      return queue.run(pageId, async () => {
        for (let attempt = 1; ; attempt++) {
          const [stored, version] = await redis(() => client.hmget(pageKey(pageId), `.${key}`, '__v'))
          // A fresh parse, also of the fallback, so an `fn` that mutates its argument changes nothing shared.
          const next = await fn(JSON.parse(stored ?? fallbackJson) as Widen<T>)
          const json = encodeStateValue(key, next)
          if (await write(pageId, key, json, version ?? '')) return next
          // Another process wrote the page between our read and our write: read again and redo `fn`.
          if (attempt >= maxUpdateAttempts) throw new FST_NEX_STATE_STORE_UNAVAILABLE()
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10)))
        }
      })
    },

    async delete (pageId, key) {
      assertOpen()
      await queue.run(pageId, () => write(pageId, key, undefined, ANY_VERSION))
    },

    async clear (pageId) {
      assertOpen()
      await queue.run(pageId, () => redis(() => client.del(pageKey(pageId))))
    },

    async touch (pageId) {
      await redis(() => client.pexpire(pageKey(pageId), ttl))
    },

    // Readiness asks Redis itself, also while calls are failing fast: that is how it sees recovery.
    async ping () {
      assertOpen()
      try {
        if (firstReady !== null) await firstReady()
        await bounded(client.ping())
        availability.succeeded()
      } catch (err) {
        if (closed) throw new FST_NEX_STATE_STORE_CLOSED()
        availability.failed()
        throw new FST_NEX_STATE_STORE_UNAVAILABLE({ cause: err })
      }
    },

    async close () {
      if (closed) return
      closed = true
      availability.stop()
      if (owned) {
        await client.quit().catch(() => client.disconnect())
      }
    }
  }
}

function assertPositiveInteger (name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new FST_NEX_STATE_INVALID_OPTION(name, 'a positive integer', describe(value))
  }
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || value === undefined) return String(value)
  return typeof value
}

function noop (): void {}
