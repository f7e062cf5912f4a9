/**
 * Sizes and keys of the cookie backend's sealed cookie (@fastify/secure-session: libsodium secretbox,
 * value `base64(ciphertext);base64(nonce)`). Pure: no Fastify.
 */
import { hkdfSync } from 'node:crypto'

/** Most bytes of `name=value` a browser keeps for one cookie (RFC 6265 asks for at least 4096). */
export const COOKIE_LIMIT = 4096

const MAC_BYTES = 16
const NONCE_BASE64_LENGTH = 32
/** The separator between ciphertext and nonce, sent as `.` (see `toCookieValue`). */
const SEPARATOR_LENGTH = 1
/** What secure-session adds to the JSON: `,"__ts":` and a 10-digit Unix time. */
export const TIMESTAMP_BYTES = 18

/**
 * Bytes of `name=value` for a sealed payload whose JSON text is `jsonBytes` long. Exact: the value is
 * base64 (`4 * ceil(bytes / 3)`), a separator and the nonce, none of which is escaped.
 */
export function sealedCookieBytes (name: string, jsonBytes: number): number {
  return Buffer.byteLength(name) + 1 + 4 * Math.ceil((jsonBytes + MAC_BYTES) / 3) + SEPARATOR_LENGTH + NONCE_BASE64_LENGTH
}

/**
 * secure-session's value (`base64;base64`) as a cookie value. `;` is no cookie character, and escaping
 * it makes the default encoder percent-encode the whole value (a random ~6 % larger, so the size limit
 * could not be checked exactly, and `%` sequences that cookie jars must keep verbatim). Base64 never
 * contains `.`, so it stands in for the separator.
 */
export function toCookieValue (sealed: string): string {
  return sealed.replace(';', '.')
}

/** The inverse of `toCookieValue`, applied before secure-session decodes the cookie. */
export function fromCookieValue (value: string): string {
  return value.replace('.', ';')
}

/**
 * One 32-byte encryption key per secret (the first encrypts, all decrypt), derived for this purpose
 * only, so the app secret never is the key itself and no other Nex key equals it.
 */
export function deriveCookieKeys (secrets: readonly string[]): Buffer[] {
  return secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, '', 'nex:session-cookie:v1', 32)))
}
