// The reference of bench/production-*.js: the same counter example on the same preset with the
// production plugins off (security, metrics, load shedding, compression); file routes, page state,
// sessions, health, error pages and static files stay on, as on the production side.
import { build } from '../../examples/counter/app.js'
import { PRODUCTION_PLUGINS_OFF } from './nex-counter-production.js'

export async function create () {
  return await build({ logger: false }, PRODUCTION_PLUGINS_OFF)
}
