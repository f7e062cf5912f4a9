/**
 * The flash cookie: the flash messages of a browser that has no session, signed (HMAC-SHA256 with a key
 * derived from the app secret for this purpose only) and stamped with an expiry, so a request that only
 * flashes ("please log in", "wrong password") stores nothing on the server (MEM-04). Pure: no Fastify.
 *
 * Value: `base64url(JSON [expiresAt, flashes]).base64url(tag)`, `expiresAt` in Unix seconds.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { FST_NEX_SESSION_FLASH_TOO_LARGE } from '../errors.js'
import type { Flashes } from '../types.js'
import { asFlashes } from './flash.js'

/** Seconds a flash cookie lives, in the browser (`Max-Age`) and as checked on the server (its expiry). */
export const FLASH_COOKIE_MAX_AGE = 60
/** Most bytes of `name=value` a flash cookie may take; the oldest messages make room for a new one. */
export const FLASH_COOKIE_LIMIT = 2048
/** Bytes of the tag: 128 bits of HMAC-SHA256, as for session ids. */
const TAG_BYTES = 16
const TAG_LENGTH = Math.ceil(TAG_BYTES * 4 / 3)

/** The flash cookie's name, next to the session cookie's: `nex_session_flash` by default. */
export function flashCookieName (cookieName: string): string {
  return `${cookieName}_flash`
}

/** A flash message just added. */
export interface FlashMessage {
  readonly type: string
  readonly message: string
}

export interface FlashCookieCodec {
  /**
   * The cookie value holding `flashes` (which include `newest`) until `now` (ms) plus
   * FLASH_COOKIE_MAX_AGE, and the flashes it holds. When `name=value` would be over FLASH_COOKIE_LIMIT,
   * the oldest messages are dropped (those of the first type first, each list from its start) until it
   * fits; throws FST_NEX_SESSION_FLASH_TOO_LARGE when even `newest` alone does not.
   */
  encode (name: string, flashes: Flashes, newest: FlashMessage, now: number): { value: string, flashes: Flashes }
  /** The flashes in a cookie value, or null when it is not one of ours (tampered, other secret, expired, garbage). */
  decode (value: string, now: number): Flashes | null
}

/** One key per secret (the first signs, all verify), derived for flash cookies only. */
export function createFlashCookieCodec (secrets: readonly string[]): FlashCookieCodec {
  const keys = secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, '', 'nex:session-flash:v1', 32)))
  const sign = (key: Buffer, payload: string): Buffer => createHmac('sha256', key).update(payload).digest().subarray(0, TAG_BYTES)

  function seal (flashes: Flashes, now: number): string {
    const payload = Buffer.from(JSON.stringify([Math.floor(now / 1000) + FLASH_COOKIE_MAX_AGE, flashes])).toString('base64url')
    return `${payload}.${sign(keys[0] as Buffer, payload).toString('base64url')}`
  }

  return {
    encode (name, flashes, newest, now) {
      let kept = flashes
      let value = seal(kept, now)
      while (name.length + 1 + value.length > FLASH_COOKIE_LIMIT) {
        kept = withoutOldest(kept)
        if (!includes(kept, newest)) {
          const alone = name.length + 1 + seal({ [newest.type]: [newest.message] }, now).length
          throw new FST_NEX_SESSION_FLASH_TOO_LARGE(alone, FLASH_COOKIE_LIMIT)
        }
        value = seal(kept, now)
      }
      return { value, flashes: kept }
    },

    decode (value, now) {
      // Bounded before any work: a browser never gets a bigger one from us.
      if (value.length > FLASH_COOKIE_LIMIT) return null
      const dot = value.lastIndexOf('.')
      if (dot < 1 || value.length - dot - 1 !== TAG_LENGTH) return null
      const payload = value.slice(0, dot)
      const tag = Buffer.from(value.slice(dot + 1), 'base64url')
      if (tag.length !== TAG_BYTES || !keys.some((key) => timingSafeEqual(sign(key, payload), tag))) return null
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      } catch {
        return null
      }
      if (!Array.isArray(parsed) || typeof parsed[0] !== 'number' || parsed[0] * 1000 <= now) return null
      return asFlashes(parsed[1])
    }
  }
}

/** `flashes` without the first message of its first type (a type keeps its place while it has messages). */
function withoutOldest (flashes: Flashes): Flashes {
  const [type] = Object.keys(flashes)
  if (type === undefined) return flashes
  const [, ...rest] = flashes[type] as string[]
  const { [type]: _dropped, ...others } = flashes
  return rest.length === 0 ? others : { [type]: rest, ...others }
}

function includes (flashes: Flashes, { type, message }: FlashMessage): boolean {
  return Object.hasOwn(flashes, type) && (flashes[type] as string[]).includes(message)
}
