// Per-request CPU cost of @nex/metrics, in one process through `inject` (no sockets, so a loaded machine
// disturbs it less than autocannon): the same app bare, with three empty hooks of the kinds the plugin
// adds, and with the plugin (without and with the process metrics). Rounds alternate between variants;
// the figure is the median CPU time (user + system) per request. Run after `npx tsc -b plugins/metrics`:
//   node plugins/metrics/bench/inject-overhead.js
import Fastify from 'fastify'
import nexMetrics from '@nex/metrics'
import { routes } from './servers/plain.js'

const REQUESTS = Number(process.env.REQUESTS ?? 20_000)
const ROUNDS = Number(process.env.ROUNDS ?? 15)

async function app (setup) {
  const app = Fastify({ logger: false })
  await setup(app)
  routes(app)
  await app.ready()
  return app
}

const variants = {
  'bare Fastify': await app(() => {}),
  'empty onRequest+onResponse+onRequestAbort hooks': await app((app) => {
    app.addHook('onRequest', (request, reply, done) => done())
    app.addHook('onResponse', (request, reply, done) => done())
    app.addHook('onRequestAbort', (request, done) => done())
  }),
  '@nex/metrics { defaultMetrics: false }': await app(async (app) => { await app.register(nexMetrics, { defaultMetrics: false }) }),
  '@nex/metrics (defaults)': await app(async (app) => { await app.register(nexMetrics) })
}

async function round (app) {
  const start = process.cpuUsage()
  for (let i = 0; i < REQUESTS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => app.inject('/users/7')))
    // inject() resolves without the event loop turning: let the immediates of the responses run.
    await new Promise(resolve => setImmediate(resolve))
  }
  const used = process.cpuUsage(start)
  return (used.user + used.system) / REQUESTS
}

const samples = Object.fromEntries(Object.keys(variants).map(name => [name, []]))
const names = Object.keys(variants)
for (let r = -1; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse()
  for (const name of order) {
    const us = await round(variants[name])
    if (r >= 0) samples[name].push(us) // round -1 warms up
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const base = median(samples['bare Fastify'])
console.log(`node ${process.version}; ${ROUNDS} rounds of ${REQUESTS} injected GET /users/:id per variant`)
for (const name of names) {
  const m = median(samples[name])
  console.log(`${name.padEnd(50)} ${m.toFixed(2)} µs/req CPU  (+${(m - base).toFixed(2)} µs)`)
}
const scrape = await variants['@nex/metrics (defaults)'].inject('/metrics')
console.log(scrape.body.split('\n').find(line => line.startsWith('http_request_duration_seconds_count')))
for (const app of Object.values(variants)) await app.close()
