import { expect, test } from 'tstyche'
import Fastify from 'fastify'
import nexSecurity, {
  errors,
  isSafeRedirectTarget,
  isSameOriginPath,
  nexSecurity as named,
  type NexSecurityApi,
  type SecurityOptions
} from '@nex/security'

test('import styles', () => {
  expect(named).type.toBe(nexSecurity)
  expect(isSameOriginPath('/x')).type.toBe<boolean>()
  expect(isSafeRedirectTarget('/x', new Set<string>())).type.toBe<boolean>()
  expect(new errors.FST_NEX_SECURITY_CSRF_MISSING().code).type.toBe<'FST_NEX_SECURITY_CSRF_MISSING'>()
})

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexSecurity)
  expect(app.register).type.toBeCallableWith(nexSecurity, {})
  expect(app.register).type.toBeCallableWith(nexSecurity, {
    secret: 'x'.repeat(32),
    dev: false,
    headers: { strictTransportSecurity: { maxAge: 60 }, xFrameOptions: { action: 'deny' } },
    csp: { directives: { 'img-src': ["'self'", 'https://images.example'], scriptSrc: ["'self'"], 'font-src': false }, reportOnly: true, reportUri: '/csp' },
    csrf: { cookieName: '__Host-csrf', field: '_csrf', header: 'x-csrf-token', secure: true },
    fetchMetadata: true,
    allowedOrigins: ['https://partner.example'],
    hostGuard: true,
    allowedHosts: ['example.com', '*.example.com'],
    redirectGuard: true,
    allowedRedirectOrigins: ['https://accounts.example'],
    rateLimit: { max: 100, timeWindow: 60_000 }
  })
  expect(app.register).type.toBeCallableWith(nexSecurity, {
    secret: ['new'.repeat(11), 'old'.repeat(11)],
    headers: false,
    csp: false,
    csrf: false,
    fetchMetadata: false,
    hostGuard: false,
    redirectGuard: false,
    rateLimit: false
  })
  expect(app.register).type.toBeCallableWith(nexSecurity, { csrf: { secure: 'auto' } })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { csp: true })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { csp: { directives: { 'script-src': "'self'" } } })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { csp: { reportOnly: 'yes' } })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { csrf: { secure: 'always' } })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { allowedHosts: 'example.com' })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { secret: 42 })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { headers: { contentSecurityPolicy: false } })
  expect(app.register).type.not.toBeCallableWith(nexSecurity, { allowedHost: ['example.com'] })
  expect<SecurityOptions>().type.toBeAssignableTo<Parameters<typeof nexSecurity>[1]>()
})

test('decorators a page sees', () => {
  const app = Fastify()
  app.get('/', (_request, reply) => {
    expect(reply.cspNonce).type.toBe<{ script: string, style: string }>()
    expect(reply.cspNonce.script).type.toBe<string>()
    expect(reply.csrfToken()).type.toBe<string>()
    expect(reply.csrfToken).type.not.toBeCallableWith('arg')
    return 'ok'
  })
})

test('app.nexSecurity, what @nex/routes reads', () => {
  const app = Fastify()
  expect(app.nexSecurity).type.toBe<NexSecurityApi>()
  expect(app.nexSecurity.csrf).type.toBe<Readonly<{ field: string, header: string, cookieName: string }> | null>()
  expect(app.nexSecurity.isSafeRedirect('/x')).type.toBe<boolean>()
  expect(app.nexSecurity.csp).type.toBe<Readonly<{ header: string, reportOnly: boolean, sameOriginScriptsNeedNonce: boolean }> | null>()
})

test('route config', () => {
  const app = Fastify()
  expect(app.post).type.toBeCallableWith('/hook', { config: { csrf: false } }, async () => 'ok')
  expect(app.get).type.toBeCallableWith('/raw', { config: { csp: false, helmet: false } }, async () => 'ok')
  expect(app.post).type.not.toBeCallableWith('/hook', { config: { csrf: 'off' } }, async () => 'ok')
  expect(app.get).type.not.toBeCallableWith('/raw', { config: { csp: 0 } }, async () => 'ok')
})
