// Builds the auth app on the nex preset: page state and sessions (in Redis when REDIS_URL is set, else
// in memory), file routes from src/ with a login check on pages that ask for it, security (CSRF, rate
// limits: the login action is marked login-like), static files, health, metrics and error pages.
import { fileURLToPath } from 'node:url'
import { appSecret, createServer, nex } from 'nex'
import { isHtmxRequest } from '@nex/routes'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/**
 * Pages exporting `config = { auth: true }` are for logged-in users. Read once per route, at startup;
 * only those routes get the check.
 */
export function requireLoginWhereAsked (route) {
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
 * @param {import('nex').CreateAppOptions['server']} [server] options of the Fastify server
 * @param {Partial<import('nex').NexOptions> & { pageStore?: import('@nex/state').PageStore, sessionStore?: import('@nex/state').PageStore }} [config]
 *   preset options over the defaults; `env`: where NODE_ENV, NEX_SECRET and REDIS_URL are read (default
 *   process.env). `pageStore`/`sessionStore`: stores to use instead (they stay yours to close); given
 *   both, REDIS_URL is not read.
 */
export async function build (server = {}, { env = process.env, pageStore, sessionStore, ...preset } = {}) {
  const app = createServer(server)
  // Before the preset registers the file routes, so the hook sees them.
  app.addHook('onRoute', requireLoginWhereAsked)
  const given = pageStore !== undefined && sessionStore !== undefined
  await app.register(nex, {
    dir: here('.'),
    env,
    secret: appSecret(here('./.nex-secret'), env),
    ...(given ? { redis: null, state: { store: pageStore }, session: { store: sessionStore } } : {}),
    ...preset
  })
  return app
}
