// Builds the chat app: page state and the topics log (Redis when REDIS_URL is set, else memory),
// server-sent events, file routes from src/ and static files from public/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import nexState from '@nex/state'
import nexSse from '@nex/sse'
import nexRoutes from '@nex/routes'
import { redisFromEnv } from '@nex/redis'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/**
 * The page-id secret: NEX_SECRET when set. Without it, development uses a per-process secret (the
 * plugin warns), and this example keeps a generated one in .nex-secret so `NODE_ENV=production npm start`
 * works out of the box. Real deployments set NEX_SECRET (one value shared by every process).
 */
function secret () {
  if (process.env.NEX_SECRET) return process.env.NEX_SECRET
  if (process.env.NODE_ENV !== 'production') return undefined
  const file = here('./.nex-secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 })
  return readFileSync(file, 'utf8').trim()
}

/**
 * @param {import('fastify').FastifyServerOptions} [options]
 * @param {{ env?: NodeJS.ProcessEnv }} [config] where REDIS_URL is read (default process.env)
 */
export async function build (options = {}, { env = process.env } = {}) {
  const app = Fastify(options)
  // REDIS_URL set: page state and the rooms' messages live in Redis, shared by every process (a message
  // posted to one process reaches the streams of all of them); unset: the in-memory defaults.
  const redis = await redisFromEnv({ env, onNotReady: (err) => app.log.warn(err.message) })
  if (redis !== null) app.addHook('onClose', () => redis.close())
  await app.register(nexState, { secret: secret(), store: redis?.pageStore })
  // Before @nex/routes: the room page's `stream` export needs `reply.sse`.
  await app.register(nexSse, { topics: redis?.events })
  await app.register(nexRoutes, { dir: here('./src') })
  await app.register(fastifyStatic, { root: here('./public'), dotfiles: 'ignore', index: false })
  return app
}
