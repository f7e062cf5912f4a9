import type * as http from 'node:http'
import type * as http2 from 'node:http2'
import type * as https from 'node:https'
import { expect, test } from 'tstyche'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import {
  appSecret,
  COMPRESSION_DEFAULTS,
  createApp,
  createServer,
  ERRORS_DEFAULTS,
  errors,
  FINGERPRINTED,
  HEALTH_DEFAULTS,
  hardenedDefaults,
  nex,
  nexCompression,
  nexErrors,
  nexHealth,
  nexStatic,
  SERVE_DEFAULTS,
  serve,
  serverOptions,
  STATIC_DEFAULTS,
  UNDER_PRESSURE_DEFAULTS,
  type CreateAppOptions,
  type NexLifecycle,
  type NexErrorsApi,
  type NexOptions,
  type ServeOptions
} from 'nex'

const dir = '/srv/app'

test('createApp: the smallest valid call, and what it resolves to', () => {
  expect(createApp({ dir })).type.toBe<Promise<FastifyInstance>>()
  expect(createApp).type.toBeCallableWith({ dir, secret: 'x'.repeat(32) })
  expect(createApp).type.toBeCallableWith({ dir, secret: ['new'.repeat(11), 'old'.repeat(11)] })
  expect(appSecret('/srv/app/.nex-secret')).type.toBe<string | undefined>()
  expect(appSecret).type.toBeCallableWith('/srv/app/.nex-secret', { NODE_ENV: 'production' })
})

test('createApp: every option', () => {
  expect(createApp).type.toBeCallableWith({
    dir,
    secret: 'x'.repeat(32),
    env: process.env,
    dev: false,
    redis: null,
    server: {
      logger: true,
      trustProxy: '10.0.0.0/8',
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      connectionsCheckingInterval: 1_000,
      connectionTimeout: 60_000,
      keepAliveTimeout: 72_000,
      handlerTimeout: 10_000,
      bodyLimit: 65_536,
      maxParamLength: 100,
      maxConnections: 10_000,
      maxJsonDepth: 64,
      return503OnClosing: true,
      forceCloseConnections: 'idle'
    },
    errors: { notFound: true },
    health: { livenessPath: '/healthz', readinessPath: '/readyz', checks: { db: async (signal: AbortSignal) => signal.aborted }, checkTimeout: 1000, pageStore: true, retryAfter: 5, logLevel: 'warn' },
    metrics: { path: '/metrics', authorize: (request: FastifyRequest) => request.headers.authorization === 'Bearer t' },
    underPressure: { maxEventLoopDelay: 1000, maxEventLoopUtilization: 0.98, eventLoopUtilizationMode: 'interval', retryAfter: 5 },
    security: { allowedHosts: ['example.com'], csp: { reportOnly: true, reportUri: '/csp-report' }, rateLimit: { max: 600 } },
    compress: { threshold: 1024, encodings: ['br', 'gzip'], brotliQuality: 4, gzipLevel: 6 },
    state: { ttl: 3_600_000, maxPages: 10_000 },
    session: { cookieName: 'nex_session', secure: true },
    sse: { heartbeat: 15_000, maxStreams: 10_000 },
    websocket: { maxPayload: 65_536 },
    routes: { dev: false },
    static: { prefix: '/', immutable: FINGERPRINTED, maxAge: 0, preCompressed: false }
  })
})

test('createApp: invalid options', () => {
  expect(createApp).type.not.toBeCallableWith({})
  expect(createApp).type.not.toBeCallableWith({ dir: 42 })
  expect(createApp).type.not.toBeCallableWith({ dir, secret: 42 })
  expect(createApp).type.not.toBeCallableWith({ dir, unknown: true })
  expect(createApp).type.not.toBeCallableWith({ dir, security: true })
  expect(createApp).type.not.toBeCallableWith({ dir, static: { root: '/elsewhere' } })
  expect(createApp).type.not.toBeCallableWith({ dir, routes: { dir: '/elsewhere' } })
  expect(createApp).type.not.toBeCallableWith({ dir, errors: { dev: true } })
  expect(createApp).type.not.toBeCallableWith({ dir, server: { trustProxy: true } })
  expect(createApp).type.not.toBeCallableWith({ dir, server: { trustProxy: 2 } })
  expect(createApp).type.not.toBeCallableWith({ dir, server: { requestTimeout: '30s' } })
  expect(createApp).type.not.toBeCallableWith({ dir, server: { forceCloseConnections: 'all' } })
  expect(createApp).type.not.toBeCallableWith({ dir, server: { routerOptions: { maxParamLength: 200 } } })
  expect(createApp).type.not.toBeCallableWith({ dir, compress: { encodings: ['deflate'] } })
  expect(createApp).type.not.toBeCallableWith({ dir, health: { checks: { db: 'SELECT 1' } } })
})

test('the nex preset into an existing createServer() app', () => {
  const app = createServer({ logger: true })
  expect(app.register).type.toBeCallableWith(nex, { dir })
  expect(app.register).type.not.toBeCallableWith(nex, {})
  expect(app.register).type.not.toBeCallableWith(nex, { dir, server: {} })
  expect<NexOptions>().type.toBeAssignableTo<Parameters<typeof nex>[1]>()
  expect<CreateAppOptions>().type.toBeAssignableTo<NexOptions>()
})

test('each part of the preset accepts false', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nex, {
    dir,
    errors: false,
    health: false,
    metrics: false,
    underPressure: false,
    security: false,
    compress: false,
    state: false,
    session: false,
    sse: false,
    websocket: false,
    routes: false,
    static: false
  })
  expect(app.register).type.not.toBeCallableWith(nex, { dir, metrics: true })
  expect(app.register).type.not.toBeCallableWith(nex, { dir, sse: null })
  expect(app.register).type.not.toBeCallableWith(nex, { dir, redis: false })
})

test('createServer: the raw server follows the options', () => {
  expect(createServer()).type.toBe<FastifyInstance<http.Server>>()
  expect(createServer({ logger: true })).type.toBe<FastifyInstance<http.Server>>()
  expect(createServer({ https: { key: '', cert: '' } }).server).type.toBe<https.Server>()
  expect(createServer({ http2: true }).server).type.toBe<http2.Http2Server>()
  expect(createServer({ http2: true, https: { key: '', cert: '' } }).server).type.toBe<http2.Http2SecureServer>()
  expect(createServer).type.toBeCallableWith({ trustProxy: ['10.0.0.1', '10.0.0.2'] })
  expect(createServer).type.toBeCallableWith({ trustProxy: (address: string, hop: number) => address === '10.0.0.1' && hop === 0 })
  expect(createServer).type.toBeCallableWith({ http: { maxHeaderSize: 16_384 } })
  expect(createServer).type.not.toBeCallableWith({ trustProxy: true })
  expect(createServer).type.not.toBeCallableWith({ bodyLimit: '64kb' })
  expect(createServer).type.not.toBeCallableWith({ maxJsonDepth: '64' })
  expect(Fastify).type.toBeCallableWith(serverOptions({ logger: true }))
})

test('serve: listen options plus the shutdown ones', () => {
  const app = createServer()
  expect(serve(app)).type.toBe<Promise<string>>()
  expect(serve).type.toBeCallableWith(app, { port: 3000, host: '0.0.0.0' })
  expect(serve).type.toBeCallableWith(app, { port: 3000, drainDelay: 5000, closeTimeout: 10_000, signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] })
  expect(serve).type.toBeCallableWith(createServer({ http2: true }), { drainDelay: 0 })
  expect(serve).type.not.toBeCallableWith(app, { drainDelay: '5s' })
  expect(serve).type.not.toBeCallableWith(app, { signals: ['SIGKILL'] })
  expect(serve).type.not.toBeCallableWith(app, { signals: 'SIGTERM' })
  expect(serve).type.not.toBeCallableWith({ listen: () => {} })
  expect<ServeOptions['signals']>().type.toBe<readonly ('SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR2')[] | undefined>()
})

test('the single plugins and their options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexErrors, { dev: false, notFound: true })
  expect(app.register).type.toBeCallableWith(nexHealth, { checks: { db: async () => {} } })
  expect(app.register).type.toBeCallableWith(nexStatic, { root: new URL('file:///srv/app/public/'), prefix: '/static', wildcard: false, index: ['index.html'], immutable: false })
  expect(app.register).type.toBeCallableWith(nexCompression, { threshold: 2048 })
  expect(app.register).type.not.toBeCallableWith(nexErrors, { notFound: 'yes' })
  expect(app.register).type.not.toBeCallableWith(nexHealth, { retryAfter: '5' })
  expect(app.register).type.not.toBeCallableWith(nexStatic, { dotfiles: 'allow' })
  expect(app.register).type.not.toBeCallableWith(nexCompression, { brotliQuality: 'high' })
})

test('decorators', () => {
  const app = Fastify()
  expect(app.nexLifecycle).type.toBe<NexLifecycle>()
  expect(app.nexLifecycle.draining).type.toBe<boolean>()
  expect(app.nexLifecycle.startDraining()).type.toBe<void>()
  expect(app.nexErrors).type.toBe<NexErrorsApi>()
  expect(app.nexErrors.dev).type.toBe<boolean>()
})

test('defaults and errors', () => {
  expect(hardenedDefaults.requestTimeout).type.toBe<30_000>()
  expect(hardenedDefaults.bodyLimit).type.toBe<65_536>()
  expect(hardenedDefaults.trustProxy).type.toBe<false>()
  expect(hardenedDefaults.forceCloseConnections).type.toBe<'idle'>()
  expect(UNDER_PRESSURE_DEFAULTS.maxEventLoopDelay).type.toBe<1000>()
  expect(UNDER_PRESSURE_DEFAULTS).type.not.toHaveProperty('maxEventLoopUtilization')
  expect(hardenedDefaults.maxJsonDepth).type.toBe<64>()
  expect(hardenedDefaults.maxConnections).type.toBe<10_000>()
  expect(UNDER_PRESSURE_DEFAULTS.retryAfter).type.toBe<5>()
  expect(SERVE_DEFAULTS.drainDelay).type.toBe<5000>()
  expect(SERVE_DEFAULTS.closeTimeout).type.toBe<10_000>()
  expect(HEALTH_DEFAULTS.readinessPath).type.toBe<'/readyz'>()
  expect(HEALTH_DEFAULTS.livenessPath).type.toBe<'/healthz'>()
  expect(ERRORS_DEFAULTS.notFound).type.toBe<true>()
  expect(STATIC_DEFAULTS.wildcard).type.toBe<false>()
  expect(COMPRESSION_DEFAULTS.threshold).type.toBe<1024>()
  expect(new errors.FST_NEX_INVALID_OPTION('bodyLimit', 'a number', '"64kb"').code).type.toBe<string>()
  expect(errors.FST_NEX_INVALID_OPTION).type.not.toBeConstructableWith('bodyLimit')
  expect(new errors.FST_NEX_SHUTDOWN_NO_LIFECYCLE()).type.toBeAssignableTo<Error>()
  expect(new errors.FST_NEX_NOT_FOUND()).type.toBeAssignableTo<Error>()
})
