/**
 * The page-state contracts: what a store implements (`PageStore`) and what handlers use (`PageState`).
 * Every store (memory here, Redis in @nex/redis) passes the contract suite in @nex/testing.
 */

/** A JSON value: what page state can hold. Stores refuse anything else. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Literal types widened (`0` → `number`), so `update('count', 0, n => n + 1)` is typed `number`. */
export type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : T

/**
 * A page-state store. Promise-based; every write resolves only once the write is applied.
 *
 * Lifetime: a page's state expires `ttl` after its last write or `touch` (sliding). Reads do not need to
 * extend it. An unknown or expired page reads as empty. Writes to one page are applied in call order,
 * and `update` is atomic per page: concurrent updates of one page never lose a write, also across
 * processes for shared stores.
 */
export interface PageStore {
  /** The value of `key` on the page, or `undefined` when absent. Returns a fresh copy. */
  get (pageId: string, key: string): Promise<JsonValue | undefined>
  /** All keys of the page (empty object when the page is unknown). */
  getAll (pageId: string): Promise<Record<string, JsonValue>>
  /** Sets `key` (a JSON value; anything else is refused with FST_NEX_STATE_NOT_JSON). */
  set (pageId: string, key: string, value: JsonValue): Promise<void>
  /**
   * Atomically replaces `key` by `fn(current ?? fallback)` and resolves to the new value. `fn` may be
   * async; other writes to the page wait for it. If `fn` throws, nothing is written.
   */
  update<T extends JsonValue> (
    pageId: string,
    key: string,
    fallback: T,
    fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>
  ): Promise<Widen<T>>
  /** Removes `key`. */
  delete (pageId: string, key: string): Promise<void>
  /** Removes every key of the page. */
  clear (pageId: string): Promise<void>
  /** Slides the page's expiry without changing it: one operation, whatever the number of keys. */
  touch (pageId: string): Promise<void>
  /**
   * Optional (the per-session page cap): records that `owner` (a session id) used page `pageId` now, and
   * when the owner has used more than `maxPages` pages, deletes the state of the least recently used ones
   * beyond that. @nex/state calls it once per request that carried or wrote a page of a session.
   */
  claim? (pageId: string, owner: string, maxPages: number): Promise<void>
  /** Resolves when the store can serve requests (readiness checks). */
  ping (): Promise<void>
  /** Releases what the store owns (timers, clients it created). */
  close (): Promise<void>
}

/**
 * Compare-and-set retries of a store shared by several processes: `update` runs `fn` again when another
 * process wrote the page between its read and its write. A store that keeps them exposes this object as
 * `updateRetries` (the Redis store does; the memory store never retries), and @nex/metrics shows it as the
 * `nex_page_state_update_retries` histogram. Live counters: read them, do not keep a copy.
 */
export interface UpdateRetryStats {
  /** `byRetries[n]`: updates written after n retries (index 0: at the first attempt). */
  readonly byRetries: readonly number[]
  /** Updates that gave up after the store's last attempt (answered 503). */
  readonly gaveUp: number
}

/** The page state handle given to handlers as `ctx.state` (and `request.pageState`). */
export interface PageState {
  /** The signed page id this handle reads and writes. */
  readonly id: string
  /** The value of `key`, or `fallback` (default `undefined`) when absent. */
  get<T extends JsonValue = JsonValue> (key: string): Promise<T | undefined>
  get<T extends JsonValue> (key: string, fallback: T): Promise<Widen<T>>
  /** Every key of the page. */
  getAll (): Promise<Record<string, JsonValue>>
  set (key: string, value: JsonValue): Promise<void>
  /** Atomic read-modify-write of one key; resolves to the new value. */
  update<T extends JsonValue> (key: string, fallback: T, fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>): Promise<Widen<T>>
  delete (key: string): Promise<void>
  clear (): Promise<void>
}
