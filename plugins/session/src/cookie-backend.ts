/**
 * The cookie backend: @fastify/secure-session keeps the session encrypted in the cookie (key derived from
 * the app secret), decodes it in its `onRequest` and encodes it in its `onSend` when it changed. No
 * server memory. This backend's own hooks run before secure-session's: `onRequest` turns the cookie value
 * back into secure-session's format; `onSend` slides a used session's expiry (re-issues the cookie when
 * it is older than a minute) and clears a cookie that is not a session of ours (did not decrypt, expired).
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import { CookieSession, ID_FIELD, SEALED_SESSION, type SealedRequest, type SealedSession } from './cookie-session.js'
import type { NormalizedSessionOptions } from './options.js'
import { deriveCookieKeys, fromCookieValue, toCookieValue } from './lib/sealed-cookie.js'
import { kSessionHandle } from './symbols.js'
import type { Backend } from './backend.js'

// Loaded without its types on purpose: they declare `request.session` as secure-session's own object,
// which clashes with ours. This plugin keeps secure-session's object under a private name instead.
const secureSession = createRequire(import.meta.url)('@fastify/secure-session') as FastifyPluginCallback<Record<string, unknown>>

/** Seconds after which a used session's cookie is re-issued, sliding its expiry. */
const REFRESH_AFTER_SECONDS = 60

export async function installCookieBackend (fastify: FastifyInstance, options: NormalizedSessionOptions, cookie: CookieSerializeOptions): Promise<Backend> {
  const { cookieName, ttl } = options
  // Short lifetimes (tests) still slide: re-issue after half of it.
  const refreshAfter = Math.min(REFRESH_AFTER_SECONDS, ttl / 2000)

  // Both hooks are added before secure-session registers its own, so they run first.
  fastify.addHook('onRequest', function restoreSeparator (request, _reply, done) {
    const cookies = request.cookies
    const value = cookies?.[cookieName]
    if (value !== undefined) cookies[cookieName] = fromCookieValue(value)
    done()
  })

  // secure-session's onSend then sends what this one leaves changed (re-issued) or deleted (cleared).
  fastify.addHook('onSend', function slideOrClearCookie (request, _reply, _payload, done) {
    const sealed = (request as SealedRequest)[SEALED_SESSION] ?? null
    if (sealed === null || sealed.changed) return done()
    if (typeof sealed.get(ID_FIELD) !== 'string') {
      // A cookie that did not decrypt (forged, another secret), expired or is not a session: anonymous, cleared.
      if (request.cookies?.[cookieName] !== undefined) sealed.delete()
    } else if ((request as SealedRequest & { [kSessionHandle]: unknown })[kSessionHandle] != null) {
      const issuedAt = sealed.get('__ts')
      if (typeof issuedAt !== 'number' || Date.now() / 1000 - issuedAt >= refreshAfter) sealed.touch()
    }
    done()
  })

  await fastify.register(secureSession, {
    sessionName: SEALED_SESSION,
    cookieName,
    key: deriveCookieKeys(options.secrets),
    // secure-session's expiry counts from the last write or touch, in seconds.
    expiry: ttl / 1000,
    cookie: { ...cookie, encode: toCookieValue }
  })
  const instance = fastify as FastifyInstance & { createSecureSession (data: Record<string, unknown>): SealedSession }
  const env = {
    cookieName,
    create: () => instance.createSecureSession({}),
    issue: () => randomBytes(16).toString('base64url')
  }

  return {
    store: null,
    open: (request, flashes) => new CookieSession(request, env, flashes)
  }
}
