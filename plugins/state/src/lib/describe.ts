/**
 * How option errors show what they were given, shared by Nex plugins so every "got …" reads the same:
 * short, and never a whole secret or object dump.
 */

/** What every page store implements (what `store` options are checked for). */
export const PAGE_STORE_METHODS = ['get', 'getAll', 'set', 'update', 'delete', 'clear', 'touch', 'ping', 'close'] as const

/** A short description of a value for an error message. */
export function describeValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return `a ${typeof value}`
}

/** Null when `store` has every PageStore method; else what it is, for the "got …" part of an option error. */
export function describeNonPageStore (store: unknown): string | null {
  const missing = PAGE_STORE_METHODS.filter((name) => typeof (store as Record<string, unknown> | null)?.[name] !== 'function')
  if (typeof store === 'object' && store !== null) return missing.length === 0 ? null : `an object without ${missing.join(', ')}`
  return describeValue(store)
}
