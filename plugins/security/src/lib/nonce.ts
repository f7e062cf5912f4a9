/**
 * CSP nonces: 128 random bits each, base64. Random bytes come from a pool refilled with `randomFillSync`
 * (like Node's `randomUUID` cache), so a nonce costs a slice and a base64 encoding, not a call into the
 * CSPRNG. Every byte is used once.
 */
import { randomFillSync } from 'node:crypto'

const NONCE_BYTES = 16
const POOL_BYTES = NONCE_BYTES * 256

const pool = Buffer.allocUnsafeSlow(POOL_BYTES)
let offset = POOL_BYTES

/** One nonce: 16 random bytes, base64 (24 characters). */
export function createNonce (): string {
  if (offset === POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const nonce = pool.toString('base64', offset, offset + NONCE_BYTES)
  offset += NONCE_BYTES
  return nonce
}
