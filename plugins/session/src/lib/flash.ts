/**
 * The session's own keys and flash messages, the same for every backend. Pure: no Fastify, no store.
 */
import { FST_NEX_SESSION_INVALID_FLASH, FST_NEX_SESSION_RESERVED_KEY } from '../errors.js'
import type { Flashes } from '../types.js'

/** Keys starting with this hold the session's own data; user keys may not. */
export const RESERVED_PREFIX = '__nex'
/** Where flash messages wait: `{ [type]: messages[] }`. */
export const FLASH_KEY = `${RESERVED_PREFIX}_flash`

const FLASH_TYPE = /^[A-Za-z][\w-]{0,31}$/

/** Throws FST_NEX_SESSION_RESERVED_KEY for a key the session keeps for itself. */
export function checkUserKey (key: string): void {
  if (isReservedKey(key)) throw new FST_NEX_SESSION_RESERVED_KEY(key)
}

export function isReservedKey (key: string): boolean {
  return typeof key === 'string' && key.startsWith(RESERVED_PREFIX)
}

/** Throws FST_NEX_SESSION_INVALID_FLASH unless `type` is a short name and `message` a string. */
export function checkFlash (type: unknown, message: unknown): void {
  if (typeof type !== 'string' || !FLASH_TYPE.test(type)) {
    throw new FST_NEX_SESSION_INVALID_FLASH(`the type must be a letter then up to 31 letters, digits, "_" or "-", got ${JSON.stringify(String(type)).slice(0, 50)}`)
  }
  if (typeof message !== 'string') throw new FST_NEX_SESSION_INVALID_FLASH(`the message must be a string, got a ${typeof message}`)
}

/**
 * `flashes` with `message` appended to `type`'s list (a new object; the argument is not changed). A
 * message already waiting under that type is not added twice (two refused visits, one "please log in").
 */
export function appendFlash (flashes: unknown, type: string, message: string): Flashes {
  const current = asFlashes(flashes)
  const list = Object.hasOwn(current, type) ? current[type] as string[] : []
  return list.includes(message) ? current : { ...current, [type]: [...list, message] }
}

/** Stored flashes as a plain object of string lists; anything malformed reads as no flashes. */
export function asFlashes (value: unknown): Flashes {
  const flashes: Flashes = {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return flashes
  for (const [type, list] of Object.entries(value)) {
    if (!FLASH_TYPE.test(type) || !Array.isArray(list)) continue
    const messages = list.filter((message): message is string => typeof message === 'string')
    if (messages.length > 0) flashes[type] = messages
  }
  return flashes
}

export function hasFlashes (flashes: Flashes): boolean {
  return Object.keys(flashes).length > 0
}

/** `first`'s messages, then `second`'s, per type, each message once (a new object). */
export function mergeFlashes (first: Flashes, second: Flashes): Flashes {
  let merged = first
  for (const [type, messages] of Object.entries(second)) {
    for (const message of messages) merged = appendFlash(merged, type, message)
  }
  return merged
}
