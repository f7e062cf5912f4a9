// The redirect guard (RELIABILITY SEC-05): Location, HX-Redirect and HX-Location must point to a path on
// this site or an allowed origin; otherwise the response becomes a 400 through the error handler, with
// the redirect headers gone. Property tests fuzz the predicate and the whole app with fast-check.
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { hxLocationTarget, isSafeRedirectTarget, isSameOriginPath } from '../src/index.js'
import { build, json } from './helpers.js'

const HEADERS = ['location', 'hx-redirect', 'hx-location'] as const

/** `GET /go?to=…&via=<header>&code=…` answers with that redirect header set to `to`. */
function redirects (app: FastifyInstance): void {
  app.get<{ Querystring: { to: string, via?: string, code?: string } }>('/go', async (request, reply) => {
    const { to, via = 'location', code } = request.query
    if (via === 'location') return await reply.redirect(to, Number(code ?? 302))
    reply.header(via, to).header('hx-trigger', 'saved').header('hx-retarget', '#main')
    reply.setCookie?.('kept', '1')
    return 'fragment'
  })
}

async function go (app: FastifyInstance, to: string, via: string = 'location'): Promise<import('fastify').LightMyRequestResponse> {
  return await app.inject({ url: '/go', query: { to, via } })
}

t.test('same-origin paths pass, on every redirect header', async (t) => {
  const app = await build(t, {}, { routes: redirects })
  for (const via of HEADERS) {
    for (const to of ['/', '/todos', '/todos?filter=done#top', '/a/b%20c', '/search?q=https://evil.example']) {
      const response = await go(app, to, via)
      t.equal(response.headers[via], to, `${via}: ${to}`)
      t.not(response.statusCode, 400)
    }
  }
  const json = await go(app, '{"path":"/todos","target":"#main"}', 'hx-location')
  t.equal(json.statusCode, 200, 'the JSON form of HX-Location')
})

t.test('SEC-05: targets off the site become 400 UNSAFE_REDIRECT, with the redirect and htmx headers removed', async (t) => {
  const logs: string[] = []
  const app = await build(t, {}, {
    fastify: { logger: { level: 'warn', stream: { write: (line: string) => logs.push(line) } } },
    routes: redirects
  })
  const attacks = ['https://evil.example', '//evil.example', '/\\evil.example', '%2F%2Fevil.example', '/%2F%2Fevil.example', 'javascript:alert(1)',
    '\x01/evil.example', '/%09/evil.example', ' /x', 'relative/path', '?/action', '']
  for (const via of HEADERS) {
    for (const to of attacks) {
      const response = await go(app, to, via)
      t.equal(response.statusCode, 400, `${via}: ${JSON.stringify(to)}`)
      t.equal(json(response).code, 'FST_NEX_SECURITY_UNSAFE_REDIRECT')
      t.notMatch(response.body, 'evil', 'the body does not carry the target')
      for (const header of [...HEADERS, 'hx-trigger', 'hx-retarget']) t.equal(response.headers[header], undefined, `no ${header}`)
    }
  }
  for (const to of ['{"path":"//evil.example"}', '{"path":"javascript:alert(1)"}', '{"path":42}', '{"path":', '{}', '[]']) {
    t.equal((await go(app, to, 'hx-location')).statusCode, 400, `HX-Location ${to}`)
  }
  const permanent = await app.inject({ url: '/go', query: { to: 'https://evil.example', code: '301' } })
  t.equal(permanent.statusCode, 400, 'a 3xx status becomes the error status')
  t.match(logs.join(''), /refused a response redirecting off the site/)
  t.match(logs.join(''), /"header":"location","target":"https:\/\/evil.example"/, 'the log names the header and the target')
})

t.test('the app\'s error handler renders the refusal; cookies set by the handler are kept', async (t) => {
  const app = await build(t, {}, {
    routes: (app) => {
      redirects(app)
      app.setErrorHandler(async (error: Error & { statusCode?: number, code?: string }, _request, reply) => {
        reply.code(error.statusCode ?? 500).type('text/html')
        return `<p class="error">${error.code}</p>`
      })
    }
  })
  const response = await go(app, 'https://evil.example', 'hx-redirect')
  t.equal(response.statusCode, 400)
  t.equal(response.body, '<p class="error">FST_NEX_SECURITY_UNSAFE_REDIRECT</p>')
  t.equal(response.cookies.filter(cookie => cookie.name === 'kept').length, 1, 'once')
})

t.test('allowedRedirectOrigins: absolute URLs on those origins pass, lookalikes do not', async (t) => {
  const app = await build(t, { allowedRedirectOrigins: ['https://accounts.example', 'http://localhost:4000'] }, { routes: redirects })
  for (const to of ['https://accounts.example/login?next=/x', 'https://ACCOUNTS.example:443/', 'http://localhost:4000/cb']) {
    t.equal((await go(app, to)).statusCode, 302, to)
  }
  for (const to of ['https://accounts.example.evil/', 'https://accounts.example@evil.example/', 'http://accounts.example/', 'https://accounts.example:8443/',
    'http://localhost:4001/', 'javascript://accounts.example/%0aalert(1)', 'https://accounts.example\t.evil/', ' https://accounts.example/']) {
    t.equal((await go(app, to)).statusCode, 400, to)
  }
  t.ok(app.nexSecurity.isSafeRedirect('https://accounts.example/x'))
  t.notOk(app.nexSecurity.isSafeRedirect('https://evil.example/x'))
  t.ok(app.nexSecurity.isSafeRedirect('/x'))
})

t.test('redirectGuard: false leaves redirects alone', async (t) => {
  const app = await build(t, { redirectGuard: false }, { routes: redirects })
  t.equal((await go(app, 'https://evil.example')).headers.location, 'https://evil.example')
  await t.rejects(build(t, { redirectGuard: false, allowedRedirectOrigins: ['https://a.example'] }), { code: 'FST_NEX_SECURITY_INVALID_OPTION' })
})

/** An attack target with some characters' case flipped and some percent-encoded (upper or lower hex). */
const attackTarget = fc.tuple(
  fc.constantFrom('https://evil', '//evil', '/\\evil', '%2F%2Fevil', 'javascript:alert(1)', '\x01/evil', '/%2F/evil', '/%5cevil',
    '\t//evil', '/\t/evil', '/%09/evil', 'http:evil', 'https:/evil', 'data:text/html,<script>x</script>', '\\\\evil', '//evil%2F', '/%2fevil'),
  fc.array(fc.record({ at: fc.nat(), encode: fc.boolean(), lower: fc.boolean() }), { maxLength: 5 }),
  fc.constantFrom('', '/', '/path', '?q=1', '#x')
).map(([base, edits, suffix]) => {
  let target = base
  for (const { at, encode, lower } of edits) {
    const i = at % target.length
    const char = target.charAt(i)
    if (char === '%') continue
    const replacement = encode
      ? `%${char.charCodeAt(0).toString(16).padStart(2, '0')[lower ? 'toLowerCase' : 'toUpperCase']()}`
      : (lower ? char.toLowerCase() : char.toUpperCase())
    target = target.slice(0, i) + replacement + target.slice(i + 1)
  }
  return target + suffix
})

const safePath = fc.tuple(
  fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/), { maxLength: 4 }),
  fc.option(fc.stringMatching(/^[A-Za-z0-9=&/:.]{0,16}$/), { nil: undefined })
).map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${query}`}`)
  .filter(path => !path.startsWith('//'))

t.test('property: every mutated attack target is refused by the predicate', async (t) => {
  const none: ReadonlySet<string> = new Set()
  const allowed: ReadonlySet<string> = new Set(['https://good.example'])
  fc.assert(fc.property(attackTarget, (target) =>
    !isSameOriginPath(target) && !isSafeRedirectTarget(target, none) && !isSafeRedirectTarget(target, allowed) &&
    hxLocationTarget(JSON.stringify({ path: target })) === target
  ), { numRuns: 2000 })
  t.pass('2000 attack targets refused')
  fc.assert(fc.property(safePath, (path) => isSameOriginPath(path) && isSafeRedirectTarget(path, none)), { numRuns: 1000 })
  t.pass('1000 same-origin paths accepted')
})

t.test('property: whatever a route puts in a redirect header, what leaves is a same-origin path or a 400', async (t) => {
  const app = await build(t, {}, { routes: redirects })
  await fc.assert(fc.asyncProperty(fc.oneof(attackTarget, safePath), fc.constantFrom(...HEADERS), async (to, via) => {
    const response = await go(app, to, via)
    if (response.statusCode === 400) return HEADERS.every(header => response.headers[header] === undefined)
    const sent = String(response.headers[via])
    const path = via === 'hx-location' ? hxLocationTarget(sent) : sent
    return path !== null && path.startsWith('/') && !/^\/[/\\]/.test(path) && !/^[a-z][a-z0-9+.-]*:/i.test(path)
  }), { numRuns: 600 })
  t.pass('600 responses checked')
})
