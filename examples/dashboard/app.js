// Builds the energy dashboard: page state and the topics log (Redis when REDIS_URL is set, else memory),
// server-sent events, file routes from src/, static files from public/, and the one producer that
// publishes a tick to the `energy` topic every second.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import nexState from '@nex/state'
import nexSse from '@nex/sse'
import nexRoutes, { createModuleLoader } from '@nex/routes'
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
 * Who publishes a given second. One process: this one. Several on one Redis: they all follow the same
 * topic, so each second is claimed in Redis (SET NX) and only the process that got it publishes; every
 * stream gets one event per second whichever process it is connected to.
 * @param {import('@nex/redis').RedisBackends | null} redis
 * @param {string} prefix
 * @returns {(second: number) => Promise<boolean>}
 */
function claimer (redis, prefix) {
  if (redis === null) return async () => true
  return async (second) => await redis.client.set(`${prefix}dashboard:tick:${second}`, '1', 'PX', 10_000, 'NX') === 'OK'
}

/**
 * The one producer: a timer aligned to the wall-clock second publishes, for each second, one unnamed
 * event holding that second's reading (`tickMarkup`) to the `energy` topic. It starts when the app is
 * ready and stops before it closes (waiting for a publish under way), so `close()` leaves no timer.
 * @param {import('fastify').FastifyInstance} app
 * @param {typeof import('./src/lib/energy.ts')} energy
 * @param {(second: number) => Promise<boolean>} claim
 */
function produceTicks (app, energy, claim) {
  let timer = null
  let due = 0
  let publishing = Promise.resolve()
  let failing = false

  async function publish (second) {
    if (!await claim(second)) return
    await app.nexSse.publish(energy.ENERGY_TOPIC, energy.tickMarkup(energy.readingAt(second)))
  }

  function arm () {
    timer = setTimeout(fire, Math.max(0, due * 1000 - Date.now()))
  }

  function fire () {
    const second = due
    // A timer that fired late (a busy event loop) skips the seconds already past instead of bursting them.
    due = Math.max(due + 1, energy.secondOf(Date.now()) + 1)
    arm()
    publishing = publish(second).then(() => {
      if (failing) app.log.info('energy ticks are published again')
      failing = false
    }, (error) => {
      // Logged once per outage (e.g. Redis down), not every second.
      if (!failing) app.log.error({ err: error }, 'publishing an energy tick failed; retrying every second')
      failing = true
    })
  }

  app.addHook('onReady', async () => {
    due = energy.secondOf(Date.now()) + 1
    arm()
  })
  app.addHook('preClose', async () => {
    clearTimeout(timer)
    timer = null
    await publishing
  })
}

/**
 * @param {import('fastify').FastifyServerOptions} [options]
 * @param {{ env?: NodeJS.ProcessEnv }} [config] where REDIS_URL (and REDIS_PREFIX) is read (default process.env)
 */
export async function build (options = {}, { env = process.env } = {}) {
  const app = Fastify(options)
  // REDIS_URL set: page state and topics live in Redis, shared by every process; unset: in memory.
  const redis = await redisFromEnv({ env, onNotReady: (err) => app.log.warn(err.message) })
  if (redis !== null) app.addHook('onClose', () => redis.close())
  // Node 20 cannot import .ts files; the file routes' loader (jiti) can. Sharing it gives the pages and
  // the producer one copy of src/lib/energy.ts.
  const loader = createModuleLoader({ base: here('./src') })
  const energy = await loader.import(here('./src/lib/energy.ts'))
  await app.register(nexState, { secret: secret(), store: redis?.pageStore })
  // Before @nex/routes: src/api/energy-stream.ts exports a stream handler.
  await app.register(nexSse, { topics: redis?.events })
  await app.register(nexRoutes, { dir: here('./src'), loader })
  await app.register(fastifyStatic, { root: here('./public'), dotfiles: 'ignore', index: false })
  produceTicks(app, energy, claimer(redis, env.REDIS_PREFIX ?? 'nex:'))
  return app
}
