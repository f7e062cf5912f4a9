// The counter example with its page store chosen by the benchmark: the example's routes
// (examples/counter/src) and plugins registered as examples/counter/app.js does, logger off, and
// BENCH_STORE = 'memory' (the @nex/state default store) or 'redis' (`createRedisStore({ url })` from
// @nex/redis, on BENCH_REDIS_URL). Both sides of counter-increment-redis.js run this module, so the
// store is the only difference between them. The page-id secret comes from NEX_SECRET.
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import { createRedisStore } from '@nex/redis'

const example = (path) => fileURLToPath(new URL(`../../examples/counter/${path}`, import.meta.url))

export async function create () {
  const kind = process.env.BENCH_STORE
  if (kind !== 'memory' && kind !== 'redis') throw new Error(`BENCH_STORE must be "memory" or "redis", got ${JSON.stringify(kind)}`)
  const url = process.env.BENCH_REDIS_URL
  if (kind === 'redis' && !url) throw new Error('BENCH_STORE=redis needs BENCH_REDIS_URL')

  const app = Fastify({ logger: false })
  const stateOptions = { secret: process.env.NEX_SECRET }
  if (kind === 'redis') {
    const store = createRedisStore({ url })
    // A store passed in is ours to close, after the app stops answering.
    app.addHook('onClose', async () => store.close())
    stateOptions.store = store
  }
  await app.register(nexState, stateOptions)
  await app.register(nexRoutes, { dir: example('src') })
  await app.register(fastifyStatic, { root: example('public'), dotfiles: 'ignore', index: false })
  return app
}
