/**
 * What the session tests share: an app with hand-written routes using `request.session` the way a login
 * flow does, a store wrapper that counts calls, and reading `Set-Cookie`.
 */
import type { Server } from 'node:https'
import type { Test } from 'tap'
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import nexSession, { type SessionOptions } from '../src/index.js'

export const SECRET = 'session-test-secret-that-is-long-enough-0123456789'
export const OTHER_SECRET = 'another-secret-that-is-also-long-enough-9876543210'
export const COOKIE = 'nex_session'
/** The flash cookie of a browser without a session. */
export const FLASH_COOKIE = 'nex_session_flash'

/** An app with routes using the session as a login flow would; closed by the teardown of `t`. */
export async function buildApp (
  t: Test,
  options: SessionOptions = {},
  { fastify = {}, routes }: { fastify?: FastifyServerOptions | FastifyHttpsOptions<Server>, routes?: (app: FastifyInstance) => void } = {}
): Promise<FastifyInstance> {
  // One code path for HTTP and HTTPS apps: the routes do not care which server runs them.
  const app = Fastify(fastify as FastifyServerOptions) as unknown as FastifyInstance
  await app.register(nexSession, { secret: SECRET, ...options })
  app.get('/read', async (request) => ({ id: request.session.id, data: await request.session.getAll() }))
  app.get('/page', async (request) => ({
    id: request.session.id,
    user: await request.session.get('user', null),
    flashes: await request.session.takeFlashes()
  }))
  // A route that never looks at the session (a stylesheet, a health check).
  app.get('/untouched', async () => ({ ok: true }))
  app.post('/set', async (request) => {
    const { key, value } = request.body as { key: string, value: never }
    await request.session.set(key, value)
    return { id: request.session.id }
  })
  app.post('/delete', async (request) => {
    await request.session.delete((request.body as { key: string }).key)
    return { id: request.session.id }
  })
  app.post('/login', async (request) => {
    await request.session.regenerate()
    await request.session.set('user', 'admin')
    return { id: request.session.id }
  })
  app.post('/logout', async (request, reply) => {
    await request.session.destroy()
    await request.session.flash('success', 'Logged out successfully.')
    return reply.redirect('/page', 303)
  })
  app.post('/destroy', async (request) => {
    await request.session.destroy()
    return { id: request.session.id }
  })
  app.post('/protected', async (request, reply) => {
    await request.session.flash('error', 'Please log in to access that page.')
    return reply.redirect('/page', 303)
  })
  app.post('/flash', async (request) => {
    const { type, message } = request.body as { type: string, message: string }
    await request.session.flash(type, message)
    return { id: request.session.id }
  })
  app.post('/increment', async (request) => ({
    n: await request.session.update('n', 0, async (n) => {
      await new Promise((resolve) => setImmediate(resolve))
      return n + 1
    })
  }))
  app.post('/increment-many', async (request) => {
    const count = (request.body as { count: number }).count
    const results = await Promise.all(Array.from({ length: count }, () => request.session.update('n', 0, async (n) => {
      await new Promise((resolve) => setImmediate(resolve))
      return n + 1
    })))
    return { results, n: await request.session.get('n') }
  })
  routes?.(app)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** The raw `Set-Cookie` header for `name` in a response, or undefined. */
export function setCookieOf (response: LightMyRequestResponse, name = COOKIE): string | undefined {
  const header = response.headers['set-cookie']
  const all = header === undefined ? [] : Array.isArray(header) ? header : [header]
  return all.find((cookie) => cookie.startsWith(`${name}=`))
}

/** True when the `Set-Cookie` of `name` deletes the cookie. */
export function clearsCookie (response: LightMyRequestResponse, name = COOKIE): boolean {
  const cookie = response.cookies.find((c) => c.name === name)
  return cookie !== undefined && cookie.value === '' && cookie.maxAge === 0
}

/** The value a response set for `name`, or undefined when it set none. */
export function cookieValue (response: LightMyRequestResponse, name = COOKIE): string | undefined {
  const cookie = response.cookies.find((c) => c.name === name)
  return cookie === undefined || cookie.value === '' ? undefined : cookie.value
}
