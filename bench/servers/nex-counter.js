// "Ours" of counter-page and counter-increment: the real counter example (examples/counter/app.js, on
// the nex preset), logger off, with the plugins the hand-written reference has no counterpart for
// turned off (security, metrics, load shedding, compression): those benchmarks measure what the file
// routes and page state cost. bench/production-*.js measure those plugins. Its page-id secret comes
// from NEX_SECRET, which the benchmark sets to the same value for the reference server.
import { build } from '../../examples/counter/app.js'
import { PRODUCTION_PLUGINS_OFF } from './nex-counter-production.js'

export async function create () {
  return await build({ logger: false }, PRODUCTION_PLUGINS_OFF)
}
