/**
 * The `Session` of the store backend: a session is a "page" of a `PageStore` (memory or Redis), so it
 * gets the store's atomic `update`, sliding TTL, byte limits and 503s. The id is a signed session id,
 * issued on the first write; the plugin's hooks send or clear the cookie from `id` at the end. Flashes
 * of a request without a session go to the flash cookie instead: they create no session.
 */
import type { JsonValue, PageStore, Widen } from '@nex/state'
import type { FlashJar } from './flash-cookie.js'
import { appendFlash, asFlashes, checkFlash, checkUserKey, FLASH_KEY, hasFlashes, isReservedKey, mergeFlashes } from './lib/flash.js'
import type { Flashes, Session } from './types.js'

export interface StoreSessionEnv {
  /** Makes a new signed id. */
  issue (): string
  /** The request's flash cookie. */
  readonly flashes: FlashJar
  /** Runs after each successful write (which has slid the session's TTL by itself). */
  onWrite (): void
}

export class StoreSession implements Session {
  readonly #store: PageStore
  readonly #env: StoreSessionEnv
  #id: string | null
  /** The id an anonymous session's first write goes to; it becomes `id` once a write succeeded. */
  #pending: string | null = null

  /** `carried` is the verified id of the request's cookie (null when anonymous). */
  constructor (store: PageStore, carried: string | null, env: StoreSessionEnv) {
    this.#store = store
    this.#id = carried
    this.#env = env
  }

  get id (): string | null {
    return this.#id
  }

  get<T extends JsonValue = JsonValue> (key: string): Promise<T | undefined>
  get<T extends JsonValue> (key: string, fallback: T): Promise<Widen<T>>
  async get (key: string, fallback?: JsonValue): Promise<JsonValue | undefined> {
    checkUserKey(key)
    // Anonymous: nothing to read, and no store call (MEM-04).
    if (this.#id === null) return fallback
    const value = await this.#store.get(this.#id, key)
    return value === undefined ? fallback : value
  }

  async getAll (): Promise<Record<string, JsonValue>> {
    if (this.#id === null) return {}
    const all = await this.#store.getAll(this.#id)
    for (const key of Object.keys(all)) {
      if (isReservedKey(key)) delete all[key]
    }
    return all
  }

  async set (key: string, value: JsonValue): Promise<void> {
    checkUserKey(key)
    await this.#write((id) => this.#store.set(id, key, value))
  }

  update<T extends JsonValue> (key: string, fallback: T, fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>): Promise<Widen<T>> {
    checkUserKey(key)
    return this.#write((id) => this.#store.update(id, key, fallback, fn))
  }

  async delete (key: string): Promise<void> {
    checkUserKey(key)
    if (this.#id === null) return
    await this.#store.delete(this.#id, key)
    this.#env.onWrite()
  }

  /**
   * Django's `cycle_key`: copies the data to a new id, then deletes the old id's data. The old id is only
   * given up once its data is gone, so a failure (503) leaves the request on the old session, never on
   * two. Copying key by key is not atomic, but nobody else knows the new id yet.
   */
  async regenerate (): Promise<void> {
    const old = this.#id
    if (old === null) return
    const data = await this.#store.getAll(old)
    const next = this.#env.issue()
    await Promise.all(Object.entries(data).map(([key, value]) => this.#store.set(next, key, value)))
    await this.#store.clear(old)
    this.#id = next
  }

  /** Deletes the data first: if that fails, the request keeps its session (and the cookie) and sees the error. */
  async destroy (): Promise<void> {
    this.#pending = null
    const id = this.#id
    if (id === null) return
    await this.#store.clear(id)
    // Only now: a write during the clear would still have gone to the old id.
    if (this.#id === id) this.#id = null
  }

  /** Into the session when there is one; else into the flash cookie, creating no session (MEM-04). */
  async flash (type: string, message: string): Promise<void> {
    checkFlash(type, message)
    const id = this.#id
    if (id === null) {
      this.#env.flashes.add(type, message)
      return
    }
    await this.#store.update(id, FLASH_KEY, {} as Flashes, (flashes) => appendFlash(flashes, type, message))
    this.#env.onWrite()
  }

  /**
   * The flash cookie's messages (set before there was a session), then the session's. For the session:
   * a read when there is nothing to show (every page render calls this), else one atomic update that
   * takes what is there, so a flash added concurrently is either taken now or kept for the next view.
   * The taken key stays as `{}` (a delete after the update could drop such a concurrent flash).
   */
  async takeFlashes (): Promise<Flashes> {
    const fromCookie = this.#env.flashes.take()
    const id = this.#id
    if (id === null || !hasFlashes(asFlashes(await this.#store.get(id, FLASH_KEY)))) return fromCookie
    let taken: Flashes = {}
    await this.#store.update(id, FLASH_KEY, {} as Flashes, (flashes) => {
      taken = asFlashes(flashes)
      return {}
    })
    this.#env.onWrite()
    return mergeFlashes(fromCookie, taken)
  }

  /**
   * Runs a write against the current id or, for an anonymous session, a new one that becomes the
   * session's id only once a write to it succeeded: a refused write (not JSON, too large, store down)
   * creates no session and sends no cookie.
   */
  async #write<T> (op: (id: string) => Promise<T>): Promise<T> {
    const current = this.#id
    if (current !== null) {
      const result = await op(current)
      this.#env.onWrite()
      return result
    }
    this.#pending ??= this.#env.issue()
    const id = this.#pending
    const result = await op(id)
    if (this.#pending === id) {
      this.#id = id
      this.#pending = null
    }
    this.#env.onWrite()
    return result
  }
}
