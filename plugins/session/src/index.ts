/**
 * @nex/session: per-browser sessions and flash messages for Fastify.
 *
 * Backend `'store'` (default): the cookie holds a signed session id (HMAC with the app secret, its own
 * purpose, so a page id is never a session id); the data is a "page" of a `PageStore` — a memory store
 * the plugin creates, or the one you pass (`createRedisStore({ client, namespace: 'session' })`) — so a
 * session gets the store's atomic `update`, sliding TTL, byte limits and fail-fast 503s. Backend
 * `'cookie'`: the data itself, encrypted in the cookie (@fastify/secure-session), no server memory.
 *
 * Anonymous requests cost nothing: no store call, no cookie, until the first write creates the session.
 * A flash without a session is no such write: it travels in its own signed 60-second cookie
 * (`<cookieName>_flash`), so anonymous redirects with a message never grow the store (MEM-04).
 *
 * Hooks: `onSend` sends or clears the flash cookie; added by the backend, `onSend` sends or clears the
 * session cookie and `onResponse` (store) slides the TTL of a session the request used without writing,
 * with one `touch`. Registers @fastify/cookie unless it is registered already.
 *
 * Decorators: `fastify.nexSession`; `request.session`.
 *
 * Wrapped in fastify-plugin so the decorators and hooks reach every route of the app.
 */
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fp from 'fastify-plugin'
import { retryAfterHook, type PageStore } from '@nex/state'
import { normalizeOptions, type SessionBackend, type SessionOptions } from './options.js'
import { FST_NEX_SESSION_ALREADY_REGISTERED } from './errors.js'
import { kSessionHandle } from './symbols.js'
import { installStoreBackend } from './store-backend.js'
import { installCookieBackend } from './cookie-backend.js'
import { installFlashCookie } from './flash-cookie.js'
import type { Session } from './types.js'

/** What `fastify.nexSession` offers outside a request (readiness checks, tests, admin tools). */
export interface NexSession {
  readonly backend: SessionBackend
  /** The session store (null with backend `'cookie'`). */
  readonly store: PageStore | null
  readonly cookieName: string
}

declare module 'fastify' {
  interface FastifyInstance {
    nexSession: NexSession
  }
  interface FastifyRequest {
    /** The browser's session: created on first access, anonymous until something is written. */
    readonly session: Session
  }
}

interface SessionRequest extends FastifyRequest {
  [kSessionHandle]: Session | null
}

async function plugin (fastify: FastifyInstance, options: SessionOptions): Promise<void> {
  const normalized = normalizeOptions(options)
  const { backend, cookieName, secure, maxAge } = normalized

  if (fastify.hasDecorator('nexSession') || fastify.hasRequestDecorator('session')) {
    throw new FST_NEX_SESSION_ALREADY_REGISTERED()
  }
  if (normalized.secretGenerated) {
    fastify.log.warn('@nex/session: no secret configured (option "secret" or NEX_SECRET); using a random ' +
      'per-process secret, so sessions will not survive a restart or work across processes')
  }
  if (!fastify.hasPlugin('@fastify/cookie')) await fastify.register(fastifyCookie)

  // `secure: 'auto'` is resolved by @fastify/cookie per response, from `request.protocol`.
  const cookie: CookieSerializeOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure,
    ...(maxAge === undefined ? {} : { maxAge: Math.ceil(maxAge / 1000) })
  }
  const flashJar = installFlashCookie(fastify, normalized, cookie)
  const installed = backend === 'store'
    ? installStoreBackend(fastify, normalized, cookie)
    : await installCookieBackend(fastify, normalized, cookie)

  // A session store outage is a 503 like a page-store one; also when @nex/state is not registered (if
  // it is, whichever hook runs first sets the header and the other leaves it).
  fastify.addHook('onError', retryAfterHook(1))

  fastify.decorate('nexSession', Object.freeze({ backend, store: installed.store, cookieName }))
  fastify.decorateRequest(kSessionHandle, null)
  fastify.decorateRequest('session', {
    getter (this: FastifyRequest): Session {
      const request = this as SessionRequest
      request[kSessionHandle] ??= installed.open(request, flashJar(request))
      return request[kSessionHandle]
    }
  })
}

export const nexSession = fp(plugin, { fastify: '5.x', name: '@nex/session' })
export default nexSession

export type { Flashes, Session } from './types.js'
export type { SessionBackend, SessionOptions } from './options.js'
export { DEFAULTS } from './options.js'
export { FLASH_KEY, RESERVED_PREFIX } from './lib/flash.js'
export { COOKIE_LIMIT } from './lib/sealed-cookie.js'
export { FLASH_COOKIE_LIMIT, FLASH_COOKIE_MAX_AGE } from './lib/flash-cookie.js'
export * as errors from './errors.js'
