/**
 * Rate limits with the in-memory store (RELIABILITY.md SEC-06): the default, action and login-like classes
 * and their separate counters, the per-route forms of @fastify/rate-limit, and the client key under
 * `trustProxy` (rotating X-Forwarded-For must not help). Routes are registered the way @nex/routes does:
 * a page's GET with `config.nex.kind === 'page'`, its actions as one POST|PUT|PATCH|DELETE route with
 * `kind: 'action'`, and the page module's own `config` (e.g. `{ rateLimit: 'login' }`) spread into both.
 */
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import Fastify, { type FastifyContextConfig, type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import fp from 'fastify-plugin'
import { registerRateLimits } from '../src/rate-limit.js'
import { normalizeRateLimitOptions, RATE_LIMIT_DEFAULTS, type RateLimitOptions } from '../src/rate-limit-options.js'

const ACTION_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

/** A route config as @nex/routes builds it: the module's `config` plus `nex: { kind }`. */
function nexConfig (kind: 'page' | 'action' | 'api', moduleConfig: Record<string, unknown> = {}): FastifyContextConfig {
  return { ...moduleConfig, nex: { kind, file: 'pages/x.ts' } } as FastifyContextConfig
}

/** A page as @nex/routes registers it: GET (and Fastify's HEAD) plus one route for its actions. */
function page (app: FastifyInstance, url: string, moduleConfig: Record<string, unknown> = {}): void {
  app.get(url, { config: nexConfig('page', moduleConfig) }, async () => 'page')
  app.route({ method: [...ACTION_METHODS], url, config: nexConfig('action', moduleConfig), handler: async () => 'action' })
}

/**
 * An app with the rate limits registered as the security plugin does (inside fastify-plugin), then routes.
 * The informative headers are on (the tests read the counters from them) unless `options` says otherwise.
 */
async function build (t: Test, options: RateLimitOptions, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  await app.register(fp(async function security (app) {
    const normalized = normalizeRateLimitOptions({ headers: true, ...options })
    if (normalized !== false) await registerRateLimits(app, normalized)
  }))
  page(app, '/')
  page(app, '/other')
  page(app, '/login', { rateLimit: 'login' })
  app.get('/api/items', { config: nexConfig('api') }, async () => ({ items: [] }))
  app.post('/api/session', { config: nexConfig('api', { rateLimit: 'login' }) }, async () => ({ ok: true }))
  app.get('/healthz', { config: { rateLimit: false } }, async () => 'ok')
  app.get('/strict', { config: { rateLimit: { max: 1 } } }, async () => 'strict')
  return app
}

function hit (app: FastifyInstance, method: string, url: string, remoteAddress = '192.0.2.1', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: method as 'GET', url, remoteAddress, headers })
}

async function statuses (count: number, send: (i: number) => Promise<LightMyRequestResponse>): Promise<number[]> {
  const seen: number[] = []
  for (let i = 0; i < count; i++) seen.push((await send(i)).statusCode)
  return seen
}

t.test('default class: over max, a coded 429 with Retry-After and x-ratelimit-*', async (t) => {
  const app = await build(t, { max: 3, timeWindow: 60_000 })
  const first = await hit(app, 'GET', '/')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-limit'], '3')
  t.equal(first.headers['x-ratelimit-remaining'], '2')
  t.equal(first.headers['x-ratelimit-reset'], '60')
  t.same(await statuses(2, () => hit(app, 'GET', '/')), [200, 200])

  const probe = '/?q=%3Cscript%3Eprobe-7f3a%3C/script%3E'
  const limited = await hit(app, 'GET', probe, '192.0.2.1', { 'x-probe': 'probe-7f3a' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '60', 'Retry-After in seconds')
  t.equal(limited.headers['x-ratelimit-limit'], '3')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.match(limited.json(), { statusCode: 429, code: 'FST_NEX_SECURITY_RATE_LIMITED', message: /retry in 1 minute/ })
  t.notMatch(limited.body, /probe-7f3a|script/, 'the body echoes nothing of the request')

  t.equal((await hit(app, 'GET', '/api/items')).statusCode, 429, 'API GETs share the default class counter')
  t.equal((await hit(app, 'GET', '/', '192.0.2.2')).statusCode, 200, 'another client IP has its own counter')
})

t.test('page actions: a stricter limit, one counter for every action, separate from page GETs', async (t) => {
  const app = await build(t, { max: 10, actions: { max: 3 } })
  const action = await hit(app, 'POST', '/')
  t.equal(action.statusCode, 200)
  t.equal(action.headers['x-ratelimit-limit'], '3', 'actions use the actions limit')
  t.same(await statuses(3, (i) => hit(app, i === 0 ? 'DELETE' : 'POST', '/other')), [200, 200, 429],
    'actions of every page and method share one counter per client')

  const get = await hit(app, 'GET', '/')
  t.equal(get.statusCode, 200, 'page GETs still work for the client that exhausted its actions')
  t.equal(get.headers['x-ratelimit-limit'], '10')
  t.equal(get.headers['x-ratelimit-remaining'], '9', 'actions did not count against the page GETs')

  t.same(await statuses(10, () => hit(app, 'GET', '/other', '192.0.2.9')), Array(10).fill(200))
  t.equal((await hit(app, 'GET', '/', '192.0.2.9')).statusCode, 429)
  t.equal((await hit(app, 'POST', '/', '192.0.2.9')).statusCode, 200, 'exhausting GETs does not block actions either')
})

t.test('login-like: limits unsafe methods only; the GET of the same page is unaffected', async (t) => {
  const app = await build(t, { max: 20, actions: { max: 5 }, login: { max: 2, timeWindow: 600_000 } })
  const attempt = await hit(app, 'POST', '/login')
  t.equal(attempt.headers['x-ratelimit-limit'], '2')
  t.equal((await hit(app, 'POST', '/login')).statusCode, 200)
  const locked = await hit(app, 'POST', '/login')
  t.equal(locked.statusCode, 429, 'the third attempt is refused')
  t.equal(locked.headers['retry-after'], '600')
  t.equal((await hit(app, 'POST', '/api/session')).statusCode, 429, 'every login-like route shares the login counter')

  t.same(await statuses(5, () => hit(app, 'GET', '/login')), Array(5).fill(200), 'reloading the login form never locks you out')
  const form = await hit(app, 'GET', '/login')
  t.equal(form.headers['x-ratelimit-limit'], '20', 'the login page GET is in the default class')
  t.equal((await hit(app, 'HEAD', '/login')).statusCode, 200)
  const action = await hit(app, 'POST', '/')
  t.equal(action.statusCode, 200, 'other actions keep working')
  t.equal(action.headers['x-ratelimit-remaining'], '4', 'login attempts did not count as actions')
})

t.test('per-route config: @fastify/rate-limit objects and false', async (t) => {
  const app = await build(t, { max: 2 })
  app.route({ method: [...ACTION_METHODS], url: '/own', config: nexConfig('action', { rateLimit: { max: 1, timeWindow: 5000 } }), handler: async () => 'own' })
  app.get('/banned', { config: { rateLimit: { max: 1, ban: 1 } } }, async () => 'ban')
  t.same(await statuses(2, () => hit(app, 'GET', '/strict')), [200, 429], '{ max: 1 } on a route')
  t.equal((await hit(app, 'GET', '/')).statusCode, 200, 'a route with its own limit has its own counter')
  const own = await statuses(2, () => hit(app, 'POST', '/own'))
  t.same(own, [200, 429], 'a page\'s own object wins over the actions class')
  t.equal((await hit(app, 'POST', '/own', '192.0.2.3')).headers['retry-after'], undefined)

  const ban = await statuses(3, () => hit(app, 'GET', '/banned'))
  t.same(ban, [200, 429, 403], 'ban: past max + ban, a 403')
  t.match((await hit(app, 'GET', '/banned')).json(), { statusCode: 403, code: 'FST_NEX_SECURITY_RATE_LIMIT_BANNED' })

  t.same(await statuses(2, () => hit(app, 'GET', '/')), [200, 429], 'the default class is exhausted')
  const health = await statuses(10, () => hit(app, 'GET', '/healthz'))
  t.same(health, Array(10).fill(200), 'rateLimit: false is never limited')
  t.equal((await hit(app, 'GET', '/healthz')).headers['x-ratelimit-limit'], undefined, 'and sends no rate-limit headers')
})

t.test('a config.rateLimit we do not know is a startup error naming the route', async (t) => {
  const app = await build(t, {})
  t.throws(() => app.get('/typo', { config: { rateLimit: 'logn' } as FastifyContextConfig }, async () => ''),
    { code: 'FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG', message: /GET \/typo .*"logn"/ })
  t.throws(() => app.post('/yes', { config: { rateLimit: true } as unknown as FastifyContextConfig }, async () => ''),
    { code: 'FST_NEX_SECURITY_RATE_LIMIT_INVALID_ROUTE_CONFIG', message: /POST \/yes/ })
  t.throws(() => app.route({ method: ['GET', 'POST'], url: '/signin', config: { rateLimit: 'login' } as FastifyContextConfig, handler: async () => '' }),
    { code: 'FST_NEX_SECURITY_RATE_LIMIT_MIXED_METHODS', message: /GET,POST \/signin.*two routes/ })
})

t.test('a config object shared by a GET and a POST is not changed for the other route', async (t) => {
  const app = await build(t, { max: 5, login: { max: 1 } })
  const shared = { rateLimit: 'login' } as FastifyContextConfig
  app.get('/signin', { config: shared }, async () => 'form')
  app.post('/signin', { config: shared }, async () => 'attempt')
  t.same(shared, { rateLimit: 'login' })
  t.same(await statuses(2, () => hit(app, 'POST', '/signin')), [200, 429])
  t.same(await statuses(3, () => hit(app, 'GET', '/signin')), [200, 200, 200])
})

t.test('global: false limits only actions, login-like routes and routes with their own config', async (t) => {
  const app = await build(t, { global: false, actions: { max: 1 }, login: { max: 1 } })
  const gets = await statuses(30, () => hit(app, 'GET', '/'))
  t.same(gets, Array(30).fill(200))
  t.same(await statuses(2, () => hit(app, 'POST', '/')), [200, 429])
  t.same(await statuses(2, () => hit(app, 'POST', '/login')), [200, 429])
  t.same(await statuses(2, () => hit(app, 'GET', '/strict')), [200, 429])
})

t.test('a not-found handler with app.rateLimit() counts 404s in the default class', async (t) => {
  const app = await build(t, { max: 2 })
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, async (_request, reply) => reply.code(404).send('not found'))
  t.same(await statuses(3, (i) => hit(app, 'GET', `/nope-${i}`)), [404, 404, 429], 'floods of unknown URLs are limited')
  t.equal((await hit(app, 'GET', '/')).statusCode, 429, 'with the same counter as the pages')
})

t.test('allowList: listed client IPs are never limited', async (t) => {
  const app = await build(t, { max: 1, allowList: ['198.51.100.10', '::1'] })
  t.same(await statuses(5, () => hit(app, 'GET', '/', '198.51.100.10')), Array(5).fill(200))
  t.same(await statuses(5, () => hit(app, 'POST', '/login', '::1')), Array(5).fill(200), 'IPv6 entries match like the key (::1 is in ::/64)')
  t.same(await statuses(2, () => hit(app, 'GET', '/', '198.51.100.11')), [200, 429])

  const scraper = await build(t, { max: 1, allowList: (_request, key) => key === '198.51.100.20' })
  t.same(await statuses(3, () => hit(scraper, 'GET', '/', '198.51.100.20')), [200, 200, 200], 'a function decides per request')
  t.same(await statuses(2, () => hit(scraper, 'GET', '/', '198.51.100.21')), [200, 429])
})

t.test('the 429 goes through the app\'s error handler, with the rate-limit headers kept', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fp(async (app) => {
    await registerRateLimits(app, normalizeRateLimitOptions({ max: 1 }) as Exclude<ReturnType<typeof normalizeRateLimitOptions>, false>)
  }))
  app.setErrorHandler((error: { statusCode?: number, code?: string }, _request, reply) => {
    reply.code(error.statusCode ?? 500).type('text/html').send(`<p class="error">${error.statusCode === 429 ? 'Slow down' : 'Error'} (${error.code})</p>`)
  })
  app.get('/', async () => 'ok')
  await hit(app, 'GET', '/')
  const limited = await hit(app, 'GET', '/')
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['content-type'], 'text/html')
  t.equal(limited.body, '<p class="error">Slow down (FST_NEX_SECURITY_RATE_LIMITED)</p>')
  t.equal(limited.headers['retry-after'], '60')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
})

t.test('trustProxy false (Fastify\'s default): rotating X-Forwarded-For over real sockets does not help', async (t) => {
  const app = await build(t, { max: 2 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const seen: number[] = []
  for (let i = 0; i < 6; i++) seen.push(await getOverSocket(port, '/', { 'x-forwarded-for': `203.0.113.${i + 1}` }))
  t.same(seen, [200, 200, 429, 429, 429, 429], 'the key is the socket\'s address, the header is ignored')
})

t.test('trustProxy set to the proxy\'s address: the key is the client the proxy saw', async (t) => {
  const app = await build(t, { max: 2 }, { trustProxy: '127.0.0.1' })
  const viaProxy = (xff: string): Promise<LightMyRequestResponse> => hit(app, 'GET', '/', '127.0.0.1', { 'x-forwarded-for': xff })

  // The proxy appends the address it saw; what the client wrote itself stays on the left and is not trusted.
  const forged = await statuses(6, (i) => viaProxy(`10.9.9.${i + 1}, 203.0.113.7`))
  t.same(forged, [200, 200, 429, 429, 429, 429], 'a client rotating its own X-Forwarded-For is still 203.0.113.7')

  const clients = await statuses(6, (i) => viaProxy(`203.0.113.${100 + i}`))
  t.same(clients, Array(6).fill(200), 'distinct clients behind the proxy each get their own counter')
  t.same(await statuses(2, () => viaProxy('203.0.113.100')), [200, 429], 'and each is limited on its own')

  const direct = await statuses(4, (i) => hit(app, 'GET', '/', '198.51.100.7', { 'x-forwarded-for': `10.8.8.${i + 1}` }))
  t.same(direct, [200, 200, 429, 429], 'a client that bypasses the proxy cannot pick its key either')
})

t.test('trustProxy true is unsafe: every X-Forwarded-For entry is trusted, so rotating it bypasses the limit', async (t) => {
  const app = await build(t, { max: 2 }, { trustProxy: true })
  const viaProxy = await statuses(6, (i) => hit(app, 'GET', '/', '127.0.0.1', { 'x-forwarded-for': `10.9.9.${i + 1}, 203.0.113.7` }))
  t.same(viaProxy, Array(6).fill(200), 'behind a proxy: the key is the leftmost entry, which the client wrote')
  const direct = await statuses(6, (i) => hit(app, 'GET', '/', '198.51.100.7', { 'x-forwarded-for': `10.8.8.${i + 1}` }))
  t.same(direct, Array(6).fill(200), 'without a proxy: any client picks its own key')
})

t.test('by default responses under the limit carry no x-ratelimit-* headers; a 429 does, with Retry-After', async (t) => {
  const app = await build(t, { max: 1, headers: false })
  const first = await app.inject({ method: 'GET', url: '/' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-limit'], undefined)
  t.equal(first.headers['x-ratelimit-remaining'], undefined)
  const limited = await app.inject({ method: 'GET', url: '/' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['x-ratelimit-limit'], '1')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['retry-after']) > 0)
})

t.test('normalizeRateLimitOptions', async (t) => {
  t.equal(normalizeRateLimitOptions(false), false, 'false turns rate limiting off')
  const defaults = normalizeRateLimitOptions(undefined)
  t.same(defaults, {
    global: true,
    limits: {
      default: { max: 600, timeWindow: 60_000, skipOnError: true },
      actions: { max: 120, timeWindow: 60_000, skipOnError: true },
      login: { max: 10, timeWindow: 600_000, skipOnError: false }
    },
    redis: null,
    prefix: 'nex:rate-limit:',
    allowList: null,
    cache: 5000,
    headers: false
  })
  t.same(normalizeRateLimitOptions({}), defaults)
  t.ok(Object.isFrozen(defaults) && defaults !== false && Object.isFrozen(defaults.limits) && Object.isFrozen(defaults.limits.login))
  t.equal(RATE_LIMIT_DEFAULTS.max, 600)

  const custom = normalizeRateLimitOptions({ max: 50, actions: { max: 7 }, login: { skipOnError: true }, allowList: ['::1', '2001:db8::7', '10.0.0.1'], prefix: 'app:rl:' })
  t.match(custom, {
    limits: { default: { max: 50, timeWindow: 60_000 }, actions: { max: 7, timeWindow: 60_000 }, login: { max: 10, skipOnError: true } },
    allowList: ['::', '2001:db8::', '10.0.0.1'],
    prefix: 'app:rl:'
  }, 'classes merge over their own defaults; IPv6 entries become their /64, as the key')

  const bad: Array<[unknown, RegExp]> = [
    [true, /option "rateLimit" must be an options object, or false/],
    [{ max: 0 }, /option "rateLimit.max" must be a positive integer .*got 0/],
    [{ max: '600' }, /"rateLimit.max" .*got "600"/],
    [{ timeWindow: '1 minute' }, /"rateLimit.timeWindow" must be a positive integer of milliseconds.*got "1 minute"/],
    [{ skipOnError: 'no' }, /"rateLimit.skipOnError" must be true or false/],
    [{ global: 1 }, /"rateLimit.global" must be true or false, got 1/],
    [{ actions: 5 }, /"rateLimit.actions" must be an object \{ max, timeWindow, skipOnError \}, got 5/],
    [{ login: { max: 2.5 } }, /"rateLimit.login.max" .*got 2.5/],
    [{ login: { maxx: 2 } }, /"rateLimit.login.maxx" must be one of the known options \(max, timeWindow, skipOnError\)/],
    [{ timewindow: 1000 }, /"rateLimit.timewindow" must be one of the known options/],
    [{ redis: 'redis://localhost' }, /"rateLimit.redis" must be an ioredis client.*got "redis:\/\/localhost"/],
    [{ prefix: '' }, /"rateLimit.prefix" must be a non-empty string/],
    [{ allowList: '10.0.0.1' }, /"rateLimit.allowList" must be an array of IP addresses or a function/],
    [{ allowList: ['10.0.0.0/8'] }, /"rateLimit.allowList\[0\]" must be an IP address \(ranges are not supported/],
    [{ cache: -1 }, /"rateLimit.cache" must be a positive integer/]
  ]
  for (const [input, message] of bad) {
    let thrown: unknown = null
    try {
      normalizeRateLimitOptions(input as RateLimitOptions)
    } catch (error) {
      thrown = error
    }
    t.ok(thrown instanceof TypeError, `${JSON.stringify(input)}: a TypeError`)
    t.match(thrown, { code: 'FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION', message }, JSON.stringify(input))
  }
})

/** One GET over a real socket from 127.0.0.1; resolves with the status. */
function getOverSocket (port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}
