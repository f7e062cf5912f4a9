/**
 * A page store that delegates to a real one and counts the calls, to see how many store operations a
 * request costs (e.g. "an anonymous request costs none", "one touch per request").
 */
import type { PageStore } from '@nex/state'

export interface CountingStore {
  /** The store to hand to the plugin. */
  readonly store: PageStore
  /** Calls per method name so far. */
  readonly calls: Record<string, number>
  /** All calls so far. */
  total (): number
}

export function countingStore (inner: PageStore): CountingStore {
  const calls: Record<string, number> = {}
  const count = (name: string): void => { calls[name] = (calls[name] ?? 0) + 1 }
  const store: PageStore = {
    get: async (...args) => { count('get'); return inner.get(...args) },
    getAll: async (...args) => { count('getAll'); return inner.getAll(...args) },
    set: async (...args) => { count('set'); return inner.set(...args) },
    update: async (...args) => { count('update'); return inner.update(...args) },
    delete: async (...args) => { count('delete'); return inner.delete(...args) },
    clear: async (...args) => { count('clear'); return inner.clear(...args) },
    touch: async (...args) => { count('touch'); return inner.touch(...args) },
    ping: async () => { count('ping'); return inner.ping() },
    close: async () => { count('close'); return inner.close() }
  }
  return { store, calls, total: () => Object.values(calls).reduce((sum, n) => sum + n, 0) }
}
