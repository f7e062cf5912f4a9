/**
 * `frameworkErrors`, the Fastify server option `serverOptions()` sets: Fastify's router errors whose own
 * message repeats the URL, a badly encoded URL (`/foo%`, 400 `FST_ERR_BAD_URL`) and a parameter over
 * `maxParamLength` (414 `FST_ERR_MAX_PARAM_LENGTH`), are answered with a message that does not, keeping
 * their code and status. The original is the `cause`, so the log line keeps it.
 *
 * Fastify answers these outside any route, with a reply whose error handler is its own default one
 * whatever `setErrorHandler` set later; so the error goes to `fastify.nexErrors.send` when nexErrors is
 * registered (HTML page, htmx fragment or JSON by request kind), else to that default handler (JSON).
 * Kept apart from the plugin so `createServer()` does not load @nex/routes.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { reasonOf, statusOf } from './lib/error-info.js'

/** What the router errors say instead of their own message. */
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'The URL is not correctly encoded',
  FST_ERR_MAX_PARAM_LENGTH: 'A part of the URL is too long'
}

/** The part of nexErrors' decorator used here (declared by error-handler.ts). */
interface WithNexErrors {
  nexErrors: { send (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> }
}

export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = statusOf(error)
  const message = (typeof error.code === 'string' ? FRAMEWORK_MESSAGES[error.code] : undefined) ?? reasonOf(statusCode)
  const safe = new Error(message, { cause: error }) as FastifyError
  safe.name = 'FastifyError'
  safe.code = error.code
  safe.statusCode = statusCode
  const server = request.server
  if (server.hasDecorator('nexErrors')) {
    // Never rejects: a failure while answering is logged and answered with a bare 500.
    (server as unknown as WithNexErrors).nexErrors.send(safe, request, reply)
    return
  }
  reply.send(safe)
}
