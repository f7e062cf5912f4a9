/**
 * What page state accepts: values that survive `JSON.stringify` then `JSON.parse` unchanged. That is
 * null, booleans, finite numbers, strings, dense arrays, and objects whose prototype is `Object.prototype`
 * or null, without cycles. Everything JSON.stringify would silently drop or change is refused instead:
 * undefined (also as a property), functions, symbols, BigInt, NaN, ±Infinity, Dates, Maps, Sets, class
 * instances, boxed primitives, sparse arrays and symbol-keyed properties.
 */

interface Problem {
  what: string
  path: string
}

/**
 * Why `value` is not plain JSON, e.g. `a Date at .items[0].added`, or null when it is.
 * Shared by every store so they all refuse the same values.
 */
export function describeNonJson (value: unknown): string | null {
  let problem: Problem | null
  try {
    problem = walk(value, new Set())
  } catch (err) {
    if (err instanceof RangeError) return 'a value nested too deeply'
    throw err
  }
  if (problem === null) return null
  return problem.path === '' ? problem.what : `${problem.what} at ${problem.path}`
}

/** UTF-8 size of a string: what a page's keys and serialised values count against the byte limits. */
export function byteLength (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

// Paths are only built while unwinding from a problem, so valid values cost no string work.
function walk (value: unknown, ancestors: Set<object>): Problem | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null
    case 'number':
      return Number.isFinite(value) ? null : { what: String(value), path: '' }
    case 'undefined':
      return { what: 'undefined', path: '' }
    case 'object':
      if (value === null) return null
      break
    default:
      return { what: `a ${typeof value}`, path: '' }
  }

  if (ancestors.has(value)) return { what: 'a circular reference', path: '' }
  const prototype: unknown = Object.getPrototypeOf(value)

  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return { what: describeInstance(prototype), path: '' }
    ancestors.add(value)
    for (let i = 0; i < value.length; i++) {
      const problem = i in value ? walk(value[i], ancestors) : { what: 'a hole in a sparse array', path: '' }
      if (problem !== null) {
        problem.path = `[${i}]${problem.path}`
        return problem
      }
    }
    ancestors.delete(value)
    return null
  }

  if (prototype !== Object.prototype && prototype !== null) return { what: describeInstance(prototype), path: '' }
  if (Object.getOwnPropertySymbols(value).length > 0) return { what: 'a symbol-keyed property', path: '' }
  ancestors.add(value)
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const problem = walk(record[key], ancestors)
    if (problem !== null) {
      problem.path = `${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}${problem.path}`
      return problem
    }
  }
  ancestors.delete(value)
  return null
}

function describeInstance (prototype: unknown): string {
  const name: unknown = (prototype as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype'
}
