/**
 * The `Session` of the cookie backend: the data lives, encrypted, in the cookie itself
 * (@fastify/secure-session decodes it in `onRequest` and re-encodes it in `onSend` when changed). This
 * class gives it the same API and semantics as the store backend where a cookie can: an id inside the
 * payload (null while anonymous), JSON values, flashes, a size limit checked at the write.
 *
 * What a cookie cannot do: `update` is atomic within a request but last-writer-wins across concurrent
 * requests (each carries its own copy), and nothing can be revoked server-side: an old cookie stays
 * valid until it expires (`ttl` after it was issued).
 *
 * As with the store backend, a flash while there is no session goes to the flash cookie and creates none.
 */
import { encodeStateValue, type JsonValue, type Widen } from '@nex/state'
import type { FastifyRequest } from 'fastify'
import { FST_NEX_SESSION_COOKIE_TOO_LARGE, FST_NEX_SESSION_NOT_READY } from './errors.js'
import { appendFlash, asFlashes, checkFlash, checkUserKey, FLASH_KEY, hasFlashes, mergeFlashes } from './lib/flash.js'
import { COOKIE_LIMIT, sealedCookieBytes, TIMESTAMP_BYTES } from './lib/sealed-cookie.js'
import type { FlashJar } from './flash-cookie.js'
import type { Flashes, Session } from './types.js'

/** The parts of @fastify/secure-session's session object this backend uses. */
export interface SealedSession {
  /** Set by `set`, `touch` and `delete`: secure-session sends the cookie in `onSend`. */
  readonly changed: boolean
  /** Set by `delete`: secure-session clears the cookie in `onSend`. */
  readonly deleted: boolean
  get (key: string): unknown
  set (key: string, value: unknown): void
  /** A copy of the payload without secure-session's timestamp. */
  data (): Record<string, unknown>
  delete (): void
  /** Marks it changed and renews its timestamp (the expiry is counted from it). */
  touch (): void
}

/** The request decorator secure-session keeps its session in (a private name, not `session`). */
export const SEALED_SESSION = 'nexSealedSession'
/** Payload fields: the session id, the user's keys, the flashes (secure-session adds `__ts`). */
export const ID_FIELD = 'id'
const DATA_FIELD = 'data'
const FLASH_FIELD = 'flash'

export type SealedRequest = FastifyRequest & { [SEALED_SESSION]: SealedSession | null }

export interface CookieSessionEnv {
  readonly cookieName: string
  /** A new, empty secure-session object (after `destroy`, a write starts over with one). */
  create (): SealedSession
  /** A new random session id. */
  issue (): string
}

export class CookieSession implements Session {
  readonly #request: SealedRequest
  readonly #env: CookieSessionEnv
  readonly #flashes: FlashJar
  /** Writes run one after another, so `update` is atomic within the request. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor (request: FastifyRequest, env: CookieSessionEnv, flashes: FlashJar) {
    this.#request = request as SealedRequest
    this.#env = env
    this.#flashes = flashes
  }

  get id (): string | null {
    const sealed = this.#sealed()
    if (sealed.deleted) return null
    const id = sealed.get(ID_FIELD)
    return typeof id === 'string' ? id : null
  }

  get<T extends JsonValue = JsonValue> (key: string): Promise<T | undefined>
  get<T extends JsonValue> (key: string, fallback: T): Promise<Widen<T>>
  async get (key: string, fallback?: JsonValue): Promise<JsonValue | undefined> {
    checkUserKey(key)
    const data = this.#data()
    // A copy, as a store would return: changing it changes nothing stored.
    return Object.hasOwn(data, key) ? copy(data[key] as JsonValue) : fallback
  }

  async getAll (): Promise<Record<string, JsonValue>> {
    return copy(this.#data())
  }

  set (key: string, value: JsonValue): Promise<void> {
    checkUserKey(key)
    const json = encodeStateValue(key, value)
    return this.#serial(() => this.#commit(key, DATA_FIELD, { ...this.#data(), [key]: JSON.parse(json) as JsonValue }))
  }

  update<T extends JsonValue> (key: string, fallback: T, fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>): Promise<Widen<T>> {
    checkUserKey(key)
    const fallbackJson = encodeStateValue(key, fallback)
    return this.#serial(async () => {
      const data = this.#data()
      const current = Object.hasOwn(data, key) ? copy(data[key] as JsonValue) : JSON.parse(fallbackJson) as JsonValue
      const next = await fn(current as Widen<T>)
      const json = encodeStateValue(key, next)
      this.#commit(key, DATA_FIELD, { ...this.#data(), [key]: JSON.parse(json) as JsonValue })
      return next
    })
  }

  delete (key: string): Promise<void> {
    checkUserKey(key)
    return this.#serial(() => {
      const data = this.#data()
      if (!Object.hasOwn(data, key)) return
      const { [key]: _removed, ...rest } = data
      this.#commit(key, DATA_FIELD, rest)
    })
  }

  /** A new id for the same data; the cookie is re-encrypted (new nonce) and sent. */
  regenerate (): Promise<void> {
    return this.#serial(() => {
      if (this.id !== null) this.#sealed().set(ID_FIELD, this.#env.issue())
    })
  }

  destroy (): Promise<void> {
    return this.#serial(() => {
      const sealed = this.#sealed()
      // An anonymous request without a cookie has nothing to clear: no Set-Cookie.
      if (!sealed.deleted && (this.id !== null || this.#request.cookies[this.#env.cookieName] !== undefined)) sealed.delete()
    })
  }

  /** Into the session when there is one; else into the flash cookie, creating no session. */
  flash (type: string, message: string): Promise<void> {
    checkFlash(type, message)
    return this.#serial(() => {
      if (this.id === null) this.#flashes.add(type, message)
      else this.#commit(FLASH_KEY, FLASH_FIELD, appendFlash(this.#sessionFlashes(), type, message))
    })
  }

  /** The flash cookie's messages (set before there was a session), then the session's. */
  takeFlashes (): Promise<Flashes> {
    return this.#serial(() => {
      const fromCookie = this.#flashes.take()
      const flashes = this.#sessionFlashes()
      // Nothing to show: the session cookie is left alone (no Set-Cookie).
      if (!hasFlashes(flashes)) return fromCookie
      this.#sealed().set(FLASH_FIELD, undefined)
      return mergeFlashes(fromCookie, flashes)
    })
  }

  #sealed (): SealedSession {
    const sealed = this.#request[SEALED_SESSION]
    // secure-session sets it in its `onRequest` hook; only a hook running before that one sees null.
    if (sealed === null) throw new FST_NEX_SESSION_NOT_READY()
    return sealed
  }

  #data (): Record<string, JsonValue> {
    const sealed = this.#sealed()
    const data = sealed.deleted ? undefined : sealed.get(DATA_FIELD)
    return typeof data === 'object' && data !== null ? data as Record<string, JsonValue> : {}
  }

  #sessionFlashes (): Flashes {
    const sealed = this.#sealed()
    return sealed.deleted ? {} : asFlashes(sealed.get(FLASH_FIELD))
  }

  /**
   * Writes one payload field, or throws FST_NEX_SESSION_COOKIE_TOO_LARGE (413) and changes nothing. The
   * first write of an anonymous (or destroyed) session gives it an id; after `destroy()` it starts a new
   * secure-session object, so the cookie sent is the new session instead of the clearing one.
   */
  #commit (key: string, field: string, value: unknown): void {
    let sealed = this.#sealed()
    const current = sealed.deleted ? {} : sealed.data()
    const id = typeof current[ID_FIELD] === 'string' ? current[ID_FIELD] : this.#env.issue()
    const payload = JSON.stringify({ ...current, [ID_FIELD]: id, [field]: value })
    const bytes = sealedCookieBytes(this.#env.cookieName, Buffer.byteLength(payload) + TIMESTAMP_BYTES)
    if (bytes > COOKIE_LIMIT) throw new FST_NEX_SESSION_COOKIE_TOO_LARGE(key, bytes, COOKIE_LIMIT)
    if (sealed.deleted) {
      sealed = this.#env.create()
      this.#request[SEALED_SESSION] = sealed
    }
    sealed.set(ID_FIELD, id)
    sealed.set(field, value)
  }

  #serial<T> (op: () => T | Promise<T>): Promise<T> {
    const run = this.#tail.then(op)
    this.#tail = run.then(noop, noop)
    return run
  }
}

function copy<T extends JsonValue> (value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

function noop (): void {}
