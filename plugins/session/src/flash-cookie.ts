/**
 * Flash messages of a browser without a session travel in their own signed cookie (`<cookieName>_flash`,
 * 60 s, at most 2 KiB; see lib/flash-cookie.ts), so flashing stores nothing on the server and an
 * anonymous "please log in" or "wrong password" never creates a session (MEM-04). Both backends use it
 * the same way: `flash()` writes here while the request has no session, `takeFlashes()` always reads
 * (and clears) it along with the session's own flashes.
 *
 * Hook: `onSend` sends the cookie when the request changed it (added to, or took it) and clears one that
 * is not ours (tampered, another secret, expired).
 */
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { NormalizedSessionOptions } from './options.js'
import { appendFlash, hasFlashes } from './lib/flash.js'
import { createFlashCookieCodec, FLASH_COOKIE_MAX_AGE, flashCookieName, type FlashCookieCodec } from './lib/flash-cookie.js'
import { kFlashJar } from './symbols.js'
import type { Flashes } from './types.js'

interface FlashEnv {
  readonly name: string
  readonly codec: FlashCookieCodec
  readonly cookie: CookieSerializeOptions
}

/** What the response's flash cookie becomes: `value` (null: cleared) holding `flashes`. */
interface Outgoing {
  readonly value: string | null
  readonly flashes: Flashes
}

/** One request's flash cookie: decoded on first use, changed in memory, written by the `onSend` hook. */
export class FlashJar {
  readonly #env: FlashEnv
  /** The cookie value the request carried. */
  readonly #carried: string | undefined
  /** What it held: undefined until decoded, null when absent or not ours. */
  #incoming: Flashes | null | undefined
  /** What the response sends; null while the request changed nothing. */
  #outgoing: Outgoing | null = null

  constructor (env: FlashEnv, carried: string | undefined) {
    this.#env = env
    this.#carried = carried
    this.#incoming = carried === undefined ? null : undefined
  }

  /** Adds a message (checked by the caller); the oldest ones make room when the cookie would be too big. */
  add (type: string, message: string): void {
    const { name, codec } = this.#env
    this.#outgoing = codec.encode(name, appendFlash(this.#current(), type, message), { type, message }, Date.now())
  }

  /** The waiting messages; the response clears the cookie when there were any. */
  take (): Flashes {
    const flashes = this.#current()
    if (hasFlashes(flashes)) this.#outgoing = { value: null, flashes: {} }
    return flashes
  }

  send (reply: FastifyReply): void {
    const { name, cookie } = this.#env
    const outgoing = this.#outgoing
    if (outgoing !== null && outgoing.value !== null) {
      reply.setCookie(name, outgoing.value, { ...cookie, maxAge: FLASH_COOKIE_MAX_AGE })
    } else if (this.#carried !== undefined && (outgoing !== null || this.#read() === null)) {
      reply.clearCookie(name, cookie)
    }
  }

  #current (): Flashes {
    return this.#outgoing?.flashes ?? this.#read() ?? {}
  }

  #read (): Flashes | null {
    if (this.#incoming === undefined) this.#incoming = this.#env.codec.decode(this.#carried as string, Date.now())
    return this.#incoming
  }
}

interface FlashRequest extends FastifyRequest {
  [kFlashJar]: FlashJar | null
}

/** Installs the flash cookie's `onSend` hook; returns the request's jar (one per request). */
export function installFlashCookie (
  fastify: FastifyInstance,
  options: NormalizedSessionOptions,
  cookie: CookieSerializeOptions
): (request: FastifyRequest) => FlashJar {
  const env: FlashEnv = { name: flashCookieName(options.cookieName), codec: createFlashCookieCodec(options.secrets), cookie }

  // `request.cookies` is null until @fastify/cookie's onRequest ran (a hook added before it may ask).
  const carried = (request: FastifyRequest): string | undefined => {
    const header = request.headers.cookie
    return (request.cookies ?? (header === undefined ? {} : fastify.parseCookie(header)))[env.name]
  }

  fastify.decorateRequest(kFlashJar, null)

  fastify.addHook('onSend', function sendFlashCookie (request, reply, _payload, done) {
    // `?? null`: a route context created before this plugin lacks its request decorators (undefined).
    const jar = (request as FlashRequest)[kFlashJar] ?? null
    if (jar !== null) jar.send(reply)
    else {
      // Not used by this request: only a cookie that is not ours is answered (cleared).
      const value = carried(request)
      if (value !== undefined) new FlashJar(env, value).send(reply)
    }
    done()
  })

  return (request) => {
    const req = request as FlashRequest
    req[kFlashJar] ??= new FlashJar(env, carried(request))
    return req[kFlashJar]
  }
}
