// The counter example with the full production stack of the nex preset: CSP (nonces when a page uses them), security
// headers, CSRF, rate limits, Prometheus metrics, load shedding, compression (idle here: autocannon
// sends no Accept-Encoding, like a client behind a compressing proxy). The rate limits count every
// request as in production, with a `max` no benchmark reaches, so no request is refused.
import { build } from '../../examples/counter/app.js'

const UNREACHABLE = 1_000_000_000

/** The preset options that turn off what bench/production-*.js measure (the reference side). */
export const PRODUCTION_PLUGINS_OFF = Object.freeze({ security: false, metrics: false, underPressure: false, compress: false })

export async function create () {
  const app = await build({ logger: false }, {
    security: { rateLimit: { max: UNREACHABLE, actions: { max: UNREACHABLE, timeWindow: 60_000, skipOnError: true } } }
  })
  // Under the limit it sends no headers (the default), so the benchmark cannot see it from outside.
  if (!app.hasDecorator('rateLimit')) throw new Error('the production stack has no rate limiter')
  return app
}
