/**
 * Random bytes for per-response values (CSP nonces, CSRF token masks): taken from a pool refilled with
 * `randomFillSync` (like Node's `randomUUID` cache), so each costs a copy, not a call into the CSPRNG.
 * Every byte is used once.
 */
import { randomFillSync } from 'node:crypto'

const POOL_BYTES = 4096

const pool = Buffer.allocUnsafeSlow(POOL_BYTES)
let offset = POOL_BYTES

/** Where the next `length` (≤ POOL_BYTES) unused random bytes start in `pool`. */
function take (length: number): number {
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const start = offset
  offset += length
  return start
}

/** Copies `length` random bytes into `target` at `at`. */
export function fillRandom (target: Buffer, at: number, length: number): void {
  const start = take(length)
  pool.copy(target, at, start, start + length)
}

/** `length` random bytes in `encoding`. */
export function randomString (length: number, encoding: 'base64' | 'base64url'): string {
  const start = take(length)
  return pool.toString(encoding, start, start + length)
}

/** One CSP nonce: 16 random bytes (128 bits), base64 (24 characters). */
export function createNonce (): string {
  return randomString(16, 'base64')
}
