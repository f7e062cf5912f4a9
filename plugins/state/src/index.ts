/**
 * @nex/state: page-scoped state for Fastify.
 *
 * Every full-page render gets a page id (random, HMAC-signed with the app secret). The browser sends it
 * back on htmx requests (header `x-nex-page-id`) or plain form posts (field `_nex_page`), and handlers
 * read and write JSON state for that page through `request.pageState`.
 *
 * Hooks:
 * - `onRequest`: verifies a carried header id; an id this server never issued gets 410 + `HX-Refresh`
 *   before anything is looked up or allocated. Navigations (GETs rendering a whole page) ignore the id.
 * - `onRoute`: adds a `preValidation` check of the form field (urlencoded/multipart bodies, parsed by
 *   then) to every POST/PUT/PATCH/DELETE route registered after this plugin — register it first.
 * - `onError`: `Retry-After` on the 503 of an unavailable store.
 * - `onResponse`: slides the carried page's TTL with one `touch`, unless a write already did; for a
 *   request of a session (`sessionOf`), counts the page it carried or wrote against the session's
 *   `maxPagesPerSession` (`store.claim`), which drops the state of the session's least recently used pages.
 *
 * Decorators: `fastify.nexState`; `request.carriedPageId`, `request.pageState`, `request.pageId`,
 * `request.startPage()`.
 *
 * Wrapped in fastify-plugin so the decorators and hooks reach every route of the app, not only routes
 * registered inside this plugin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { normalizeOptions, type StateOptions } from './options.js'
import { FST_NEX_STATE_ALREADY_REGISTERED, FST_NEX_STATE_INVALID_PAGE_ID } from './errors.js'
import { kCarriedPageId, kCarriedPageWritten, kNewPageWritten, kPageHandle } from './symbols.js'
import { createPageIdSigner } from './lib/page-id.js'
import { createMemoryStore } from './memory-store.js'
import { retryAfterHook } from './lib/retry-after.js'
import { PageHandle } from './page-handle.js'
import type { PageState, PageStore } from './types.js'

/** What `fastify.nexState` offers code outside a request (SSE routes, jobs, other plugins). */
export interface NexState {
  /** The store page state lives in. */
  readonly store: PageStore
  /** Request header carrying the page id (lower-case). */
  readonly header: string
  /** Form field carrying the page id on plain form posts. */
  readonly field: string
  /** A fresh signed page id. */
  issuePageId (): string
  /** True when this server issued `id`. */
  verifyPageId (id: string): boolean
  /** The state handle of a page id; throws FST_NEX_STATE_INVALID_PAGE_ID (410) for ids it did not issue. */
  handle (pageId: string): PageState
}

declare module 'fastify' {
  interface FastifyInstance {
    nexState: NexState
  }
  interface FastifyRequest {
    /** The verified page id the request carried (header, else form field), or null. */
    readonly carriedPageId: string | null
    /** The current page's state: the carried page, or a new page issued on first access. */
    readonly pageState: PageState
    /** The current page's id, or null while none was carried, started or issued. */
    readonly pageId: string | null
    /** Starts a new page (new id) and makes it current. Call it on every full-page render. */
    startPage (): PageState
  }
}

interface StateRequest extends FastifyRequest {
  [kCarriedPageId]: string | null
  [kPageHandle]: PageHandle | null
  [kCarriedPageWritten]: boolean
  [kNewPageWritten]: string | null
}

async function plugin (fastify: FastifyInstance, options: StateOptions): Promise<void> {
  const { secrets, secretGenerated, store: userStore, memory, header, field, retryAfter, maxPagesPerSession, sessionOf } = normalizeOptions(options)

  if (fastify.hasDecorator('nexState') || fastify.hasRequestDecorator('pageState')) {
    throw new FST_NEX_STATE_ALREADY_REGISTERED()
  }
  if (secretGenerated) {
    fastify.log.warn('@nex/state: no secret configured (option "secret" or NEX_SECRET); using a random ' +
      'per-process secret, so page ids will not survive a restart or work across processes')
  }

  const signer = createPageIdSigner(secrets)
  const store = userStore ?? createMemoryStore(memory)
  // Only a store the plugin created is the plugin's to close.
  if (userStore === null) fastify.addHook('onClose', async () => store.close())
  const capPerSession = maxPagesPerSession > 0 && typeof store.claim === 'function'
  if (maxPagesPerSession > 0 && !capPerSession) {
    fastify.log.warn('@nex/state: the page store has no claim(): maxPagesPerSession is not enforced')
  }

  fastify.decorate('nexState', Object.freeze({
    store,
    header,
    field,
    issuePageId: () => signer.issue(),
    verifyPageId: (id: string) => signer.verify(id),
    handle (pageId: string): PageState {
      if (!signer.verify(pageId)) throw new FST_NEX_STATE_INVALID_PAGE_ID()
      return new PageHandle(pageId, store)
    }
  }))

  fastify.decorateRequest(kCarriedPageId, null)
  fastify.decorateRequest(kPageHandle, null)
  fastify.decorateRequest(kCarriedPageWritten, false)
  fastify.decorateRequest(kNewPageWritten, null)
  fastify.decorateRequest('carriedPageId', {
    getter (this: FastifyRequest) {
      return (this as StateRequest)[kCarriedPageId]
    }
  })
  fastify.decorateRequest('pageState', {
    getter (this: FastifyRequest): PageState {
      const request = this as StateRequest
      if (request[kPageHandle] !== null) return request[kPageHandle]
      const carried = request[kCarriedPageId]
      request[kPageHandle] = carried === null
        ? newPage(request)
        : new PageHandle(carried, store, () => { request[kCarriedPageWritten] = true })
      return request[kPageHandle]
    }
  })
  fastify.decorateRequest('pageId', {
    getter (this: FastifyRequest) {
      const request = this as StateRequest
      return request[kPageHandle]?.id ?? request[kCarriedPageId]
    }
  })
  fastify.decorateRequest('startPage', function (this: FastifyRequest): PageState {
    const handle = newPage(this as StateRequest)
    ;(this as StateRequest)[kPageHandle] = handle
    return handle
  })

  /** A page with a new id; its first write marks it as this request's new page (to count per session). */
  function newPage (request: StateRequest): PageHandle {
    const id = signer.issue()
    return new PageHandle(id, store, capPerSession ? () => { request[kNewPageWritten] = id } : null)
  }

  function refuse (reply: FastifyReply, done: HookHandlerDoneFunction): void {
    reply.header('hx-refresh', 'true')
    done(new FST_NEX_STATE_INVALID_PAGE_ID())
  }

  fastify.addHook('onRequest', function verifyHeader (request, reply, done) {
    const id = request.headers[header]
    // An empty header means "no page" (e.g. a page rendered without state), not a forged id. A navigation
    // (boosted link, history restore) carries the page being left: it renders a new page, so its old id
    // is neither checked nor kept alive — a stale one must not turn the navigation into a reload.
    if (id === undefined || id === '' || isNavigation(request)) return done()
    if (typeof id !== 'string' || !signer.verify(id)) return refuse(reply, done)
    ;(request as StateRequest)[kCarriedPageId] = id
    done()
  })

  // The form field can only come with a body: checked on routes that take one, not on every GET.
  fastify.addHook('onRoute', function addFieldCheck (route) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some(method => BODY_METHODS.has(method))) return
    const own = route.preValidation
    route.preValidation = own === undefined ? [verifyField] : [verifyField, ...(Array.isArray(own) ? own : [own])]
  })

  function verifyField (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const body = request.body
    if ((request as StateRequest)[kCarriedPageId] !== null || typeof body !== 'object' || body === null ||
      Array.isArray(body) || !isFormBody(request.headers['content-type'])) return done()
    const value = fieldValue((body as Record<string, unknown>)[field])
    if (value === undefined) return done()
    if (value === null || !signer.verify(value)) return refuse(reply, done)
    ;(request as StateRequest)[kCarriedPageId] = value
    done()
  }

  fastify.addHook('onError', retryAfterHook(retryAfter))

  fastify.addHook('onResponse', function touchPage (request, _reply, done) {
    const req = request as StateRequest
    const id = req[kCarriedPageId]
    if (id !== null && !req[kCarriedPageWritten]) {
      store.touch(id).catch((err: unknown) => request.log.warn({ err }, '@nex/state: could not refresh the page TTL'))
    }
    // A page counts against its session once it holds state: when written, and on every later use.
    const used = id ?? req[kNewPageWritten]
    if (capPerSession && used !== null) claimForSession(request, used)
    done()
  })

  function claimForSession (request: FastifyRequest, pageId: string): void {
    let owner: string | null | undefined
    try {
      owner = sessionOf(request)
    } catch (err) {
      request.log.warn({ err }, '@nex/state: sessionOf() threw; the page is not counted against a session')
      return
    }
    if (typeof owner !== 'string' || owner === '') return
    store.claim?.(pageId, owner, maxPagesPerSession)
      .catch((err: unknown) => request.log.warn({ err }, '@nex/state: could not count the page against its session'))
  }
}

/** A GET or HEAD that renders a whole page: not htmx, or htmx replacing the body (boost, history, full). */
function isNavigation (request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const headers = request.headers
  return headers['hx-request'] !== 'true' || headers['hx-boosted'] === 'true' ||
    headers['hx-history-restore-request'] === 'true' || headers['hx-request-type'] === 'full'
}

const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function isFormBody (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const type = contentType.toLowerCase()
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')
}

/**
 * The page id from a form field: a string (urlencoded, multipart `keyValues`) or `{ value }`
 * (multipart `attachFieldsToBody: true`). undefined when absent, null when present but malformed.
 */
function fieldValue (raw: unknown): string | null | undefined {
  if (raw === undefined) return undefined
  if (typeof raw === 'string') return raw
  const value = (raw as { value?: unknown } | null)?.value
  return typeof value === 'string' ? value : null
}

export const nexState = fp(plugin, { fastify: '5.x', name: '@nex/state' })
export default nexState

export type { JsonValue, PageState, PageStore, UpdateRetryStats, Widen } from './types.js'
export type { MemoryStoreOptions, StateOptions } from './options.js'
export { DEFAULTS, resolveSecrets } from './options.js'
export { createMemoryStore, type MemoryStore } from './memory-store.js'
export { createPageIdSigner, PAGE_ID_LENGTH, type PageIdSigner } from './lib/page-id.js'
export { describeNonJson } from './lib/json.js'
export { describeNonPageStore, describeValue, PAGE_STORE_METHODS } from './lib/describe.js'
export { isNexUnavailable, retryAfterHook } from './lib/retry-after.js'
export { createPageQueue, encodeStateValue, entryBytes, pageBaseBytes, KEY_OVERHEAD_BYTES, PAGE_OVERHEAD_BYTES, type PageQueue } from './store-kit.js'
export * as errors from './errors.js'
