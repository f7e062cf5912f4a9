/**
 * Page ids: `<nonce>.<tag>`, where the nonce is 16 random bytes and the tag the first 16 bytes of an
 * HMAC-SHA256 of the nonce, both base64url (22 characters each, 45 in all). Ids the server never issued
 * fail verification before anything is looked up or allocated.
 */
import { createHmac, createSecretKey, hkdfSync, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto'

const NONCE_BYTES = 16
const TAG_BYTES = 16
const PART_LENGTH = 22
/** Length of every page id this module issues. */
export const PAGE_ID_LENGTH = PART_LENGTH * 2 + 1
const PAGE_ID_SHAPE = /^[\w-]{22}\.[\w-]{22}$/
/** Nonces drawn per call to the CSPRNG: one call per id was half the cost of issuing one. */
const POOLED_NONCES = 256

export interface PageIdSigner {
  /** A fresh page id signed with the first secret. */
  issue (): string
  /** True when `id` was issued with any of the secrets. Constant-time in the tag. */
  verify (id: unknown): boolean
}

/**
 * Builds a signer; the first secret signs, every secret verifies (rotation). `purpose` separates kinds of
 * ids signed with one secret (page ids, session ids): an id of one purpose never verifies for another.
 */
export function createPageIdSigner (secrets: readonly [string, ...string[]], purpose = 'page-id'): PageIdSigner {
  const derive = (secret: string): KeyObject => deriveKey(secret, purpose)
  const signingKey = derive(secrets[0])
  const keys = [signingKey, ...secrets.slice(1).map(derive)]
  const pool = Buffer.alloc(NONCE_BYTES * POOLED_NONCES)
  let offset = pool.length

  return {
    issue () {
      if (offset === pool.length) {
        randomFillSync(pool)
        offset = 0
      }
      const nonce = pool.toString('base64url', offset, offset + NONCE_BYTES)
      offset += NONCE_BYTES
      return `${nonce}.${tag(signingKey, nonce)}`
    },
    verify (id) {
      // Shape first: garbage costs a length compare and a regex, never an HMAC.
      if (typeof id !== 'string' || id.length !== PAGE_ID_LENGTH || !PAGE_ID_SHAPE.test(id)) return false
      const nonce = id.slice(0, PART_LENGTH)
      const given = Buffer.from(id.slice(PART_LENGTH + 1), 'latin1')
      let valid = false
      for (const key of keys) {
        // Comparing the canonical tag text (not decoded bytes) refuses non-canonical base64url variants,
        // so one issued id cannot be turned into several store keys.
        valid = timingSafeEqual(Buffer.from(tag(key, nonce), 'latin1'), given) || valid
      }
      return valid
    }
  }
}

function tag (key: KeyObject, nonce: string): string {
  return createHmac('sha256', key).update(nonce).digest().subarray(0, TAG_BYTES).toString('base64url')
}

// A key derived for this purpose only, so the app secret can also sign other things (cookies, CSRF
// tokens) without a tag from one context ever being valid in another.
function deriveKey (secret: string, purpose: string): KeyObject {
  return createSecretKey(new Uint8Array(hkdfSync('sha256', secret, '', `nex:${purpose}:v1`, 32)))
}
