// Builds the todo app on the nex preset: hardened server, security (CSP nonces, CSRF, rate limits), page
// state (Redis when REDIS_URL is set, else memory), sessions, file routes from src/, static files from
// public/, health, metrics and the app-wide error pages.
import { fileURLToPath } from 'node:url'
import { appSecret, createApp } from 'nex'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/**
 * @param {import('nex').CreateAppOptions['server']} [server] options of the Fastify server
 * @param {Partial<import('nex').NexOptions>} [config] preset options over the defaults; `env` is where
 *   NODE_ENV, NEX_SECRET and REDIS_URL are read (default process.env). Without NEX_SECRET, production
 *   keeps a generated secret in .nex-secret.
 */
export async function build (server = {}, { env = process.env, ...preset } = {}) {
  return await createApp({ dir: here('.'), env, secret: appSecret(here('./.nex-secret'), env), server, ...preset })
}
