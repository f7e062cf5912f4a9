// The Content-Security-Policy: the strict default policy, nonces created only when read and fresh per
// reply, report-only mode, custom directives, route opt-outs (also for routes registered before the
// plugin), and the security headers of @fastify/helmet next to it (HSTS only over TLS).
import { get as httpsGet } from 'node:https'
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyHelmet from '@fastify/helmet'
import { createTestCertificate, opensslMissing } from '@nex/testing'
import nexSecurity, { compileCsp, DEFAULT_CSP_DIRECTIVES, errors } from '../src/index.js'
import { build, listen, SECRET } from './helpers.js'

const PLAIN = "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; " +
  "frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self'"

const NONCE = /^[A-Za-z0-9+/]{22}==$/

/** A page that puts its nonces in the markup, as a layout does. */
function page (app: import('fastify').FastifyInstance, url = '/page', config = {}): void {
  app.get(url, { config }, async (_request, reply) => {
    const { script, style } = reply.cspNonce
    reply.type('text/html')
    return `<script nonce="${script}" src="/app.js"></script><style nonce="${style}"></style>`
  })
}

function noncesOf (body: string): { script: string, style: string } {
  const [, script = '', style = ''] = /<script nonce="([^"]+)".*<style nonce="([^"]+)"/.exec(body) ?? []
  return { script, style }
}

t.test('a page that reads reply.cspNonce: the header carries the same nonces, fresh for every reply', async (t) => {
  const app = await build(t, {}, { routes: (app) => page(app) })
  const seen = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const response = await app.inject('/page')
    const { script, style } = noncesOf(response.body)
    t.match(script, NONCE, '128 bits, base64')
    t.equal(Buffer.from(script, 'base64').length, 16)
    t.match(style, NONCE)
    t.not(script, style, 'script and style nonces differ')
    t.equal(response.headers['content-security-policy'], PLAIN
      .replace("script-src 'self'", `script-src 'self' 'nonce-${script}'`)
      .replace("style-src 'self'", `style-src 'self' 'nonce-${style}'`))
    seen.add(script)
    seen.add(style)
  }
  t.equal(seen.size, 40, 'never a nonce twice')
})

t.test('a reply that never reads the nonce gets the strict policy without nonce sources', async (t) => {
  const app = await build(t, {}, {
    routes: (app) => {
      app.get('/api', async () => ({ ok: true }))
      app.get('/html', async (_request, reply) => reply.type('text/html').send('<p>no scripts</p>'))
    }
  })
  for (const url of ['/api', '/html', '/missing']) {
    const response = await app.inject(url)
    t.equal(response.headers['content-security-policy'], PLAIN, url)
    t.notMatch(String(response.headers['content-security-policy']), /nonce-/)
  }
  t.same(Object.keys(DEFAULT_CSP_DIRECTIVES), PLAIN.split('; ').map(directive => directive.split(' ')[0]), 'the documented defaults')
})

t.test('the nonce is created once per reply, however often it is read', async (t) => {
  const app = await build(t, {}, {
    routes: (app) => app.get('/', async (_request, reply) => {
      const first = reply.cspNonce
      const second = reply.cspNonce
      return { same: first === second, frozen: Object.isFrozen(first) }
    })
  })
  t.same((await app.inject('/')).json(), { same: true, frozen: true })
})

t.test('no policy ever allows eval', async (t) => {
  const app = await build(t, { csp: { directives: { 'script-src': ["'self'", 'https://cdn.example'], 'worker-src': ["'self'"] } } }, { routes: (app) => page(app) })
  const header = String((await app.inject('/page')).headers['content-security-policy'])
  t.notMatch(header, /unsafe-eval/)
  t.notMatch(PLAIN, /unsafe-eval/)
  for (const directive of ['script-src', 'default-src', 'scriptSrc', 'worker-src']) {
    await t.rejects(build(t, { csp: { directives: { [directive]: ["'self'", "'unsafe-eval'"] } } }), { code: 'FST_NEX_SECURITY_UNSAFE_CSP' }, directive)
  }
  await t.rejects(build(t, { csp: { directives: { 'script-src': ["'UNSAFE-EVAL'"] } } }), errors.FST_NEX_SECURITY_UNSAFE_CSP)
})

t.test('report-only mode sends Content-Security-Policy-Report-Only, with the report URI', async (t) => {
  const app = await build(t, { csp: { reportOnly: true, reportUri: '/csp-report' } }, { routes: (app) => page(app) })
  const response = await app.inject('/page')
  const { script, style } = noncesOf(response.body)
  t.equal(response.headers['content-security-policy'], undefined, 'nothing is enforced')
  t.equal(response.headers['content-security-policy-report-only'], `${PLAIN}; report-uri /csp-report`
    .replace("script-src 'self'", `script-src 'self' 'nonce-${script}'`)
    .replace("style-src 'self'", `style-src 'self' 'nonce-${style}'`))
  t.same(app.nexSecurity.csp, { header: 'content-security-policy-report-only', reportOnly: true, sameOriginScriptsNeedNonce: false })
  t.equal(response.headers['x-frame-options'], 'SAMEORIGIN', 'a report-only frame-ancestors stops no framing: X-Frame-Options stays')
})

t.test('route opt-outs: config.csp false drops the CSP, config.helmet false every security header', async (t) => {
  const app = await build(t, {}, {
    routes: (app) => {
      page(app, '/no-csp', { csp: false })
      page(app, '/no-headers', { helmet: false })
      page(app, '/explicit', { csp: true })
      // @fastify/helmet's form of the opt-out.
      page(app, '/helmet-skip', { helmet: { skipRoute: true } })
    }
  })
  const noCsp = await app.inject('/no-csp')
  t.equal(noCsp.headers['content-security-policy'], undefined)
  t.match(noCsp.body, /nonce="[^"]+"/, 'the nonce is still there to read')
  t.equal(noCsp.headers['x-content-type-options'], 'nosniff', 'the other headers stay')
  t.equal(noCsp.headers['x-frame-options'], 'SAMEORIGIN', 'X-Frame-Options guards framing where no CSP does')
  const noHeaders = await app.inject('/no-headers')
  t.equal(noHeaders.headers['content-security-policy'], undefined)
  t.equal(noHeaders.headers['x-content-type-options'], undefined)
  t.equal(noHeaders.headers['strict-transport-security'], undefined)
  t.match((await app.inject('/explicit')).headers['content-security-policy'], /'nonce-/)
  const helmetSkip = await app.inject('/helmet-skip')
  t.equal(helmetSkip.headers['content-security-policy'], undefined)
  t.equal(helmetSkip.headers['x-frame-options'], undefined)
})

t.test('routes registered before the plugin get the CSP and their opt-outs too', async (t) => {
  const app = await build(t, {}, {
    before: (app) => {
      page(app, '/early')
      page(app, '/early-off', { csp: false })
      page(app, '/early-no-headers', { helmet: false })
    }
  })
  const early = await app.inject('/early')
  t.equal(early.headers['content-security-policy'], PLAIN
    .replace("script-src 'self'", `script-src 'self' 'nonce-${noncesOf(early.body).script}'`)
    .replace("style-src 'self'", `style-src 'self' 'nonce-${noncesOf(early.body).style}'`))
  for (let i = 0; i < 2; i++) {
    t.equal((await app.inject('/early-off')).headers['content-security-policy'], undefined, `request ${i}`)
    const bare = await app.inject('/early-no-headers')
    t.equal(bare.headers['content-security-policy'], undefined)
    t.equal(bare.headers['x-frame-options'], undefined)
  }
})

t.test('an error after reading the nonce: the error page keeps the policy with that nonce', async (t) => {
  const app = await build(t, {}, {
    routes: (app) => {
      app.setErrorHandler(async (error: Error, _request, reply) => {
        reply.code(500).type('text/html')
        return `<script nonce="${reply.cspNonce.script}">/* error page */</script>${error.message}`
      })
      app.get('/boom', async (_request, reply) => {
        reply.header('x-nonce', reply.cspNonce.script)
        throw new Error('boom')
      })
    }
  })
  const response = await app.inject('/boom')
  t.equal(response.statusCode, 500)
  const nonce = String(response.headers['x-nonce'])
  t.match(response.headers['content-security-policy'], `'nonce-${nonce}'`)
  t.match(response.body, `nonce="${nonce}"`)
})

t.test('custom directives: merged over the defaults by name, camelCase accepted, false drops one', async (t) => {
  const app = await build(t, {
    csp: {
      directives: {
        imgSrc: ["'self'", 'https://images.example'],
        'font-src': false,
        'script-src-elem': ["'self'"],
        'upgrade-insecure-requests': [],
        'style-src': ["'self'", "'unsafe-inline'"]
      }
    }
  }, { routes: (app) => page(app) })
  const response = await app.inject('/page')
  const { script } = noncesOf(response.body)
  t.equal(response.headers['content-security-policy'],
    "default-src 'self'; base-uri 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'self'; " +
    "img-src 'self' https://images.example; object-src 'none'; script-src 'self' 'nonce-" + script + "'; " +
    "script-src-attr 'none'; style-src 'self' 'unsafe-inline'; script-src-elem 'self' 'nonce-" + script + "'; " +
    'upgrade-insecure-requests',
    "the nonce goes to script-src-elem too; not to a style-src with 'unsafe-inline' (browsers would ignore it)")
})

t.test("compileCsp: whether the site's own script files need the nonce", async (t) => {
  const needs = (directives: Array<[string, string[]]>): boolean =>
    compileCsp(directives.map(([name, sources]) => ({ name, sources })), false).sameOriginScriptsNeedNonce
  t.equal(needs([['default-src', ["'self'"]], ['script-src', ["'self'"]]]), false, "the default: 'self' lets them run")
  t.equal(needs([['default-src', ["'self'"]]]), false, 'script-src falls back to default-src')
  t.equal(needs([['img-src', ["'self'"]]]), false, 'no script directive: scripts are not restricted')
  t.equal(needs([['default-src', ["'none'"]]]), true, "default-src 'none' without script-src")
  t.equal(needs([['script-src', ["'self'", "'strict-dynamic'"]]]), true, "'strict-dynamic' makes browsers ignore 'self'")
  t.equal(needs([['script-src', ["'SELF'", "'STRICT-DYNAMIC'"]]]), true, 'keywords in any case')
  t.equal(needs([['script-src', ['https://cdn.example']]]), true, "a host list without 'self'")
  t.equal(needs([['script-src', ["'self'"]], ['script-src-elem', ['https://cdn.example']]]), true, 'script-src-elem decides for <script src>')
  t.equal(needs([['script-src', ["'none'"]], ['script-src-elem', ["'self'"]]]), false)
})

t.test('with the default policy, a page that reads no nonce gets the policy without one', async (t) => {
  const app = await build(t, {}, { routes: (app) => app.get('/', async (_request, reply) => { reply.type('text/html'); return '<script src="/app.js"></script>' }) })
  const response = await app.inject('/')
  t.equal(response.headers['content-security-policy'], PLAIN)
  t.same(app.nexSecurity.csp, { header: 'content-security-policy', reportOnly: false, sameOriginScriptsNeedNonce: false })
})

t.test('compileCsp: directives without nonce targets, and ones with several', async (t) => {
  const none = compileCsp([{ name: 'default-src', sources: ["'none'"] }], false)
  t.equal(none.usesNonces, false)
  t.equal(none.withNonces('a', 'b'), "default-src 'none'")
  const several = compileCsp([
    { name: 'style-src-elem', sources: [] },
    { name: 'script-src', sources: ["'none'"] },
    { name: 'script-src-elem', sources: ["'self'"] },
    { name: 'style-src', sources: ["'self'"] }
  ], false)
  t.equal(several.plain, "style-src-elem; script-src 'none'; script-src-elem 'self'; style-src 'self'")
  t.equal(several.withNonces('S', 'T'), "style-src-elem 'nonce-T'; script-src 'none'; script-src-elem 'self' 'nonce-S'; style-src 'self' 'nonce-T'")
})

t.test('security headers: helmet defaults without its CSP, referrer policy for the Origin check', async (t) => {
  const app = await build(t, {}, { routes: (app) => app.get('/', async () => 'ok') })
  const { headers } = await app.inject('/')
  t.equal(headers['x-content-type-options'], 'nosniff')
  t.equal(headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP (RFC 6797 §7.2)')
  t.equal(headers['x-frame-options'], undefined, 'browsers ignore it under an enforced frame-ancestors: not sent')
  t.equal(headers['referrer-policy'], 'strict-origin-when-cross-origin', 'not no-referrer: browsers then send Origin: null on same-origin POSTs')
  t.equal(headers['cross-origin-opener-policy'], 'same-origin')
  t.equal(headers['cross-origin-resource-policy'], 'same-origin')
  t.equal(headers['x-powered-by'], undefined)
  t.equal(headers['content-security-policy'], PLAIN, 'one CSP header, ours')

  const custom = await build(t, { headers: { referrerPolicy: { policy: 'no-referrer' }, strictTransportSecurity: { maxAge: 60 } } }, { routes: (app) => app.get('/', async () => 'ok') })
  const customHeaders = (await custom.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })).headers
  t.equal(customHeaders['referrer-policy'], 'no-referrer')
  t.equal(customHeaders['strict-transport-security'], undefined, 'X-Forwarded-Proto from a proxy Fastify does not trust: still plain HTTP')
})

t.test('HSTS: sent over TLS and behind a trusted TLS proxy, on every kind of reply; never over plain HTTP', async (t) => {
  const routes = (app: FastifyInstance): void => {
    app.get('/', async () => 'ok')
    app.get('/no-csp', { config: { csp: false } }, async () => 'ok')
  }
  const proxied = await build(t, { headers: { strictTransportSecurity: { maxAge: 60 } } }, { fastify: { trustProxy: '127.0.0.1' }, routes })
  for (const url of ['/', '/no-csp']) {
    const viaTls = await proxied.inject({ url, headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '127.0.0.1' })
    t.equal(viaTls.headers['strict-transport-security'], 'max-age=60; includeSubDomains', `${url}: X-Forwarded-Proto https from the trusted proxy`)
    t.equal(viaTls.headers['x-content-type-options'], 'nosniff')
    const plain = await proxied.inject({ url, headers: { 'x-forwarded-proto': 'http' }, remoteAddress: '127.0.0.1' })
    t.equal(plain.headers['strict-transport-security'], undefined, `${url}: plain HTTP behind the proxy`)
    t.equal(plain.headers['x-content-type-options'], 'nosniff', 'the other headers stay')
    const spoofed = await proxied.inject({ url, headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '10.9.9.9' })
    t.equal(spoofed.headers['strict-transport-security'], undefined, `${url}: X-Forwarded-Proto from a client that is not the proxy`)
  }
})

t.test('HSTS over a real TLS socket (NET-05)', { skip: opensslMissing() }, async (t) => {
  const tls = Fastify({ https: createTestCertificate() })
  t.teardown(async () => await tls.close())
  await tls.register(nexSecurity, { secret: SECRET, rateLimit: false })
  tls.get('/', async () => 'ok')
  const port = await listen(tls as unknown as FastifyInstance)
  const viaSocket = await new Promise<Record<string, unknown>>((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.headers))
    }).on('error', reject)
  })
  t.equal(viaSocket['strict-transport-security'], 'max-age=31536000; includeSubDomains')
})

t.test('csp: false and headers: false turn the parts off; reply.cspNonce is then not ours', async (t) => {
  const app = await build(t, { csp: false }, { routes: (app) => app.get('/', async (_request, reply) => ({ nonce: reply.cspNonce })) })
  const response = await app.inject('/')
  t.equal(response.headers['content-security-policy'], undefined)
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.same(response.json(), {}, 'no reply.cspNonce without the CSP')
  t.equal(app.nexSecurity.csp, null)

  const bare = await build(t, { csp: false, headers: false }, { routes: (app) => app.get('/', async () => 'ok') })
  const bareHeaders = (await bare.inject('/')).headers
  t.equal(bareHeaders['content-security-policy'], undefined)
  t.equal(bareHeaders['x-content-type-options'], undefined)
})

t.test('@fastify/helmet registered by the app: a startup error that says what to do', async (t) => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(fastifyHelmet)
  await t.rejects(async () => { await app.register(nexSecurity, { csp: false }) }, { code: 'FST_NEX_SECURITY_CONFLICT', message: /@fastify\/helmet.*headers: false/ })
  const withNonces = Fastify()
  t.teardown(async () => await withNonces.close())
  await withNonces.register(fastifyHelmet, { enableCSPNonces: true })
  await t.rejects(async () => { await withNonces.register(nexSecurity, { headers: false }) }, { code: 'FST_NEX_SECURITY_CONFLICT', message: /reply\.cspNonce/ })
  // With both parts off, the app's own helmet stays in charge.
  const own = Fastify()
  t.teardown(async () => await own.close())
  await own.register(fastifyHelmet)
  await own.register(nexSecurity, { csp: false, headers: false, csrf: false, rateLimit: false })
  own.get('/', async () => 'ok')
  t.match((await own.inject('/')).headers['content-security-policy'], /default-src 'self'/)
})
