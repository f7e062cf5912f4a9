/**
 * Rate limits on the Redis store (RELIABILITY.md SEC-06, RED-01, RED-02), against a real redis-server:
 * the key layout per class; two app processes sharing the counters (total 2xx within max); and the
 * documented outage behaviour: with Redis down or stalled, login-like routes fail closed (503 with
 * Retry-After) and the other routes fail open, never a 500 and never a hang, and everything recovers
 * without restarting the apps.
 */
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import Fastify, { type FastifyContextConfig, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Redis, type RedisOptions } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { DEFAULT_CLIENT_OPTIONS } from '@nex/redis'
import { registerRateLimits } from '../src/rate-limit.js'
import { normalizeRateLimitOptions, type RateLimitOptions } from '../src/rate-limit-options.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/rate-limit-server.ts', import.meta.url))
/** The child apps' ioredis `commandTimeout`. */
const COMMAND_TIMEOUT = 300
/** Any answer later than this counts as a hang (commandTimeout plus a wide margin for a loaded CI machine). */
const ANSWER_WITHIN = COMMAND_TIMEOUT + 2000
const MAX = 20
const LOGIN_MAX = 5

const redis = await startRedisServer()
t.teardown(() => redis.stop())

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** One request over a real socket; rejects when there is no answer within ANSWER_WITHIN ms. */
function send (port: number, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { connection: 'close' }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.setTimeout(ANSWER_WITHIN, () => req.destroy(new Error(`${method} ${path} on :${port} hung: no answer within ${ANSWER_WITHIN} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** Starts test/fixtures/rate-limit-server.ts in its own process (TypeScript through tap's loader). */
async function startApp (t: Test): Promise<number> {
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))
  const child = spawn(process.execPath, [...loader, FIXTURE], {
    env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: redis.url, COMMAND_TIMEOUT: String(COMMAND_TIMEOUT), MAX: String(MAX), LOGIN_MAX: String(LOGIN_MAX) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rate-limit-server did not start within 30 s:\n${output}`)), 30_000)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const port = /\{"port":(\d+)\}/.exec(output)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      resolve(Number(port))
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`rate-limit-server exited (${code}) before listening:\n${output}`))
    })
  })
}

/** Resolves once `check` is true; fails after `within` ms (a wait for recovery, not a timing assertion). */
async function eventually (what: string, check: () => Promise<boolean>, within = 15_000): Promise<void> {
  const deadline = Date.now() + within
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: still not the case after ${within} ms`)
    await sleep(100)
  }
}

/** Limited through Redis again: the limiter answers 200 or 429, no longer 503. */
function limitedThroughRedis (answer: Answer): boolean {
  return answer.status === 200 || answer.status === 429
}

/** A client the test owns, ready. */
async function connect (t: Test, options: RedisOptions = DEFAULT_CLIENT_OPTIONS): Promise<Redis> {
  const client = new Redis(redis.url, options)
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}

/** An in-process app on the Redis store, with a page, a login-like route and a route with its own limit. */
async function build (t: Test, options: RateLimitOptions, logs?: string[]): Promise<FastifyInstance> {
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      logs?.push(chunk.toString())
      done()
    }
  })
  const app = Fastify({ logger: logs === undefined ? false : { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(fp(async function security (app) {
    const normalized = normalizeRateLimitOptions(options)
    if (normalized !== false) await registerRateLimits(app, normalized)
  }))
  app.get('/', { config: { nex: { kind: 'page' } } as FastifyContextConfig }, async () => 'page')
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/', config: { nex: { kind: 'action' } } as FastifyContextConfig, handler: async () => 'action' })
  app.post('/login', { config: { rateLimit: 'login' } as FastifyContextConfig }, async () => 'attempt')
  app.get('/strict', { config: { rateLimit: { max: 1 } } }, async () => 'strict')
  return app
}

t.test('one counter per class and client in Redis, each with a TTL', async (t) => {
  const client = await connect(t)
  const app = await build(t, { redis: client, prefix: 'layout:', max: 10, timeWindow: 30_000, actions: { max: 5 }, login: { max: 3 } })
  const from = (method: string, url: string): Promise<number> =>
    app.inject({ method: method as 'GET', url, remoteAddress: '192.0.2.50' }).then((res) => res.statusCode)
  t.same([await from('GET', '/'), await from('GET', '/'), await from('POST', '/'), await from('POST', '/login'), await from('GET', '/strict')], [200, 200, 200, 200, 200])
  t.same((await client.keys('layout:*')).sort(), [
    'layout:actions:192.0.2.50',
    'layout:default:192.0.2.50',
    'layout:login:192.0.2.50',
    'layout:route:GET:/strict:192.0.2.50'
  ])
  t.equal(await client.get('layout:default:192.0.2.50'), '2')
  const ttl = await client.pttl('layout:default:192.0.2.50')
  t.ok(ttl > 0 && ttl <= 30_000, `the default counter expires with its window (PTTL ${ttl})`)
  t.ok(await client.pttl('layout:login:192.0.2.50') > 30_000, 'the login counter has the login window')
})

t.test('a client without commandTimeout: a stalled Redis still answers in bounded time, and one warning per outage', async (t) => {
  // ioredis defaults (offline queue on, no commandTimeout): on its own a command waits for as long as Redis is stalled.
  const client = await connect(t, { protocol: 2 })
  const logs: string[] = []
  const app = await build(t, { redis: client, prefix: 'stalled:' }, logs)
  const status = (method: string, url: string): Promise<number> => app.inject({ method: method as 'GET', url }).then((res) => res.statusCode)
  t.equal(await status('POST', '/login'), 200)
  // The choice is per class: here the default class fails closed and login-like routes fail open.
  const inverted = await build(t, { redis: await connect(t, { ...DEFAULT_CLIENT_OPTIONS, commandTimeout: COMMAND_TIMEOUT }), prefix: 'inverted:', skipOnError: false, login: { skipOnError: true } })
  t.equal((await inverted.inject({ method: 'GET', url: '/' })).statusCode, 200)

  redis.pause()
  t.teardown(() => redis.resume())
  const login = await app.inject({ method: 'POST', url: '/login' })
  t.equal(login.statusCode, 503, 'login-like: fail closed')
  t.equal(login.headers['retry-after'], '5')
  t.equal(await status('GET', '/'), 200, 'page: fail open')
  t.equal(await status('POST', '/'), 200, 'action: fail open')
  t.equal((await inverted.inject({ method: 'GET', url: '/' })).statusCode, 503, 'skipOnError: false on the default class')
  t.equal((await inverted.inject({ method: 'POST', url: '/login' })).statusCode, 200, 'login: { skipOnError: true }')
  const warnings = logs.filter((line) => line.includes('rate-limit store (Redis) failed'))
  t.equal(warnings.length, 1, 'one warning for the outage, not one per request')
  t.match(warnings[0], /no answer from Redis within 1000 ms/, 'the store\'s error is logged as the cause')

  redis.resume()
  await eventually('login accepted again', async () => await status('POST', '/login') === 200)
  t.ok(logs.some((line) => line.includes('the rate-limit store answers again')), 'recovery is logged')
})

t.test('two processes sharing Redis', async (t) => {
  const [a, b] = await Promise.all([startApp(t), startApp(t)])
  const ports = [a, b] as const

  t.test('total 2xx across both processes stays within max', async (t) => {
    // All requests at once, alternating between the processes as a round-robin balancer would. The window
    // starts with the first request and lasts 600 s, so no window boundary falls inside the test: exactly
    // max pass (at a boundary a fixed window would allow up to 2·max).
    const logins = await Promise.all(Array.from({ length: 4 * LOGIN_MAX }, (_, i) => send(ports[i % 2] ?? a, 'POST', '/login')))
    t.equal(logins.filter((r) => r.status === 200).length, LOGIN_MAX, `${LOGIN_MAX} login attempts pass in total, not per process`)
    const refused = logins.filter((r) => r.status === 429)
    t.equal(refused.length, 3 * LOGIN_MAX, 'every other attempt gets 429')
    t.ok(refused.every((r) => Number(r.headers['retry-after']) > 0 && Number(r.headers['retry-after']) <= 600), 'each 429 has Retry-After')

    // One after the other, alternating: each process serves max/2 and then refuses, though it counted
    // only max/2 itself; the exhausted login counter does not touch page GETs.
    const pages: Answer[] = []
    for (let i = 0; i < 2 * MAX; i++) pages.push(await send(ports[i % 2] ?? a, 'GET', '/'))
    t.same(pages.map((r) => r.status), [...Array(MAX).fill(200), ...Array(MAX).fill(429)], 'page GETs: max in total')
    const servedBy = new Map<string, number>()
    for (const r of pages.slice(0, MAX)) servedBy.set(r.body, (servedBy.get(r.body) ?? 0) + 1)
    t.same([...servedBy.values()], [MAX / 2, MAX / 2], 'half of them by each process')
  })

  t.test('Redis down: login-like routes answer 503 + Retry-After, pages are served; never 500, never a hang', async (t) => {
    await redis.crash()
    for (const port of ports) {
      const login = await send(port, 'POST', '/login')
      t.equal(login.status, 503, `login on :${port} fails closed`)
      t.equal(login.headers['retry-after'], '5')
      t.match(JSON.parse(login.body), { statusCode: 503, code: 'FST_NEX_SECURITY_RATE_LIMIT_UNAVAILABLE' })
      t.notMatch(login.body, /ECONNREFUSED|Stream|writeable|Redis/i, 'the body says nothing about the store\'s error')
      t.equal((await send(port, 'GET', '/')).status, 200, `the page on :${port} fails open`)
    }
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => send(ports[i % 2] ?? a, i % 4 < 2 ? 'POST' : 'GET', i % 4 < 2 ? '/login' : '/')))
    t.same([...new Set(burst.map((r) => r.status))].sort(), [200, 503], 'a burst during the outage: only 200s (pages) and 503s (logins)')

    await redis.restart()
    await eventually('both processes limit through Redis again', async () => {
      const answers = await Promise.all(ports.map((port) => send(port, 'POST', '/login')))
      return answers.every(limitedThroughRedis)
    })
    t.pass('recovered without restarting the apps')
  })

  t.test('Redis stalled (TCP up, no replies): the same, within commandTimeout', async (t) => {
    redis.pause()
    t.teardown(() => redis.resume())
    const [login, page] = await Promise.all([send(a, 'POST', '/login'), send(b, 'GET', '/')])
    t.equal(login.status, 503)
    t.equal(login.headers['retry-after'], '5')
    t.equal(page.status, 200)
    redis.resume()
    await eventually('login limited through Redis again', async () => limitedThroughRedis(await send(b, 'POST', '/login')))
  })
})
