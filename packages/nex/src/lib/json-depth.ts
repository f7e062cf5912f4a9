/**
 * How deep a JSON text nests, found without parsing it: one pass over the characters, no allocation, so
 * a body of 64 KiB of `[` is refused after 65 characters instead of costing `JSON.parse` milliseconds of
 * event loop (PAR-06). Pure: no Fastify.
 */

const QUOTE = 0x22 // "
const BACKSLASH = 0x5c // \
const OPEN_ARRAY = 0x5b // [
const CLOSE_ARRAY = 0x5d // ]
const OPEN_OBJECT = 0x7b // {
const CLOSE_OBJECT = 0x7d // }

/**
 * True when `text` opens more than `maxDepth` arrays or objects inside one another; stops at the first
 * level over the limit. Brackets inside strings do not count, and a backslash in a string escapes the
 * character after it, so `"\""` and `"\\"` end where JSON says. Only ASCII characters matter, so any
 * other (multi-byte, surrogate pairs) is skipped. Invalid JSON is the parser's to refuse: this only says
 * whether parsing could go deeper than allowed (an unterminated string hides the rest; stray closers
 * lower the depth).
 */
export function exceedsJsonDepth (text: string, maxDepth: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === BACKSLASH) i++
      else if (code === QUOTE) inString = false
    } else if (code === QUOTE) {
      inString = true
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > maxDepth) return true
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
      depth--
    }
  }
  return false
}
