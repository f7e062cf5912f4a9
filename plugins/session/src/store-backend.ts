/**
 * The store backend's hooks: the cookie carries a signed session id; the data is a page of a
 * `PageStore`. A cookie whose id fails verification is ignored (and cleared) before any store lookup.
 *
 * - `onSend`: sends the cookie when the session got a new id (first write, `regenerate`), clears it when
 *   the session was destroyed or the cookie was not ours.
 * - `onResponse`: slides the TTL of a session the request used but did not write, with one `touch`.
 */
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createMemoryStore, createPageIdSigner, type PageStore } from '@nex/state'
import type { NormalizedSessionOptions } from './options.js'
import { StoreSession } from './store-session.js'
import { kCookieInfo, kSessionHandle, kSessionWrote } from './symbols.js'
import type { Backend } from './backend.js'

/** What the request's cookie said: whether there was one, and its id when that verified. */
interface CookieInfo {
  readonly present: boolean
  readonly id: string | null
}

const NO_COOKIE: CookieInfo = Object.freeze({ present: false, id: null })

interface StoreRequest extends FastifyRequest {
  [kCookieInfo]: CookieInfo | null
  [kSessionHandle]: StoreSession | null
  [kSessionWrote]: boolean
}

export function installStoreBackend (fastify: FastifyInstance, options: NormalizedSessionOptions, cookie: CookieSerializeOptions): Backend {
  const { cookieName } = options
  const signer = createPageIdSigner(options.secrets, 'session-id')
  const issue = (): string => signer.issue()
  const store: PageStore = options.store ?? createMemoryStore({
    ttl: options.ttl,
    maxPages: options.maxSessions,
    maxPageBytes: options.maxSessionBytes,
    maxBytes: options.maxBytes
  })
  // Only a store the plugin created is the plugin's to close.
  if (options.store === null) fastify.addHook('onClose', async () => store.close())

  fastify.decorateRequest(kCookieInfo, null)
  fastify.decorateRequest(kSessionWrote, false)

  /** Reads and verifies the cookie once per request; an HMAC at most, never a store call. */
  function cookieInfo (request: StoreRequest): CookieInfo {
    if (request[kCookieInfo] != null) return request[kCookieInfo]
    // `request.cookies` is null until @fastify/cookie's onRequest ran (a hook added before it may ask).
    const header = request.headers.cookie
    const cookies = request.cookies ?? (header === undefined ? {} : fastify.parseCookie(header))
    const value = cookies[cookieName]
    request[kCookieInfo] = value === undefined ? NO_COOKIE : { present: true, id: signer.verify(value) ? value : null }
    return request[kCookieInfo]
  }

  fastify.addHook('onSend', function sendSessionCookie (request, reply, _payload, done) {
    const info = cookieInfo(request as StoreRequest)
    // `?? null`: a route context created before this plugin lacks its request decorators (undefined).
    const handle = (request as StoreRequest)[kSessionHandle] ?? null
    const id = handle === null ? info.id : handle.id
    if (id !== null && id !== info.id) reply.setCookie(cookieName, id, cookie)
    else if (id === null && info.present) reply.clearCookie(cookieName, cookie)
    done()
  })

  fastify.addHook('onResponse', function touchSession (request, _reply, done) {
    const { [kSessionHandle]: handle, [kCookieInfo]: info, [kSessionWrote]: wrote } = request as StoreRequest
    // Only a session the request used: a stylesheet or favicon request carrying the cookie is no activity
    // worth a store round trip.
    if (handle != null && info != null && info.id !== null && handle.id === info.id && wrote !== true) {
      store.touch(info.id).catch((err: unknown) => request.log.warn({ err }, '@nex/session: could not refresh the session TTL'))
    }
    done()
  })

  return {
    store,
    open (request, flashes) {
      const req = request as StoreRequest
      return new StoreSession(store, cookieInfo(req).id, { issue, flashes, onWrite: () => { req[kSessionWrote] = true } })
    }
  }
}
