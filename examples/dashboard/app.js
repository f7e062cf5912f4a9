// Builds the energy dashboard on the nex preset: page state and the topics log (Redis when REDIS_URL is
// set, else memory), server-sent events, file routes from src/, security, static files, health, metrics
// and error pages; and the one producer that publishes a tick to the `energy` topic every second.
import { fileURLToPath } from 'node:url'
import { appSecret, createServer, nex } from 'nex'
import { createModuleLoader } from '@nex/routes'
import { redisFromEnv } from '@nex/redis'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

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
 * @param {import('nex').CreateAppOptions['server']} [server] options of the Fastify server
 * @param {Partial<import('nex').NexOptions>} [config] preset options over the defaults; `env` is where
 *   NODE_ENV, NEX_SECRET and REDIS_URL are read (default process.env). Without NEX_SECRET, production
 *   keeps a generated secret in .nex-secret.
 */
export async function build (server = {}, { env = process.env, ...preset } = {}) {
  const app = createServer(server)
  // The producer claims seconds in Redis, so the app opens the connection itself and hands it to the preset.
  const redis = await redisFromEnv({ env, onNotReady: (err) => app.log.warn(err.message) })
  if (redis !== null) app.addHook('onClose', () => redis.close())
  // Node 20 cannot import .ts files; the file routes' loader (jiti) can. Sharing it gives the pages and
  // the producer one copy of src/lib/energy.ts.
  const loader = createModuleLoader({ base: here('./src') })
  const energy = await loader.import(here('./src/lib/energy.ts'))
  await app.register(nex, { dir: here('.'), env, secret: appSecret(here('./.nex-secret'), env), redis, routes: { loader }, ...preset })
  produceTicks(app, energy, claimer(redis, env.REDIS_PREFIX ?? 'nex:'))
  return app
}
