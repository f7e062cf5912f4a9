/**
 * What this process last knew for sure about a page: its write token (`__v`) and some of its fields as
 * they were at that token. `update` uses it to send its compare-and-set straight away, with no read
 * first: one round trip per action. Knowledge is only ever exact for its token: if the page changed
 * since, the compare-and-set fails and returns the current token and value, and `update` redoes `fn`.
 *
 * Bounded (LRU by count and bytes); values over `MAX_CACHED_VALUE` characters are not kept.
 */
import { LRUCache } from 'lru-cache'

/** A field's JSON text, or null when the field is known to be absent. */
export type KnownValue = string | null

export interface KnownPage {
  readonly version: string
  readonly fields: Map<string, KnownValue>
}

export interface KnownPages {
  /** The token and the field's value, when both are known. */
  lookup (pageId: string, field: string): { version: string, value: KnownValue } | undefined
  /** The page is at `version` and `field` holds `value` (other fields unknown). */
  saw (pageId: string, version: string, field: string, value: KnownValue): void
  /** This process moved the page from `from` to `to` by writing `field`; keeps what is still exact. */
  wrote (pageId: string, from: string, to: string, field: string, value: KnownValue): void
  /** Forgets the page (after a write that did not check the token). */
  forget (pageId: string): void
}

const MAX_CACHED_VALUE = 4096
const ENTRY_OVERHEAD = 96

export function createKnownPages ({ maxPages, maxBytes }: { maxPages: number, maxBytes: number }): KnownPages {
  const pages = new LRUCache<string, KnownPage>({
    max: maxPages,
    maxSize: maxBytes,
    sizeCalculation: (page, pageId) => {
      let size = ENTRY_OVERHEAD + pageId.length + page.version.length
      for (const [field, value] of page.fields) size += field.length + (value?.length ?? 0)
      return size
    }
  })

  function store (pageId: string, version: string, fields: Map<string, KnownValue>): void {
    if (fields.size === 0) pages.delete(pageId)
    else pages.set(pageId, { version, fields })
  }

  const keepable = (value: KnownValue): boolean => value === null || value.length <= MAX_CACHED_VALUE

  return {
    lookup (pageId, field) {
      const page = pages.get(pageId)
      if (page === undefined || !page.fields.has(field)) return undefined
      return { version: page.version, value: page.fields.get(field) as KnownValue }
    },
    saw (pageId, version, field, value) {
      store(pageId, version, keepable(value) ? new Map([[field, value]]) : new Map())
    },
    wrote (pageId, from, to, field, value) {
      const page = pages.peek(pageId)
      // Only what was known at `from` is still exact at `to`: the write changed nothing else.
      const fields = page?.version === from ? new Map(page.fields) : new Map<string, KnownValue>()
      if (keepable(value)) fields.set(field, value)
      else fields.delete(field)
      store(pageId, to, fields)
    },
    forget (pageId) {
      pages.delete(pageId)
    }
  }
}
