// Builds the chat app on the nex preset: page state and the topics log (Redis when REDIS_URL is set,
// else memory: a message posted to one process then reaches the streams of all of them), server-sent
// events, file routes from src/, security, static files, health, metrics and error pages.
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
