// "Ours": the real counter example (examples/counter/app.js), logger off. Its page-id secret comes from
// NEX_SECRET, which the benchmark sets to the same value for the reference server.
import { build } from '../../examples/counter/app.js'

export async function create () {
  return await build({ logger: false })
}
