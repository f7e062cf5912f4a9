/** What handlers use: the per-browser `Session` (`request.session`, `ctx.session` in @nex/routes). */
import type { JsonValue, Widen } from '@nex/state'

/** Flash messages by type (`error`, `info`, …), oldest first. */
export type Flashes = Record<string, string[]>

/**
 * One browser's session. Every method returns a promise. Values are JSON (plain objects, arrays,
 * strings, finite numbers, booleans, null); anything else is refused with FST_NEX_STATE_NOT_JSON.
 *
 * A browser without a session is anonymous: reads answer empty without any store operation, and nothing
 * is stored and no cookie is sent until the first write, which creates the session (new id, Set-Cookie).
 * A flash is no such write: without a session it goes to a signed 60-second flash cookie instead.
 */
export interface Session {
  /** The session id, or null while the browser is anonymous (no session yet, or destroyed). */
  readonly id: string | null
  /** The value of `key`, or `fallback` (default `undefined`) when absent. A fresh copy. */
  get<T extends JsonValue = JsonValue> (key: string): Promise<T | undefined>
  get<T extends JsonValue> (key: string, fallback: T): Promise<Widen<T>>
  /** Every key of the session (the session's own `__nex*` keys left out). */
  getAll (): Promise<Record<string, JsonValue>>
  /** Sets `key`; creates the session when anonymous. Keys starting with `__nex` are reserved. */
  set (key: string, value: JsonValue): Promise<void>
  /**
   * Replaces `key` by `fn(current ?? fallback)` and resolves to the new value. Atomic per session with
   * the `store` backend (also across processes); last writer wins with the `cookie` backend.
   */
  update<T extends JsonValue> (key: string, fallback: T, fn: (current: Widen<T>) => Widen<T> | Promise<Widen<T>>): Promise<Widen<T>>
  /** Removes `key` (an anonymous session stays anonymous). */
  delete (key: string): Promise<void>
  /**
   * A new id for the same data: the data moves to the new id, the old id's data is deleted and the new
   * cookie is sent. Call it at login and on every privilege change (session fixation). Anonymous: no-op.
   */
  regenerate (): Promise<void>
  /**
   * Deletes the session's data and clears the cookie. A write later in the same request starts a new
   * session with a new id, so `destroy()` then `flash()` (logout, then "Logged out") works.
   */
  destroy (): Promise<void>
  /**
   * Adds a flash message of `type` (letters, digits, `_`, `-`), shown once by `takeFlashes()`. A message
   * already waiting under that type is not added again. With a session it is kept in the session; without
   * one it travels in its own signed cookie for 60 s (2 KiB at most, the oldest messages make room) and
   * creates no session.
   */
  flash (type: string, message: string): Promise<void>
  /** The flash messages waiting (the flash cookie's, then the session's), removed: each is returned once. */
  takeFlashes (): Promise<Flashes>
}
