/**
 * What every page store shares, so memory and Redis behave alike: the same JSON rule, the same byte
 * accounting against `maxPageBytes`, and the same per-page write queue.
 */
import { FST_NEX_STATE_NOT_JSON } from './errors.js'
import { byteLength, describeNonJson } from './lib/json.js'

/** Bytes a page costs beyond its keys and values (so many tiny pages still count). */
export const PAGE_OVERHEAD_BYTES = 64
/** Bytes each key costs beyond its name and JSON text (so many tiny keys still count). */
export const KEY_OVERHEAD_BYTES = 32

/** What an empty page costs. */
export function pageBaseBytes (pageId: string): number {
  return PAGE_OVERHEAD_BYTES + byteLength(pageId)
}

/** What one key costs: its name and its JSON text. */
export function entryBytes (key: string, json: string): number {
  return KEY_OVERHEAD_BYTES + byteLength(key) + byteLength(json)
}

/** The JSON text of a state value, or FST_NEX_STATE_NOT_JSON naming the key and what is wrong. */
export function encodeStateValue (key: string, value: unknown): string {
  const problem = describeNonJson(value)
  if (problem !== null) throw new FST_NEX_STATE_NOT_JSON(key, problem)
  return JSON.stringify(value)
}

export interface PageQueue {
  /**
   * Runs `op` after the writes already queued for the page; right away (synchronously) when none is in
   * flight, so an uncontended write costs no extra turn.
   */
  run<T> (pageId: string, op: () => T | Promise<T>): Promise<T>
  /** Pages with writes in flight; each entry is deleted when its chain drains, so the map stays bounded. */
  readonly size: number
}

export function createPageQueue (): PageQueue {
  const tails = new Map<string, Promise<unknown>>()
  return {
    run<T> (pageId: string, op: () => T | Promise<T>): Promise<T> {
      const tail = tails.get(pageId)
      let result: Promise<T>
      if (tail === undefined) {
        let value: T | Promise<T>
        try {
          value = op()
        } catch (err) {
          return Promise.reject(err)
        }
        if (!(value instanceof Promise)) return Promise.resolve(value)
        result = value
      } else {
        result = tail.then(op)
      }
      const settled = result.then(noop, noop)
      tails.set(pageId, settled)
      settled.then(() => {
        if (tails.get(pageId) === settled) tails.delete(pageId)
      }, noop)
      return result
    },
    get size () {
      return tails.size
    }
  }
}

function noop (): void {}
