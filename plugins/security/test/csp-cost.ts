/**
 * The per-request cost of the CSP: @nex/security's precompiled policy against @fastify/helmet's CSP with
 * nonces, each measured against the same app with helmet's other headers only. Not a test (no timed
 * assertions): a measurement, printed. Run from the repository root:
 *
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs plugins/security/test/csp-cost.ts
 *
 * Each app answers `GET /` with a small HTML page; `page` apps put the nonces in the markup. Rounds of
 * `ROUNDS_OF` injects alternate between the apps; the figure is the median over rounds of the process's CPU
 * time (user + system, so other load on the machine counts less than in wall time) per request.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyHelmet from '@fastify/helmet'
import nexSecurity, { DEFAULT_CSP_DIRECTIVES } from '../src/index.js'

const ROUNDS = Number(process.env.ROUNDS ?? 15)
const ROUNDS_OF = Number(process.env.ROUNDS_OF ?? 4000)

type Setup = (app: FastifyInstance) => Promise<void>

const ONLY_HEADERS_AND_CSP = { csrf: false, hostGuard: false, redirectGuard: false, fetchMetadata: false, rateLimit: false } as const

const apps: Record<string, { setup: Setup, readsNonce: boolean }> = {
  'helmet, no CSP (baseline)': {
    setup: async (app) => { await app.register(fastifyHelmet, { contentSecurityPolicy: false, referrerPolicy: { policy: 'strict-origin-when-cross-origin' } }) },
    readsNonce: false
  },
  'helmet CSP + nonces': {
    setup: async (app) => {
      await app.register(fastifyHelmet, {
        enableCSPNonces: true,
        referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
        contentSecurityPolicy: { useDefaults: false, directives: { ...DEFAULT_CSP_DIRECTIVES } as Record<string, string[]> }
      })
    },
    readsNonce: true
  },
  '@nex/security CSP, nonce read': {
    setup: async (app) => { await app.register(nexSecurity, ONLY_HEADERS_AND_CSP) },
    readsNonce: true
  },
  '@nex/security CSP, nonce unread': {
    setup: async (app) => { await app.register(nexSecurity, ONLY_HEADERS_AND_CSP) },
    readsNonce: false
  }
}

async function start (setup: Setup, readsNonce: boolean): Promise<FastifyInstance> {
  const app = Fastify()
  await setup(app)
  app.get('/', async (_request, reply) => {
    reply.type('text/html')
    if (!readsNonce) return '<p>hello</p><script src="/app.js"></script>'
    return `<p>hello</p><script nonce="${reply.cspNonce.script}" src="/app.js"></script>`
  })
  await app.ready()
  const check = await app.inject('/')
  if (!String(check.headers['content-security-policy'] ?? '').includes(readsNonce ? 'nonce-' : '') || check.statusCode !== 200) {
    throw new Error(`unexpected response: ${check.statusCode} ${String(check.headers['content-security-policy'])}`)
  }
  return app
}

const started = Object.fromEntries(await Promise.all(Object.entries(apps).map(async ([name, { setup, readsNonce }]) => [name, await start(setup, readsNonce)] as const)))
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(apps).map(name => [name, []]))
for (let round = 0; round < ROUNDS + 2; round++) {
  for (const [name, app] of Object.entries(started)) {
    const begin = process.cpuUsage()
    for (let i = 0; i < ROUNDS_OF; i++) await app.inject('/')
    const used = process.cpuUsage(begin)
    const micros = (used.user + used.system) / ROUNDS_OF
    if (round >= 2) samples[name]?.push(micros) // two warm-up rounds
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const baseline = median(samples['helmet, no CSP (baseline)'] ?? [])
console.log(`node ${process.version}, ${ROUNDS} rounds of ${ROUNDS_OF} injects, median CPU µs per request`)
for (const [name, values] of Object.entries(samples)) {
  const value = median(values)
  console.log(`${name.padEnd(34)} ${value.toFixed(2).padStart(7)} µs   CSP cost ${(value - baseline).toFixed(2).padStart(6)} µs`)
}
await Promise.all(Object.values(started).map(async (app) => await app.close()))
