/**
 * The in-process page store: one lru-cache entry per page (bounded by page count and by bytes, with a
 * sliding TTL), each holding the page's keys as JSON strings. Writes to a page run through a per-page
 * promise queue so an async `update` cannot interleave with other writes to that page. `claim` keeps each
 * session's pages in use order and drops the state of those past the session's cap.
 */
import { LRUCache } from 'lru-cache'
import { FST_NEX_STATE_PAGE_TOO_LARGE, FST_NEX_STATE_STORE_CLOSED } from './errors.js'
import { createPageQueue, encodeStateValue, entryBytes, pageBaseBytes } from './store-kit.js'
import { normalizeMemoryStoreOptions, type MemoryStoreOptions } from './options.js'
import type { JsonValue, PageStore, Widen } from './types.js'

export interface MemoryStore extends PageStore {
  /** Pages held. An expired page counts until it is read, evicted or purged (every `ttl`, at least 1 s). */
  readonly size: number
  /** Bytes held by all pages, as counted against `maxBytes`. */
  readonly bytes: number
  /** Pages with writes in flight (entries of the per-page queue map); 0 when idle. */
  readonly pendingPages: number
}

// setInterval treats larger delays as 1 ms.
const MAX_TIMER_DELAY = 2_147_483_647

interface PageRecord {
  /** Key → JSON text. Stored as text so reads return fresh copies and sizes are exact. */
  readonly values: Map<string, string>
  readonly bytes: number
}

export function createMemoryStore (options: MemoryStoreOptions = {}): MemoryStore {
  const { ttl, maxPages, maxPageBytes, maxBytes } = normalizeMemoryStoreOptions(options)
  const pages = new LRUCache<string, PageRecord>({
    max: maxPages,
    maxSize: maxBytes,
    sizeCalculation: (page) => page.bytes,
    ttl
  })
  // Session → the pages it used, least recently used first (a Set keeps insertion order). Bounded: at most
  // `maxPages` sessions (least recently active dropped), each with at most the cap it was claimed with.
  const sessions = new LRUCache<string, Set<string>>({ max: maxPages, ttl })
  // Page id → tail of its write chain. An entry exists only while writes to that page are in flight.
  const queue = createPageQueue()
  let closed = false

  // Expired pages are otherwise dropped lazily; this returns their memory when traffic stops.
  const purge = setInterval(() => pages.purgeStale(), Math.min(Math.max(ttl, 1000), MAX_TIMER_DELAY))
  purge.unref()

  function assertOpen (): void {
    if (closed) throw new FST_NEX_STATE_STORE_CLOSED()
  }

  /** Applies one key change (`json` undefined = delete) or throws without changing anything. */
  function write (pageId: string, key: string, json: string | undefined): void {
    assertOpen()
    const page = pages.get(pageId)
    const previous = page?.values.get(key)
    if (json === undefined && previous === undefined) {
      // Nothing to delete, but it is still a write: it slides the page's TTL like any other.
      pages.get(pageId, { updateAgeOnGet: true })
      return
    }
    let bytes = page?.bytes ?? pageBaseBytes(pageId)
    if (previous !== undefined) bytes -= entryBytes(key, previous)
    if (json !== undefined) {
      bytes += entryBytes(key, json)
      if (bytes > maxPageBytes) throw new FST_NEX_STATE_PAGE_TOO_LARGE(key, bytes, maxPageBytes)
    }
    const values = page?.values ?? new Map<string, string>()
    if (json === undefined) values.delete(key)
    else values.set(key, json)
    if (values.size === 0) {
      pages.delete(pageId)
      return
    }
    // lru-cache recomputes an entry's size only when the stored object changes, hence a new record.
    pages.set(pageId, { values, bytes })
  }

  return {
    async get (pageId, key) {
      assertOpen()
      const json = pages.get(pageId)?.values.get(key)
      return json === undefined ? undefined : JSON.parse(json) as JsonValue
    },

    async getAll (pageId) {
      assertOpen()
      const page = pages.get(pageId)
      if (page === undefined) return {}
      // fromEntries defines properties, so a key named "__proto__" stays an ordinary key.
      return Object.fromEntries(Array.from(page.values, ([key, json]) => [key, JSON.parse(json) as JsonValue]))
    },

    async set (pageId, key, value) {
      assertOpen()
      // Serialised now, so changes the caller makes to `value` after this call are not stored.
      const json = encodeStateValue(key, value)
      return queue.run(pageId, () => write(pageId, key, json))
    },

    async update<T extends JsonValue> (
      pageId: string,
      key: string,
      fallback: T,
      fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>
    ): Promise<Widen<T>> {
      assertOpen()
      const fallbackJson = encodeStateValue(key, fallback)
      return queue.run(pageId, () => {
        assertOpen()
        const stored = pages.get(pageId)?.values.get(key)
        // A copy, also of the fallback, so an `fn` that mutates its argument changes nothing shared.
        const next = fn(JSON.parse(stored ?? fallbackJson) as Widen<T>)
        const commit = (value: Widen<T>): Widen<T> => {
          write(pageId, key, encodeStateValue(key, value))
          return value
        }
        return isThenable(next) ? Promise.resolve(next).then(commit) : commit(next)
      })
    },

    async delete (pageId, key) {
      assertOpen()
      return queue.run(pageId, () => write(pageId, key, undefined))
    },

    async clear (pageId) {
      assertOpen()
      return queue.run(pageId, () => {
        assertOpen()
        pages.delete(pageId)
      })
    },

    async touch (pageId) {
      assertOpen()
      pages.get(pageId, { updateAgeOnGet: true })
    },

    async claim (pageId, owner, maxPagesOfOwner) {
      assertOpen()
      let used = sessions.get(owner)
      if (used === undefined) {
        used = new Set()
        sessions.set(owner, used)
      }
      used.delete(pageId)
      used.add(pageId)
      for (const oldest of used) {
        if (used.size <= maxPagesOfOwner) break
        used.delete(oldest)
        // Through the page's queue, like any write: an update in flight finishes first.
        await queue.run(oldest, () => { pages.delete(oldest) })
      }
    },

    async ping () {
      assertOpen()
    },

    async close () {
      closed = true
      clearInterval(purge)
      pages.clear()
      sessions.clear()
    },

    get size () {
      return pages.size
    },

    get bytes () {
      return pages.calculatedSize
    },

    get pendingPages () {
      return queue.size
    }
  }
}

// A JSON value never has a callable `then`, so this tells an async `fn`'s result from a plain value.
function isThenable<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
