/** The `PageState` handed to handlers: one page id bound to the store. */
import type { JsonValue, PageState, PageStore, Widen } from './types.js'

export class PageHandle implements PageState {
  readonly id: string
  readonly #store: PageStore
  readonly #onWrite: (() => void) | null

  /** `onWrite` runs after each successful write, which has slid the page's TTL by itself. */
  constructor (id: string, store: PageStore, onWrite: (() => void) | null = null) {
    this.id = id
    this.#store = store
    this.#onWrite = onWrite
  }

  get<T extends JsonValue = JsonValue> (key: string): Promise<T | undefined>
  get<T extends JsonValue> (key: string, fallback: T): Promise<Widen<T>>
  async get (key: string, fallback?: JsonValue): Promise<JsonValue | undefined> {
    const value = await this.#store.get(this.id, key)
    return value === undefined ? fallback : value
  }

  getAll (): Promise<Record<string, JsonValue>> {
    return this.#store.getAll(this.id)
  }

  async set (key: string, value: JsonValue): Promise<void> {
    await this.#store.set(this.id, key, value)
    this.#onWrite?.()
  }

  async update<T extends JsonValue> (key: string, fallback: T, fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>): Promise<Widen<T>> {
    const value = await this.#store.update(this.id, key, fallback, fn)
    this.#onWrite?.()
    return value
  }

  async delete (key: string): Promise<void> {
    await this.#store.delete(this.id, key)
    this.#onWrite?.()
  }

  async clear (): Promise<void> {
    await this.#store.clear(this.id)
    this.#onWrite?.()
  }
}
