// The host guard (RELIABILITY PAR-04), over real sockets: Node accepts duplicate and malformed Host
// headers, absolute-form targets and dot-segments (inject would normalise or refuse to send them); the
// guard answers 400 with a body that never echoes the input, and 421 for hosts not in allowedHosts.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createHostMatcher, hasDotSegment, parseHost } from '../src/index.js'
import { build, listen, rawRequest, type RawResponse } from './helpers.js'

async function serve (t: Test, options = {}): Promise<{ app: FastifyInstance, port: number, hits: () => number }> {
  let hits = 0
  const app = await build(t, { csrf: false, ...options }, {
    routes: (app) => {
      app.all('/*', async () => {
        hits++
        return 'served'
      })
    }
  })
  return { app, port: await listen(app), hits: () => hits }
}

function expectRefused (t: Test, response: RawResponse, status: number, code: string, input: string): void {
  t.equal(response.status, status, `${JSON.stringify(input)}: ${status}`)
  t.equal((JSON.parse(response.body) as { code: string }).code, code)
  t.notMatch(response.body, 'evil', 'the body never echoes the input')
}

t.test('PAR-04: duplicate and malformed Host headers get 400 BAD_HOST', async (t) => {
  const { port, hits } = await serve(t)
  const duplicate = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example')
  expectRefused(t, duplicate, 400, 'FST_NEX_SECURITY_BAD_HOST', 'duplicate Host')
  t.match(duplicate.body, /more than one Host header/)
  const caseDuplicate = await rawRequest(port, 'GET / HTTP/1.1\r\nhost: localhost\r\nHOST: evil.example')
  expectRefused(t, caseDuplicate, 400, 'FST_NEX_SECURITY_BAD_HOST', 'duplicate Host, other case')
  for (const host of ['a b/c', 'evil.example:98777', 'evil.example:65536', 'user@evil.example', 'evil.example/x', 'evil\\example',
    'evil.example:', 'evil.example:+80', 'evil.example:8o', '[::1', '[zz::1]:80', '[::1]x', '%65vil.example', 'evil..example', '.evil.example',
    'evil.example:80:80', '']) {
    const response = await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}`)
    expectRefused(t, response, 400, 'FST_NEX_SECURITY_BAD_HOST', host)
  }
  t.equal(hits(), 0, 'no handler ran')
  for (const host of ['localhost', 'localhost:3000', '127.0.0.1:65535', '[::1]:8080', '[::1]', 'example.com.', 'my_service:80', 'EXAMPLE.com']) {
    t.equal((await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}`)).status, 200, host)
  }
})

t.test('PAR-04: absolute-form targets get 400 BAD_TARGET; OPTIONS * is served', async (t) => {
  const { port, hits } = await serve(t)
  for (const target of ['http://evil.example/x', 'https://evil.example/', '*']) {
    const response = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: localhost`)
    expectRefused(t, response, 400, 'FST_NEX_SECURITY_BAD_TARGET', target)
  }
  t.equal((await rawRequest(port, 'GET evil.example/x HTTP/1.1\r\nHost: localhost')).status, 400, 'refused by the parser already')
  // Paths an app redirecting to its own request.url would turn into another host.
  for (const target of ['//evil.example/x', '/\\evil.example', '/%2fevil.example', '/%5Cevil.example']) {
    const response = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: localhost`)
    expectRefused(t, response, 400, 'FST_NEX_SECURITY_BAD_TARGET', target)
    t.match(response.body, /the path starts with/)
  }
  t.equal(hits(), 0)
  const options = await rawRequest(port, 'OPTIONS * HTTP/1.1\r\nHost: localhost')
  t.not(options.status, 400, 'OPTIONS * is the one non-path target')
})

t.test('PAR-04: dot-segments, literal or percent-encoded, get 400 BAD_TARGET', async (t) => {
  const { port, hits } = await serve(t)
  for (const path of ['/a/../../x', '/../etc/passwd', '/%2e%2e/x', '/%2E%2E/x', '/.%2e/x', '/a/./b', '/a/..', '/a/.', '/a/%2e',
    '/a/..%2fb', '/a/..%2F..%2Fevil', '/a/..\\b', '/a/%5c..%5cb', '/static/%2e%2e%2fevil']) {
    const response = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: localhost`)
    expectRefused(t, response, 400, 'FST_NEX_SECURITY_BAD_TARGET', path)
  }
  t.equal(hits(), 0)
  for (const path of ['/file.txt', '/.well-known/security.txt', '/a..b', '/...', '/a/.hidden', '/x?next=/../y', '/x?a=%2e%2e', '/v1.2/x', '/%2e%2e%2e']) {
    t.equal((await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: localhost`)).status, 200, path)
  }
})

t.test('allowedHosts: other hosts get 421 UNKNOWN_HOST (DNS rebinding)', async (t) => {
  const { port } = await serve(t, { allowedHosts: ['example.com', '*.example.org', 'LOCALHOST', '[::1]'] })
  for (const host of ['example.com', 'example.com:8080', 'EXAMPLE.COM.', 'a.example.org', 'a.b.example.org', 'localhost:3000', '[::1]:80']) {
    t.equal((await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}`)).status, 200, host)
  }
  for (const host of ['evil.example', 'example.org', 'www.example.com', 'example.com.evil.example', '127.0.0.1']) {
    const response = await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}`)
    expectRefused(t, response, 421, 'FST_NEX_SECURITY_UNKNOWN_HOST', host)
  }
  const http10 = await rawRequest(port, 'GET / HTTP/1.0')
  t.equal(http10.status, 421, 'HTTP/1.0 without Host cannot show it is ours')
})

t.test('HTTP/1.0 without Host is served when no hosts are listed (load-balancer health checks)', async (t) => {
  const { port } = await serve(t)
  t.equal((await rawRequest(port, 'GET / HTTP/1.0')).status, 200)
})

t.test('behind a trusted proxy, X-Forwarded-Host is checked too', async (t) => {
  let hits = 0
  const app = await build(t, { csrf: false, allowedHosts: ['example.com'] }, {
    fastify: { trustProxy: '127.0.0.1' },
    routes: (app) => { app.get('/', async () => { hits++; return 'ok' }) }
  })
  const port = await listen(app)
  t.equal((await rawRequest(port, 'GET / HTTP/1.1\r\nHost: app:3000\r\nX-Forwarded-Host: example.com')).status, 200)
  expectRefused(t, await rawRequest(port, 'GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Host: evil.example'), 421, 'FST_NEX_SECURITY_UNKNOWN_HOST', 'forwarded')
  expectRefused(t, await rawRequest(port, 'GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Host: evil example'), 400, 'FST_NEX_SECURITY_BAD_HOST', 'forwarded malformed')
  t.equal(hits, 1)
})

t.test('the guard runs for every route, also ones registered before the plugin and 404s', async (t) => {
  const app = await build(t, { csrf: false }, { before: (app) => { app.get('/early', async () => 'early') } })
  const port = await listen(app)
  expectRefused(t, await rawRequest(port, 'GET /early HTTP/1.1\r\nHost: a\r\nHost: evil'), 400, 'FST_NEX_SECURITY_BAD_HOST', 'early route')
  expectRefused(t, await rawRequest(port, 'GET /nothing/../here HTTP/1.1\r\nHost: a'), 400, 'FST_NEX_SECURITY_BAD_TARGET', '404')
  t.equal((await rawRequest(port, 'GET /early HTTP/1.1\r\nHost: a')).status, 200)
})

t.test('hostGuard: false lets Node\'s leniency through', async (t) => {
  const { port } = await serve(t, { hostGuard: false })
  t.equal((await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b')).status, 200)
  await t.rejects(build(t, { hostGuard: false, allowedHosts: ['a.example'] }), { code: 'FST_NEX_SECURITY_INVALID_OPTION', message: /allowedHosts.*hostGuard is false/ })
})

t.test('allowedHosts entries are hostnames without ports', async (t) => {
  for (const bad of ['example.com:80', 'https://example.com', '*example.com', 'a b', '', '::1', '*.', 42]) {
    await t.rejects(build(t, { allowedHosts: [bad as string] }), { code: 'FST_NEX_SECURITY_INVALID_OPTION', message: /allowedHosts\[0\]/ }, String(bad))
  }
})

t.test('parseHost', async (t) => {
  t.same(parseHost('Example.COM:8080'), { hostname: 'example.com', port: 8080 })
  t.same(parseHost('[::1]'), { hostname: '[::1]', port: null })
  t.same(parseHost('[2001:DB8::1]:443'), { hostname: '[2001:db8::1]', port: 443 })
  t.same(parseHost('10.0.0.1:0'), { hostname: '10.0.0.1', port: 0 })
  for (const bad of ['a:65536', 'a:99999', 'a b', 'a/b', 'u@a', 'a:', ':80', '[::1', '[]', '[::g]', 'a.' + 'b'.repeat(64), 'x'.repeat(254)]) {
    t.equal(parseHost(bad), null, bad)
  }
})

t.test('hasDotSegment', async (t) => {
  for (const path of ['/..', '/.', '/../', '/a/./b', '/%2e%2E/', '/a/.%2E', '/a\\..\\b', '/a/..%5Cb', '/a/..#x', '..', '/a/..?q']) t.ok(hasDotSegment(path), path)
  for (const path of ['/', '/a.b', '/..a', '/a..', '/...', '/.a/b', '/a?x=/../', '/a#/../', '/%2e%2e%2e']) t.notOk(hasDotSegment(path), path)
})

t.test('createHostMatcher', async (t) => {
  const matches = createHostMatcher(['example.com', '*.example.org'])
  t.ok(matches('example.com'))
  t.ok(matches('example.com.'))
  t.ok(matches('deep.sub.example.org'))
  t.notOk(matches('example.org'))
  t.notOk(matches('badexample.org'))
  t.notOk(matches('example.com.evil'))
})
