// Builds the auth app: cookies, page state and sessions (in Redis when REDIS_URL is set, else in memory),
// file routes from src/ with a login check on pages that ask for it, static files from public/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyStatic from '@fastify/static'
import nexState from '@nex/state'
import nexSession from '@nex/session'
import nexRoutes, { isHtmxRequest } from '@nex/routes'
import { redisFromEnv } from '@nex/redis'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/**
 * The app secret (page ids, session ids): NEX_SECRET when set. Without it, development uses a per-process
 * secret (the plugins warn), and this example keeps a generated one in .nex-secret so
 * `NODE_ENV=production npm start` works out of the box. Real deployments set NEX_SECRET (one value
 * shared by every process).
 */
function secret () {
  if (process.env.NEX_SECRET) return process.env.NEX_SECRET
  if (process.env.NODE_ENV !== 'production') return undefined
  const file = here('./.nex-secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 })
  return readFileSync(file, 'utf8').trim()
}

/**
 * Pages exporting `config = { auth: true }` are for logged-in users. Read once per route, at startup;
 * only those routes get the check.
 */
function requireLoginWhereAsked (route) {
  if (route.config?.auth !== true) return
  const own = route.preHandler
  route.preHandler = own === undefined ? [requireLogin] : [requireLogin, ...[own].flat()]
}

/** Anonymous: a flash, then /login (htmx requests by HX-Redirect, since htmx ignores headers on a 3xx). */
async function requireLogin (request, reply) {
  if (await request.session.get('user') !== undefined) return
  await request.session.flash('error', 'Please log in to access that page.')
  if (isHtmxRequest(request.headers)) return reply.header('hx-redirect', '/login').send()
  return reply.redirect('/login', 303)
}

/**
 * @param {import('fastify').FastifyServerOptions} [options]
 * @param {{ env?: NodeJS.ProcessEnv, pageStore?: import('@nex/state').PageStore, sessionStore?: import('@nex/state').PageStore }} [config]
 *   `env`: where REDIS_URL is read (default process.env). `pageStore`/`sessionStore`: stores to use
 *   instead (they stay yours to close); given both, REDIS_URL is not read.
 */
export async function build (options = {}, { env = process.env, pageStore, sessionStore } = {}) {
  const app = Fastify(options)
  const appSecret = secret()
  // REDIS_URL set: page state and sessions live in Redis, shared by every process; unset: in memory.
  const redis = pageStore !== undefined && sessionStore !== undefined
    ? null
    : await redisFromEnv({ env, onNotReady: (err) => app.log.warn(err.message) })
  if (redis !== null) app.addHook('onClose', () => redis.close())
  pageStore ??= redis?.pageStore
  sessionStore ??= redis?.sessionStore
  await app.register(fastifyCookie)
  await app.register(nexState, { secret: appSecret, ...(pageStore === undefined ? {} : { store: pageStore }) })
  await app.register(nexSession, { secret: appSecret, ...(sessionStore === undefined ? {} : { store: sessionStore }) })
  app.addHook('onRoute', requireLoginWhereAsked)
  await app.register(nexRoutes, { dir: here('./src') })
  await app.register(fastifyStatic, { root: here('./public'), dotfiles: 'ignore', index: false })
  return app
}
