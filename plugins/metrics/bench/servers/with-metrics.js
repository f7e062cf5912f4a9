// The measured side of bench/overhead.js: the same app with @nex/metrics (defaults: process metrics,
// event-loop monitor, histogram, error counter, in-flight gauge).
import Fastify from 'fastify'
import nexMetrics from '@nex/metrics'
import { routes } from './plain.js'

export async function create () {
  const app = Fastify({ logger: false })
  await app.register(nexMetrics)
  routes(app)
  return app
}
