import { expect, test } from 'tstyche'
import Fastify, { type FastifyRequest } from 'fastify'
import { Counter, Registry, type OpenMetricsContentType } from 'prom-client'
import nexMetricsDefault, {
  ERROR_REASONS,
  UNKNOWN_ROUTE,
  errors,
  nexMetrics,
  type ErrorReason,
  type MetricsOptions,
  type MetricsRegistry,
  type NexMetrics
} from '@nex/metrics'

test('import styles', () => {
  expect(nexMetrics).type.toBe(nexMetricsDefault)
  expect(errors.FST_NEX_METRICS_FORBIDDEN).type.not.toBe<never>()
  expect(UNKNOWN_ROUTE).type.toBe<'__unknown__'>()
  expect(ERROR_REASONS).type.toBe<readonly ['handler_timeout', 'store_unavailable', 'overloaded', 'shutting_down', 'rate_limited', 'server_error', 'client_error']>()
  expect<ErrorReason>().type.toBe<'handler_timeout' | 'store_unavailable' | 'overloaded' | 'shutting_down' | 'rate_limited' | 'server_error' | 'client_error'>()
})

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexMetrics)
  expect(app.register).type.toBeCallableWith(nexMetrics, {})
  expect(app.register).type.toBeCallableWith(nexMetrics, {
    path: '/internal/metrics',
    authorize: (request: FastifyRequest) => request.headers.authorization === 'Bearer token',
    registry: new Registry(),
    prefix: 'shop_',
    buckets: [0.01, 0.1, 1],
    defaultMetrics: false,
    eventLoopMonitoringPrecision: 20
  })
  expect(app.register).type.toBeCallableWith(nexMetrics, { path: false })
  expect(app.register).type.toBeCallableWith(nexMetrics, { authorize: async () => await Promise.resolve(true) })
  expect(app.register).type.toBeCallableWith(nexMetrics, { registry: new Registry<OpenMetricsContentType>() })
  expect<MetricsOptions>().type.not.toBeAssignableFrom({ path: true })
  expect<MetricsOptions>().type.not.toBeAssignableFrom({ buckets: ['1s'] })
  expect<MetricsOptions>().type.not.toBeAssignableFrom({ authorize: () => 'yes' })
  expect<MetricsOptions>().type.not.toBeAssignableFrom({ registry: {} })
  expect<MetricsOptions>().type.not.toBeAssignableFrom({ eventLoopMonitoringPrecision: '10' })
})

test('the decorator, for metrics of your own', () => {
  const app = Fastify()
  expect(app.nexMetrics).type.toBe<NexMetrics>()
  expect(app.nexMetrics.registry).type.toBe<MetricsRegistry>()
  expect(app.nexMetrics.prefix).type.toBe<string>()
  expect(app.nexMetrics.registry.metrics()).type.toBe<Promise<string>>()
  const counter = new Counter({ name: `${app.nexMetrics.prefix}jobs_total`, help: 'Jobs', registers: [app.nexMetrics.registry] })
  expect(counter).type.toBe<Counter<string>>()
})

test('route opt-out: config.metrics', () => {
  const app = Fastify()
  expect(app.get).type.toBeCallableWith('/healthz', { config: { metrics: false } }, async () => 'ok')
  expect(app.get).type.not.toBeCallableWith('/healthz', { config: { metrics: 'off' } }, async () => 'ok')
})
