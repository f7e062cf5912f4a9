// Options are checked once, at register time: every bad option fails with a coded error naming the
// option, the value and what is allowed. Also the error catalogue's status codes, the plugin's identity
// and the secret sources.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import nexSecurity, { errors, type SecurityOptions } from '../src/index.js'
import { normalizeOptions } from '../src/options.js'
import { build, SECRET } from './helpers.js'

const base = { secret: SECRET, rateLimit: false } as const

function rejects (t: Test, options: unknown, code: string, message: RegExp): void {
  t.throws(() => normalizeOptions({ ...base, ...(options as SecurityOptions) }, {}), { code, message }, JSON.stringify(options) ?? String(options))
}

t.test('defaults: every part on', async (t) => {
  const opts = normalizeOptions({ secret: SECRET }, {})
  t.equal(opts.dev, true)
  t.ok(opts.headers)
  t.ok(opts.csp)
  t.ok(opts.csrf)
  t.ok(opts.rateLimit)
  t.equal(opts.fetchMetadata, true)
  t.equal(opts.hostGuard, true)
  t.equal(opts.redirectGuard, true)
  t.equal(opts.allowedHosts, null)
  t.same([...opts.allowedOrigins], [])
  t.match(opts.csrf, { cookieName: '_csrf', field: '_csrf', header: 'x-csrf-token', secure: 'auto', secretGenerated: false })
  t.equal(normalizeOptions({ secret: SECRET }, { NODE_ENV: 'production' }).dev, false)
  t.match(normalizeOptions({ secret: SECRET }, { NODE_ENV: 'production' }).csrf, { secure: true })
  t.ok(Object.isFrozen(opts))
  const off = normalizeOptions({ headers: false, csp: false, csrf: false, rateLimit: false, fetchMetadata: false, hostGuard: false, redirectGuard: false }, { NODE_ENV: 'production' })
  t.match(off, { headers: false, csp: false, csrf: false, rateLimit: false, fetchMetadata: false, hostGuard: false, redirectGuard: false })
})

t.test('top-level options', async (t) => {
  rejects(t, { allowedHost: ['a.example'] }, 'FST_NEX_SECURITY_INVALID_OPTION', /option "allowedHost" must be left out \(the options are secret, dev,/)
  rejects(t, { hostGuard: 'yes' }, 'FST_NEX_SECURITY_INVALID_OPTION', /option "hostGuard" must be true or false, got "yes"/)
  rejects(t, { dev: 1 }, 'FST_NEX_SECURITY_INVALID_OPTION', /"dev" must be true or false, got 1/)
  rejects(t, { csp: 'strict' }, 'FST_NEX_SECURITY_INVALID_OPTION', /"csp" must be an object of options, or false, got "strict"/)
  rejects(t, { csrf: [] }, 'FST_NEX_SECURITY_INVALID_OPTION', /"csrf" must be an object of options, or false, got an array/)
  rejects(t, { allowedRedirectOrigins: ['//evil.example'] }, 'FST_NEX_SECURITY_INVALID_OPTION', /allowedRedirectOrigins\[0\]" must be an http\(s\) origin/)
  t.throws(() => normalizeOptions(null as unknown as SecurityOptions, {}), { code: 'FST_NEX_SECURITY_INVALID_OPTION' })
})

t.test('csp options', async (t) => {
  rejects(t, { csp: { directives: { 'scrpit-src': ["'self'"] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csp\.directives\["scrpit-src"\]" must be a CSP directive \(base-uri/)
  rejects(t, { csp: { directives: { 'script-src': "'self'" } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /must be an array of sources, or false, got "'self'"/)
  rejects(t, { csp: { directives: { 'script-src': ['self'] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /keywords in single quotes \("'self'"\), got "self"/)
  rejects(t, { csp: { directives: { 'img-src': ['https://a.example https://b.example'] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /without spaces/)
  rejects(t, { csp: { directives: { 'img-src': ["'self'; script-src *"] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /without spaces, ";" or ","/)
  rejects(t, { csp: { directives: { 'img-src': ['a.example,b'] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /without spaces, ";" or ","/)
  rejects(t, { csp: { directives: { 'img-src': [42] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /got 42/)
  rejects(t, { csp: { directives: { 'script-src': ["'self'", "'unsafe-eval'"] } } }, 'FST_NEX_SECURITY_UNSAFE_CSP', /'unsafe-eval' in csp\.directives\["script-src"\] is refused: it lets scripts run strings as code/)
  rejects(t, { csp: { directives: { 'script-src': ["'unsafe-inline'"] } } }, 'FST_NEX_SECURITY_UNSAFE_CSP', /'unsafe-inline' in csp\.directives\["script-src"\] is refused: replies that never read reply\.cspNonce/)
  rejects(t, { csp: { directives: { defaultSrc: ["'self'", "'unsafe-inline'"] } } }, 'FST_NEX_SECURITY_UNSAFE_CSP', /default-src/)
  rejects(t, { csp: { directives: { 'script-src': ["'nonce-abc'"] } } }, 'FST_NEX_SECURITY_UNSAFE_CSP', /a fixed nonce/)
  rejects(t, { csp: { reportUri: 'https://r.example/a b' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csp\.reportUri/)
  rejects(t, { csp: { reportUri: '/r', directives: { 'report-uri': ['/r2'] } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /left out when csp\.directives has "report-uri"/)
  rejects(t, { csp: { reportOnly: 'yes' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csp\.reportOnly/)
  rejects(t, { csp: { nonce: true } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csp\.nonce" must be left out/)
  rejects(t, { csp: { directives: [] } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csp\.directives/)
  // Allowed: 'unsafe-inline' for styles and attributes, hashes, strict-dynamic.
  t.doesNotThrow(() => normalizeOptions({ ...base, csp: { directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'script-src': ["'self'", "'strict-dynamic'", "'sha256-abc='"], 'style-src-attr': ["'unsafe-inline'"] } } }, {}))
})

t.test('csrf options', async (t) => {
  rejects(t, { csrf: { cookieName: 'a b' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.cookieName" must be a cookie name/)
  rejects(t, { csrf: { header: 'x csrf' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.header" must be a header name/)
  rejects(t, { csrf: { field: '' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.field" must be a non-empty string/)
  rejects(t, { csrf: { secure: 'yes' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.secure" must be true, false or 'auto'/)
  rejects(t, { csrf: { cookieName: '__Host-csrf' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.secure" must be true with the cookie name "__Host-csrf"/)
  rejects(t, { csrf: { sameSite: 'strict' } }, 'FST_NEX_SECURITY_INVALID_OPTION', /csrf\.sameSite" must be left out/)
  t.match(normalizeOptions({ ...base, csrf: { cookieName: '__Host-csrf', secure: true, header: 'X-XSRF-Token' } }, {}).csrf, { cookieName: '__Host-csrf', header: 'x-xsrf-token' })
})

t.test('headers options: ours to check, helmet\'s own checks run at register time', async (t) => {
  rejects(t, { headers: { contentSecurityPolicy: { directives: {} } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /headers\.contentSecurityPolicy" must be left out: the CSP is configured by the "csp" option/)
  rejects(t, { headers: { enableCSPNonces: true } }, 'FST_NEX_SECURITY_INVALID_OPTION', /headers\.enableCSPNonces/)
  rejects(t, { headers: { strictTransportSecurity: { maxAge: -1 } } }, 'FST_NEX_SECURITY_INVALID_OPTION', /"headers" must be valid helmet options, got .*maxAge/)
  t.match(normalizeOptions({ ...base, headers: { xFrameOptions: { action: 'deny' } } }, {}).headers, { xFrameOptions: { action: 'deny' }, referrerPolicy: { policy: 'strict-origin-when-cross-origin' } })
})

t.test('the secrets: option (an array rotates), NEX_SECRET, per-process in development, required in production', async (t) => {
  t.same((normalizeOptions({ secret: [SECRET, 'old-secret-0123456789abcdef-0123456789'] }, {}).csrf as { secrets: readonly string[] }).secrets, [SECRET, 'old-secret-0123456789abcdef-0123456789'])
  t.same((normalizeOptions({ secret: SECRET }, {}).csrf as { secrets: readonly string[] }).secrets, [SECRET])
  t.match(normalizeOptions({}, { NEX_SECRET: SECRET, NODE_ENV: 'production' }).csrf, { secrets: [SECRET], secretGenerated: false })
  const generated = normalizeOptions({}, {}).csrf
  t.match(generated, { secretGenerated: true })
  t.same((normalizeOptions({}, {}).csrf as { secrets: readonly string[] }).secrets, (generated as { secrets: readonly string[] }).secrets, 'one per process')
  t.throws(() => normalizeOptions({}, { NODE_ENV: 'production' }), errors.FST_NEX_SECURITY_MISSING_SECRET)
  t.throws(() => normalizeOptions({ dev: false }, {}), { code: 'FST_NEX_SECURITY_MISSING_SECRET', message: /NEX_SECRET/ })
  t.throws(() => normalizeOptions({}, { NEX_SECRET: 'short' }), { code: 'FST_NEX_SECURITY_WEAK_SECRET', message: /NEX_SECRET has 5 characters/ })
  t.throws(() => normalizeOptions({ secret: [SECRET, 'short'] }, {}), { code: 'FST_NEX_SECURITY_WEAK_SECRET', message: /secret\[1\]/ })
  t.throws(() => normalizeOptions({ secret: [] }, {}), { code: 'FST_NEX_SECURITY_INVALID_OPTION', message: /a string or a non-empty array of strings/ })
  t.throws(() => normalizeOptions({ secret: 42 as unknown as string }, {}), { code: 'FST_NEX_SECURITY_INVALID_OPTION' })
  t.notMatch(String((() => { try { normalizeOptions({ secret: 'hunter2' }, {}) } catch (error) { return (error as Error).message } })()), 'hunter2', 'never echoed')
})

t.test('rate-limit options are the rate limiter\'s to check', async (t) => {
  t.throws(() => normalizeOptions({ secret: SECRET, rateLimit: { max: -1 } }, {}), { code: 'FST_NEX_SECURITY_RATE_LIMIT_INVALID_OPTION' })
  t.equal(normalizeOptions({ secret: SECRET, rateLimit: false }, {}).rateLimit, false)
})

t.test('bad options fail the register call', async (t) => {
  await t.rejects(build(t, { csp: { directives: { 'script-src': ["'unsafe-eval'"] } } }), { code: 'FST_NEX_SECURITY_UNSAFE_CSP' })
  await t.rejects(build(t, { hostGuard: 0 as unknown as boolean }), errors.FST_NEX_SECURITY_INVALID_OPTION)
})

t.test('registered once; its name is @nex/security', async (t) => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(nexSecurity, base)
  t.ok(app.hasPlugin('@nex/security'))
  await t.rejects(async () => { await app.register(nexSecurity, base) }, { code: 'FST_NEX_SECURITY_CONFLICT', message: /Register it once/ })
})

t.test('the error catalogue: codes, statuses, and client errors that echo nothing', async (t) => {
  const statuses: Record<string, number> = {
    FST_NEX_SECURITY_CSRF_MISSING: 403,
    FST_NEX_SECURITY_CSRF_INVALID: 403,
    FST_NEX_SECURITY_CROSS_SITE: 403,
    FST_NEX_SECURITY_BAD_HOST: 400,
    FST_NEX_SECURITY_UNKNOWN_HOST: 421,
    FST_NEX_SECURITY_BAD_TARGET: 400,
    FST_NEX_SECURITY_UNSAFE_REDIRECT: 400,
    FST_NEX_SECURITY_CSRF_DISABLED: 500,
    FST_NEX_SECURITY_CONFLICT: 500,
    FST_NEX_SECURITY_MISSING_SECRET: 500,
    FST_NEX_SECURITY_RATE_LIMITED: 429
  }
  const catalogue = errors as unknown as Record<string, new (...args: unknown[]) => Error & { code: string, statusCode: number }>
  for (const [code, status] of Object.entries(statuses)) {
    const error = new (catalogue[code] as new (...args: unknown[]) => Error & { code: string, statusCode: number })('x', 'y', 'z')
    t.equal(error.code, code)
    t.equal(error.statusCode, status, code)
  }
  t.ok(new errors.FST_NEX_SECURITY_INVALID_OPTION('a', 'b', 'c') instanceof TypeError)
  for (const name of Object.keys(catalogue)) t.match(name, /^FST_NEX_SECURITY_/)
})
