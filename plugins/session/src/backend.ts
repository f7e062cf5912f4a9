/** What the plugin needs from a backend (store or cookie) once its hooks are installed. */
import type { FastifyRequest } from 'fastify'
import type { PageStore } from '@nex/state'
import type { FlashJar } from './flash-cookie.js'
import type { Session } from './types.js'

export interface Backend {
  /** The session store (null for the cookie backend). */
  readonly store: PageStore | null
  /**
   * The request's session handle; called once per request, on first access of `request.session`.
   * `flashes` is the request's flash cookie, where flashes go while the request has no session.
   */
  open (request: FastifyRequest, flashes: FlashJar): Session
}
