/**
 * The Redis page store. Layout: one hash per page, `${prefix}${namespace}:{<pageId>}` (the braces are a Cluster
 * hash tag), holding each state key as field `.<key>` (JSON text) plus the meta field `__v`, a write
 * token replaced by every write. One PEXPIRE slides the whole page.
 *
 * Every write runs one Lua script (`nexPageWrite`, sent by EVALSHA) that checks `__v` when asked to,
 * enforces the per-page byte limit, writes, sets a new `__v` and PEXPIREs, atomically. `update` runs
 * `fn` in JS on the value it last knew, then writes only if `__v` is unchanged (compare-and-set); on a
 * conflict the script returns the current value and `fn` runs again: that keeps concurrent updates from
 * several processes correct over one shared connection, with no WATCH/MULTI. The process remembers
 * (bounded) the token and values of pages it wrote, so an update of a page nobody else wrote is one
 * round trip; otherwise it reads first. Inside one process a per-page promise queue orders writes, so a
 * process never races itself and conflicts only come from other processes.
 *
 * A compare-and-set that fails leaves the losing process a short lease on the page, so it wins its next
 * attempt instead of racing the other process again (fairness; see WRITE_SCRIPT). Retries per update are
 * counted in `updateRetries` (@nex/metrics: `nex_page_state_update_retries`).
 *
 * `__v` is a unique token, not a counter, so a page deleted (DEL) and written again never shows an old
 * version again (no ABA between a read and its compare-and-set).
 */
import { randomBytes } from 'node:crypto'
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import { trackAvailability, withTimeout } from './availability.js'
import { firstReadyGate } from './lib/ready.js'
import { createKnownPages } from './lib/known-pages.js'
import { createPageQueue, describeValue, encodeStateValue, errors, KEY_OVERHEAD_BYTES, pageBaseBytes, type JsonValue, type PageStore, type UpdateRetryStats, type Widen } from '@nex/state'

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

/**
 * How long a page stays reserved for the process whose update keeps losing its compare-and-set. The holder
 * writes one round trip after taking it; the bound only matters if that process dies in between.
 */
const LEASE_MS = 20
/** How long an update refused by another process's lease first waits before it reads the page again (doubling). */
const LEASE_WAIT_MS = 1

// One HGETALL gives the write token, the field's current value and the page's size: the script runs
// three commands for a write (HGETALL, HSET, PEXPIRE). On a token mismatch it returns the current token
// and field value, so the caller can redo its update without another read.
//
// Fairness: without it, a process that writes one page back to back (its updates are one round trip each)
// can starve another process's update on that page for many retries (measured: 14–16 in CON-02). So a
// compare-and-set that fails leaves its writer a lease (`__lease`, "writer expiry-ms" by the server's
// clock): every other compare-and-set write is refused (code 3, with the ms left) until the holder writes
// or the lease expires, so the loser's next attempt wins. Unconditional writes (`set`, `delete`) ignore
// leases. Measured in CON-02 after this: at most 2 retries per update in most runs, 4 under CPU pressure.
const WRITE_SCRIPT = `
local key = KEYS[1]
local expected = ARGV[1]
local field = ARGV[7]
local writer = ARGV[8]
local all = redis.call('HGETALL', key)
local current = ''
local stored = false
local lease = false
local others = 0
local bytes = tonumber(ARGV[4])
for i = 1, #all, 2 do
  local name = all[i]
  if name == '__v' then
    current = all[i + 1]
  elseif name == '__lease' then
    lease = all[i + 1]
  elseif name == field then
    stored = all[i + 1]
  else
    others = others + 1
    bytes = bytes + ${KEY_OVERHEAD_BYTES} + #name - 1 + #all[i + 1]
  end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leasedToOther = false
local leaseLeft = 0
if lease then
  local holder, untilMs = string.match(lease, '^(%S+) (%d+)$')
  leaseLeft = tonumber(untilMs or '0') - now
  leasedToOther = holder ~= writer and leaseLeft > 0
end
if expected ~= '*' then
  if leasedToOther then
    return {3, leaseLeft, current, stored}
  end
  if expected ~= current then
    if current ~= '' then
      redis.call('HSET', key, '__lease', writer .. ' ' .. (now + ${LEASE_MS}))
    end
    return {1, 0, current, stored}
  end
end
if lease and not leasedToOther then
  redis.call('HDEL', key, '__lease')
end
if ARGV[5] == 'set' then
  local value = ARGV[9]
  bytes = bytes + ${KEY_OVERHEAD_BYTES} + #field - 1 + #value
  if bytes > tonumber(ARGV[3]) then
    return {2, bytes}
  end
  redis.call('HSET', key, field, value, '__v', ARGV[6])
elseif stored then
  if others == 0 then
    redis.call('DEL', key)
    return {0, 0}
  end
  redis.call('HDEL', key, field)
  redis.call('HSET', key, '__v', ARGV[6])
end
redis.call('PEXPIRE', key, ARGV[2])
return {0, bytes}
`

// A session's pages in a sorted set by last use (µs by Redis's clock, strictly increasing so two uses in
// one microsecond keep their order), trimmed to the cap. Returns the page ids it dropped; the caller
// deletes their hashes (separate calls: in a Cluster they live in other slots).
const CLAIM_SCRIPT = `
local time = redis.call('TIME')
local score = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 2 and tonumber(last[2]) >= score then
  score = tonumber(last[2]) + 1
end
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if extra <= 0 then
  return {}
end
local dropped = {}
local popped = redis.call('ZPOPMIN', KEYS[1], extra)
for i = 1, #popped, 2 do
  dropped[#dropped + 1] = popped[i]
end
return dropped
`

type ScriptedRedis = Redis & {
  nexSessionPages (key: string, pageId: string, maxPages: number, ttl: number): Promise<string[]>
  nexPageWrite (key: string, expected: string, ttl: number, maxPageBytes: number, baseBytes: number,
    op: 'set' | 'del', version: string, field: string, writer: string, value?: string): Promise<[number, number, string?, (string | null)?]>
}

const ANY_VERSION = '*'

/** The Redis page store: a `PageStore` that also counts its compare-and-set retries. */
export interface RedisPageStore extends PageStore {
  /** How many retries `update` needed because another process wrote the page in between. */
  readonly updateRetries: UpdateRetryStats
}

export function createRedisStore (options: RedisStoreOptions): RedisPageStore {
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
    throw new FST_NEX_STATE_INVALID_OPTION('client', 'an ioredis client, or "url" a Redis URL (exactly one of the two)', describeValue(userClient ?? url))
  }
  if (typeof prefix !== 'string') throw new FST_NEX_STATE_INVALID_OPTION('prefix', 'a string', describeValue(prefix))
  if (typeof namespace !== 'string' || !/^[\w-]+$/.test(namespace)) {
    throw new FST_NEX_STATE_INVALID_OPTION('namespace', 'a non-empty string of letters, digits, "_" or "-"', describeValue(namespace))
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
  client.defineCommand('nexSessionPages', { numberOfKeys: 1, lua: CLAIM_SCRIPT })

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

  // Counted per update rather than summed, so the worst case shows and not only the average.
  const retries = { byRetries: new Array<number>(maxUpdateAttempts).fill(0), gaveUp: 0 }
  const updateRetries: UpdateRetryStats = Object.freeze({
    byRetries: retries.byRetries as readonly number[],
    get gaveUp () { return retries.gaveUp }
  })

  const queue = createPageQueue()
  const known = createKnownPages({ maxPages: 10_000, maxBytes: 8 * 1024 * 1024 })
  let closed = false

  function assertOpen (): void {
    if (closed) throw new FST_NEX_STATE_STORE_CLOSED()
  }

  const pageKey = (pageId: string): string => `${prefix}${namespace}:{${pageId}}`
  // Not under `${namespace}:`, so a scan of the pages (`nex:page:*`) counts pages only.
  const sessionPagesKey = (owner: string): string => `${prefix}${namespace}-of-session:{${owner}}`

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

  /** The outcome of one write script call; `leaseLeft`: ms until another process's lease ends (0: no lease). */
  type WriteResult = { written: true } | { written: false, leaseLeft: number, version: string, stored: string | null }

  /**
   * One write script call (`json` undefined: delete the key), checking the page's token unless
   * `expected` is ANY_VERSION. `version` is the token the write sets. A compare-and-set that fails leaves
   * this process a lease on the page (see WRITE_SCRIPT).
   */
  async function write (pageId: string, key: string, json: string | undefined, expected: string, version: string): Promise<WriteResult> {
    const reply = await redis(() => json === undefined
      ? client.nexPageWrite(pageKey(pageId), expected, ttl, maxPageBytes, pageBaseBytes(pageId), 'del', version, `.${key}`, nonce)
      : client.nexPageWrite(pageKey(pageId), expected, ttl, maxPageBytes, pageBaseBytes(pageId), 'set', version, `.${key}`, nonce, json))
    const [code, bytes, current, stored] = reply
    if (code === 2) throw new FST_NEX_STATE_PAGE_TOO_LARGE(key, bytes, maxPageBytes)
    return code === 0 ? { written: true } : { written: false, leaseLeft: code === 3 ? bytes : 0, version: current ?? '', stored: stored ?? null }
  }

  /** A write that does not check the token: what this process knew about the page is no longer exact. */
  async function overwrite (pageId: string, key: string, json: string | undefined): Promise<void> {
    known.forget(pageId)
    await write(pageId, key, json, ANY_VERSION, newVersion())
  }

  return {
    updateRetries,

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
      await queue.run(pageId, () => overwrite(pageId, key, json))
    },

    async update<T extends JsonValue> (
      pageId: string,
      key: string,
      fallback: T,
      fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>
    ): Promise<Widen<T>> {
      assertOpen()
      const fallbackJson = encodeStateValue(key, fallback)
      const field = `.${key}`
      return queue.run(pageId, async () => {
        const read = async (): Promise<{ version: string, value: string | null }> => {
          const [stored, version] = await redis(() => client.hmget(pageKey(pageId), field, '__v'))
          return { version: version ?? '', value: stored ?? null }
        }
        // What this process knows of the page saves the read: one round trip when nobody else wrote it.
        let seen = known.lookup(pageId, field) ?? await read()
        let waits = 0
        for (let attempt = 1; ; attempt++) {
          // A fresh parse, also of the fallback, so an `fn` that mutates its argument changes nothing shared.
          const next = await fn(JSON.parse(seen.value ?? fallbackJson) as Widen<T>)
          const json = encodeStateValue(key, next)
          const version = newVersion()
          const result = await write(pageId, key, json, seen.version, version)
          if (result.written) {
            known.wrote(pageId, seen.version, version, field, json)
            ;(retries.byRetries[attempt - 1] as number)++
            return next
          }
          if (attempt >= maxUpdateAttempts) {
            retries.gaveUp++
            throw new FST_NEX_STATE_STORE_UNAVAILABLE()
          }
          if (result.leaseLeft > 0) {
            // Another process's update lost and holds the page: it writes within a round trip, unless its
            // process is stalled. Let it (waiting longer each time, never past the lease), then start from
            // what it wrote.
            await new Promise((resolve) => setTimeout(resolve, Math.min(result.leaseLeft, LEASE_WAIT_MS * 2 ** waits++)))
            seen = await read()
          } else {
            // The page changed since `seen` (another process, an expiry), and this update now holds it:
            // redo `fn` at once on what the script saw.
            seen = { version: result.version, value: result.stored }
          }
          known.saw(pageId, seen.version, field, seen.value)
        }
      })
    },

    async delete (pageId, key) {
      assertOpen()
      await queue.run(pageId, () => overwrite(pageId, key, undefined))
    },

    async clear (pageId) {
      assertOpen()
      await queue.run(pageId, async () => {
        known.forget(pageId)
        await redis(() => client.del(pageKey(pageId)))
      })
    },

    async touch (pageId) {
      await redis(() => client.pexpire(pageKey(pageId), ttl))
    },

    async claim (pageId, owner, maxPages) {
      const dropped = await redis(() => client.nexSessionPages(sessionPagesKey(owner), pageId, maxPages, ttl))
      if (dropped.length === 0) return
      for (const id of dropped) known.forget(id)
      // One key per call: in a Cluster the pages live in different slots.
      await Promise.all(dropped.map((id) => redis(() => client.unlink(pageKey(id)))))
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
    throw new FST_NEX_STATE_INVALID_OPTION(name, 'a positive integer', describeValue(value))
  }
}

function noop (): void {}
