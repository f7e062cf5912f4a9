/**
 * Messages travel as JSON text, so every subscriber (in any process) gets its own copy of exactly what was
 * sent. Only values that survive `JSON.stringify` then `JSON.parse` unchanged are accepted: null, booleans,
 * finite numbers, strings, dense arrays, and objects whose prototype is `Object.prototype` or null, without
 * cycles. What JSON.stringify would silently drop or change is refused: undefined (also as a property),
 * functions, symbols, BigInt, NaN, ±Infinity, Dates, Maps, Sets, class instances, boxed primitives,
 * `toJSON` methods, sparse arrays and symbol-keyed properties.
 *
 * The check runs inside the one `JSON.stringify` call that encodes the message (a replacer sees every
 * value's holder, so it can look at the value before `toJSON` changed it): valid messages cost one pass.
 */
import { FST_NEX_PUBSUB_NOT_JSON } from '../errors.js'

/** Why a value is refused; thrown from the replacer to stop the walk at the first problem. */
class NotJson {
  constructor (readonly what: string) {}
}

/** The JSON text of `message`, or FST_NEX_PUBSUB_NOT_JSON naming the topic and what is wrong. */
export function encodeMessage (topic: string, message: unknown): string {
  try {
    // With the replacer refusing undefined, functions and symbols, the result is always a string.
    return JSON.stringify(message, check) as string
  } catch (err) {
    if (err instanceof NotJson) throw new FST_NEX_PUBSUB_NOT_JSON(topic, err.what)
    if (err instanceof RangeError) throw new FST_NEX_PUBSUB_NOT_JSON(topic, 'a value nested too deeply')
    if (err instanceof TypeError && /circular/i.test(err.message)) throw new FST_NEX_PUBSUB_NOT_JSON(topic, 'a circular reference')
    // A getter threw while being read: the caller's own error.
    throw err
  }
}

function check (this: unknown, key: string, value: unknown): unknown {
  const holder = this as Record<string, unknown>
  const problem = describe(holder, key)
  if (problem !== null) throw new NotJson(key === '' ? problem : `${problem} at ${Array.isArray(holder) ? `[${key}]` : JSON.stringify(key)}`)
  return value
}

/** What is wrong with `holder[key]` itself (its children get their own call), or null. */
function describe (holder: Record<string, unknown>, key: string): string | null {
  if (!Object.hasOwn(holder, key)) return 'a hole in a sparse array'
  const raw = holder[key]
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return null
    case 'number':
      return Number.isFinite(raw) ? null : String(raw)
    case 'undefined':
      return 'undefined'
    case 'object':
      if (raw === null) return null
      break
    default:
      return `a ${typeof raw}`
  }
  const prototype: unknown = Object.getPrototypeOf(raw)
  if (Array.isArray(raw) ? prototype !== Array.prototype : prototype !== Object.prototype && prototype !== null) {
    return describeInstance(prototype)
  }
  if (typeof (raw as { toJSON?: unknown }).toJSON === 'function') return 'an object with a toJSON method'
  if (Object.getOwnPropertySymbols(raw).length > 0) return 'a symbol-keyed property'
  return null
}

function describeInstance (prototype: unknown): string {
  const name: unknown = (prototype as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype'
}
