/**
 * `Retry-After` on the 503s of Nex stores. A store outage is temporary, and the header tells browsers,
 * htmx code and balancers when to try again. Set in `onError`, so every error handler (the routes' error
 * pages, JSON, Fastify's default) sends it without knowing about stores.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

/** True for the "temporarily unavailable" errors Nex packages raise (stores, sessions, pub/sub). */
export function isNexUnavailable (error: unknown): boolean {
  const { statusCode, code } = error as Partial<FastifyError>
  return statusCode === 503 && typeof code === 'string' && code.startsWith('FST_NEX_')
}

/** An `onError` hook setting `Retry-After: <seconds>` on Nex 503s that have none yet. */
export function retryAfterHook (seconds: number) {
  const value = String(seconds)
  return function setRetryAfter (_request: FastifyRequest, reply: FastifyReply, error: FastifyError, done: () => void): void {
    if (isNexUnavailable(error) && !reply.hasHeader('retry-after')) reply.header('retry-after', value)
    done()
  }
}
