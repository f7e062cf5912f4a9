// The app-wide error answer (nexErrors) and Fastify's router errors (frameworkErrors from serverOptions):
// no 5xx message or stack in production in any of the three forms (page, htmx fragment, JSON), the full
// error in the log with the request id, once; development shows the stack; 404s and router errors never
// repeat the URL (SEC-08, PAR-07, checked over real sockets where the parser matters); validation 400s;
// the handler timeout as an htmx fragment (APP-01); living next to the app's own not-found handlers; and
// the app's `_error` page from @nex/routes used for every route.
import net from 'node:net'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import nexRoutes from '@nex/routes'
import { createServer } from '../src/create-server.js'
import { nexErrors } from '../src/error-handler.js'
import { echoesPath, errorInfo, statusOf } from '../src/lib/error-info.js'
import { isApiPath, prefersJson, wantsJson } from '../src/lib/request-kind.js'
import type { NexServerOptions } from '../src/server-options.js'

const SECRET = 'secret db password'
const ERROR_PAGES = fileURLToPath(new URL('./fixtures/error-pages', import.meta.url))

interface LogLine { level: number, reqId?: string, msg?: string, err?: { message?: string, stack?: string, type?: string } }

/** A pino destination that keeps every line, parsed. */
function captureLogs (): { stream: Writable, lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  return { stream, lines }
}

/** createServer() with nexErrors and routes that fail in the usual ways. */
async function buildApp (t: Test, dev: boolean, options: NexServerOptions = {}): Promise<{ app: FastifyInstance, lines: LogLine[] }> {
  const { stream, lines } = captureLogs()
  const app = createServer({ logger: { level: 'info', stream }, ...options }) as unknown as FastifyInstance
  t.teardown(() => app.close())
  await app.register(nexErrors, { dev })
  app.get('/boom', async () => { throw new Error(SECRET) })
  app.get('/api/boom', async () => { throw new Error(SECRET) })
  app.get('/data', { config: { nex: { kind: 'api' } } }, async () => { throw new Error(SECRET) })
  app.get('/unavailable', async (_request, reply) => {
    reply.header('retry-after', '7')
    throw Object.assign(new Error(`${SECRET}: redis is down`), { statusCode: 503, code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  })
  app.get('/conflict', async () => { throw Object.assign(new Error('That name is taken <b>'), { statusCode: 409, code: 'APP_TAKEN' }) })
  app.get('/echo/:id', async () => { throw Object.assign(new Error('Unknown item /echo/abc'), { statusCode: 404 }) })
  app.get('/p/:id', async () => 'ok')
  app.get('/string', async () => { throw 'a string' as unknown as Error }) // eslint-disable-line no-throw-literal
  app.post('/api/items', {
    schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } }
  }, async () => 'ok')
  app.post('/items', {
    schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } }
  }, async () => 'ok')
  app.get('/hang', async () => await new Promise(() => {}))
  return { app, lines }
}

interface RawResponse { status: number, headers: Record<string, string>, body: string }

/** Sends `GET <target>` exactly as written (no normalising client) and reads the answer. */
async function rawGet (port: number, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { text += chunk })
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`)
  await new Promise((resolve, reject) => {
    socket.once('close', resolve)
    socket.once('error', reject)
  })
  const split = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n')
  const parsed: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = text.slice(split + 4)
  if (parsed['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status: Number(statusLine.split(' ')[1]), headers: parsed, body }
}

function unchunk (data: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    const size = parseInt(data.slice(at, lineEnd), 16)
    if (!(size > 0)) return out
    out += data.slice(lineEnd + 2, lineEnd + 2 + size)
    at = lineEnd + 2 + size + 2
  }
}

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as net.AddressInfo).port
}

const HTMX = { 'hx-request': 'true', 'hx-request-type': 'partial' }

t.test('SEC-08 production: a 500 shows no message or stack as a page, a fragment or JSON', async (t) => {
  const { app, lines } = await buildApp(t, false)

  const page = await app.inject('/boom')
  t.equal(page.statusCode, 500)
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(page.headers['cache-control'], 'no-store')
  t.equal(page.headers.vary, 'HX-Request, HX-Request-Type')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.match(page.body, /^<!doctype html>/)
  t.match(page.body, /Internal Server Error/)
  t.notMatch(page.body, /secret|at .*\(|<script|style=/i, 'no message, stack, script or inline style')

  const fragment = await app.inject({ url: '/boom', headers: HTMX })
  t.equal(fragment.statusCode, 500)
  t.match(fragment.body, /^<section class="nex-error" role="alert"><h1>500<\/h1>/)
  t.notMatch(fragment.body, /<!doctype|secret/i)
  const htmx2 = await app.inject({ url: '/boom', headers: { 'hx-request': 'true' } })
  t.match(htmx2.body, /^<section class="nex-error"/, "htmx 2's bare HX-Request is a partial request")
  for (const full of [{ 'hx-request-type': 'full' }, { 'hx-boosted': 'true' }, { 'hx-history-restore-request': 'true' }]) {
    const res = await app.inject({ url: '/boom', headers: { 'hx-request': 'true', ...full } })
    t.match(res.body, /^<!doctype html>/, `a full page for ${Object.keys(full)[0]}`)
  }

  for (const request of [{ url: '/api/boom' }, { url: '/data' }, { url: '/boom', headers: { accept: 'application/json' } }]) {
    const json = await app.inject(request)
    t.equal(json.statusCode, 500)
    t.match(json.headers['content-type'], /^application\/json/)
    t.equal(json.headers['cache-control'], 'no-store')
    t.same(json.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' }, `JSON for ${request.url}`)
  }

  const errorLines = lines.filter((line) => line.level === 50)
  t.equal(errorLines.length, 9, 'one error line per failed request: no double logging')
  for (const line of errorLines) {
    t.match(line.err?.message, SECRET, 'the log keeps the full message')
    t.match(line.err?.stack, /at /, 'and the stack')
    t.type(line.reqId, 'string', 'with the request id')
  }
  const ids = new Set(errorLines.map((line) => line.reqId))
  t.equal(ids.size, 9, 'each line names its own request')
})

t.test('SEC-08 production: a 503 keeps its code and Retry-After; 4xx keep their (escaped) message', async (t) => {
  const { app } = await buildApp(t, false)
  const json = await app.inject({ url: '/unavailable', headers: { accept: 'application/json' } })
  t.equal(json.statusCode, 503)
  t.equal(json.headers['retry-after'], '7')
  t.same(json.json(), {
    statusCode: 503,
    code: 'FST_NEX_STATE_STORE_UNAVAILABLE',
    error: 'Service Unavailable',
    message: 'The service is temporarily unavailable. Please try again in a moment.'
  })
  const page = await app.inject('/unavailable')
  t.equal(page.headers['retry-after'], '7')
  t.notMatch(page.body, /secret|redis/)

  const conflict = await app.inject('/conflict')
  t.equal(conflict.statusCode, 409)
  t.match(conflict.body, '<p>That name is taken &lt;b&gt;</p>', 'a 4xx message is shown, escaped')
  const conflictJson = await app.inject({ url: '/conflict', headers: { accept: 'application/json' } })
  t.same(conflictJson.json(), { statusCode: 409, code: 'APP_TAKEN', error: 'Conflict', message: 'That name is taken <b>' })

  const echo = await app.inject('/echo/abc')
  t.equal(echo.statusCode, 404)
  t.notMatch(echo.body, '/echo/abc', 'a 4xx message that repeats the URL is replaced by the status text')
  t.match(echo.body, '<p>Not Found</p>')

  const thrownString = await app.inject('/string')
  t.equal(thrownString.statusCode, 500)
  t.notMatch(thrownString.body, 'a string')
})

t.test('development: the message and the stack are shown', async (t) => {
  const { app } = await buildApp(t, true)
  const page = await app.inject('/boom')
  t.equal(page.statusCode, 500)
  t.match(page.body, `<p>${SECRET}</p>`)
  t.match(page.body, /<pre>Error: secret db password\n\s+at /)
  const json = await app.inject('/api/boom')
  t.equal(json.json().message, SECRET)
})

t.test('a 400 from schema validation, as JSON and as HTML', async (t) => {
  const { app, lines } = await buildApp(t, false)
  const json = await app.inject({ method: 'POST', url: '/api/items', payload: { n: '<script>' } })
  t.equal(json.statusCode, 400)
  t.same(json.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: 'body/n must be integer' })
  const page = await app.inject({ method: 'POST', url: '/items', payload: { n: '<script>' }, headers: HTMX })
  t.equal(page.statusCode, 400)
  t.equal(page.body, '<section class="nex-error" role="alert"><h1>400</h1><p>body/n must be integer</p></section>')
  const badJson = await app.inject({ method: 'POST', url: '/api/items', headers: { 'content-type': 'application/json' }, payload: '<script>alert(1)</script>' })
  t.equal(badJson.statusCode, 400)
  t.notMatch(badJson.body, '<script>', 'the body sent is not repeated')
  t.equal(lines.filter((line) => line.level === 50).length, 0, '4xx are not logged as errors')
  t.ok(lines.some((line) => line.level === 30 && line.err?.message === 'body/n must be integer'), '4xx are logged at info')
})

t.test('SEC-08 404: "Not found" by request kind, never the URL', async (t) => {
  const { app } = await buildApp(t, false)
  const port = await listen(app)
  const raw = await rawGet(port, '/<script>alert(1)</script>')
  t.equal(raw.status, 404)
  t.match(raw.headers['content-type'], /^text\/html/)
  t.equal(raw.headers['cache-control'], 'no-store')
  t.match(raw.body, /^<!doctype html>.*<p>Not found<\/p>/s)
  t.notMatch(raw.body, /<script|alert\(1\)/)

  const encoded = await app.inject('/%3Cscript%3Ealert(1)%3C%2Fscript%3E')
  t.equal(encoded.statusCode, 404)
  t.notMatch(encoded.body, /script|alert\(1\)/)
  const fragment = await app.inject({ url: '/missing', headers: HTMX })
  t.equal(fragment.body, '<section class="nex-error" role="alert"><h1>404</h1><p>Not found</p></section>')
  const json = await app.inject('/api/missing-thing')
  t.same(json.json(), { statusCode: 404, code: 'FST_NEX_NOT_FOUND', error: 'Not Found', message: 'Not found' })
  t.notMatch(json.body, 'missing-thing')
})

t.test('PAR-07 router errors over real sockets: 400/414, an HTML error page, the URL not repeated', async (t) => {
  const { app, lines } = await buildApp(t, false)
  const port = await listen(app)
  const long = 'x'.repeat(200)
  const cases = [
    { target: '/p/%E0%A4%A', status: 400, code: 'FST_ERR_BAD_URL', needle: '%E0%A4%A' },
    { target: '/foo%', status: 400, code: 'FST_ERR_BAD_URL', needle: 'foo%' },
    { target: `/p/${long}`, status: 414, code: 'FST_ERR_MAX_PARAM_LENGTH', needle: long.slice(0, 20) }
  ]
  for (const { target, status, code, needle } of cases) {
    const page = await rawGet(port, target)
    t.equal(page.status, status, target)
    t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
    t.equal(page.headers['cache-control'], 'no-store')
    t.match(page.body, /^<!doctype html>/)
    t.notMatch(page.body, needle, 'the URL is not repeated')

    const fragment = await rawGet(port, target, HTMX)
    t.match(fragment.body, /^<section class="nex-error"/)
    t.notMatch(fragment.body, needle)

    const json = await rawGet(port, target, { accept: 'application/json' })
    t.equal(json.status, status)
    t.match(JSON.parse(json.body), { statusCode: status, code })
    t.notMatch(json.body, needle)
  }
  const logged = lines.filter((line) => line.level === 30 && line.err !== undefined && /FST_ERR_BAD_URL|FST_ERR_MAX_PARAM_LENGTH|not correctly encoded|too long/.test(JSON.stringify(line.err)))
  t.equal(logged.length, 9, 'each router error is logged once, at info')
  t.match(logged[0]?.err?.message, "'/p/%E0%A4%A' is not a valid url component", 'the log keeps what Fastify said (as the cause)')
})

t.test('PAR-07 without nexErrors: createServer() still answers router errors without the URL (JSON)', async (t) => {
  const app = createServer()
  t.teardown(() => app.close())
  app.get('/p/:id', async () => 'ok')
  const port = await listen(app as unknown as FastifyInstance)
  const bad = await rawGet(port, '/p/%E0%A4%A')
  t.equal(bad.status, 400)
  t.same(JSON.parse(bad.body), { statusCode: 400, code: 'FST_ERR_BAD_URL', error: 'Bad Request', message: 'The URL is not correctly encoded' })
  const long = await rawGet(port, `/p/${'y'.repeat(200)}`)
  t.equal(long.status, 414)
  t.same(JSON.parse(long.body), { statusCode: 414, code: 'FST_ERR_MAX_PARAM_LENGTH', error: 'URI Too Long', message: 'A part of the URL is too long' })

  const own = Fastify({ frameworkErrors: (_error, _request, reply) => { (reply as unknown as FastifyReply).code(400).send('mine') } })
  t.teardown(() => own.close())
  t.equal((await own.inject('/foo%')).body, 'mine', "an app's own frameworkErrors is kept by serverOptions()")
})

t.test('APP-01 the handler timeout (503) is an htmx error fragment for htmx requests', async (t) => {
  const { app } = await buildApp(t, false, { handlerTimeout: 50 })
  const fragment = await app.inject({ url: '/hang', headers: HTMX })
  t.equal(fragment.statusCode, 503)
  t.equal(fragment.body, '<section class="nex-error" role="alert"><h1>503</h1><p>The service is temporarily unavailable. Please try again in a moment.</p></section>')
  const json = await app.inject({ url: '/hang', headers: { accept: 'application/json' } })
  t.match(json.json(), { statusCode: 503, code: 'FST_ERR_HANDLER_TIMEOUT' })
})

t.test('errors of plugin routes and hooks reach the same handler', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexErrors, { dev: false })
  await app.register(async (child) => {
    child.addHook('onRequest', async () => { throw new Error(SECRET) })
    child.get('/hooked', async () => 'never')
  })
  const res = await app.inject('/hooked')
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, 'secret')
  t.match(res.body, /^<!doctype html>/)
})

t.test("the app's own not-found handlers keep working, set before or after nexErrors", async (t) => {
  t.test('set at the root after nexErrors', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(nexErrors, { dev: false })
    app.setNotFoundHandler(async (_request, reply) => await reply.code(404).send('app 404'))
    await app.ready()
    t.equal((await app.inject('/nope')).body, 'app 404')
  })
  t.test('set at the root before nexErrors', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.setNotFoundHandler(async (_request, reply) => await reply.code(404).send('app 404'))
    await app.register(nexErrors, { dev: false })
    await app.ready()
    t.equal((await app.inject('/nope')).body, 'app 404')
  })
  t.test('set under a prefix: that prefix is the app\'s, the rest is nexErrors\'', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(nexErrors, { dev: false })
    await app.register(async (child) => {
      child.setNotFoundHandler(async (_request, reply) => await reply.code(404).send('admin 404'))
    }, { prefix: '/admin' })
    await app.ready()
    t.equal((await app.inject('/admin/nope')).body, 'admin 404')
    t.match((await app.inject('/nope')).body, /^<!doctype html>.*Not found/s)
  })
  t.test('notFound: false leaves Fastify\'s default', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(nexErrors, { dev: false, notFound: false })
    const res = await app.inject('/nope')
    t.equal(res.statusCode, 404)
    t.match(res.json(), { error: 'Not Found' })
  })
})

t.test("@nex/routes: every route's errors use the app's _error page in its layouts", async (t) => {
  const { stream, lines } = captureLogs()
  const app = createServer({ logger: { level: 'info', stream } }) as unknown as FastifyInstance
  t.teardown(() => app.close())
  await app.register(nexErrors, { dev: false })
  app.get('/hand', async () => { throw new Error(SECRET) })
  app.get('/api/hand', async () => { throw new Error(SECRET) })
  app.get('/p/:id', async () => 'ok')
  await app.register(nexRoutes, { dir: ERROR_PAGES, dev: false })
  await app.ready()

  const page = await app.inject('/hand')
  t.equal(page.statusCode, 500)
  t.match(page.body, /<main id="app-layout"><h1 id="app-error">App error 500<\/h1>/, 'the _error page inside the layout')
  t.notMatch(page.body, 'secret')
  t.equal(page.headers['cache-control'], 'no-store')
  t.equal(page.headers.vary, 'HX-Request, HX-Request-Type')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  const fragment = await app.inject({ url: '/hand', headers: HTMX })
  t.match(fragment.body, /^<h1 id="app-error">App error 500<\/h1>/, 'the bare _error page for an htmx partial request')
  const json = await app.inject('/api/hand')
  t.same(json.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' }, 'API requests still get JSON')
  t.equal(lines.filter((line) => line.level === 50).length, 3, 'logged once each (by @nex/routes for the pages)')

  const port = await listen(app)
  const bad = await rawGet(port, '/p/%E0%A4%A')
  t.equal(bad.status, 400)
  t.match(bad.body, /<main id="app-layout"><h1 id="app-error">App error 400<\/h1><p id="app-error-message">The URL is not correctly encoded<\/p>/)
  t.notMatch(bad.body, '%E0')
  const unknown = await app.inject('/no/such/page')
  t.equal(unknown.statusCode, 404, "@nex/routes' own not-found handler (prefix '') answers unknown URLs")
  t.notMatch(unknown.body, 'no/such')
})

t.test('@nex/routes under a prefix: unknown URLs outside it get the _error page with 404', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexErrors, { dev: false })
  await app.register(nexRoutes, { dir: ERROR_PAGES, prefix: '/app', dev: false })
  await app.ready()
  const outside = await app.inject('/elsewhere/<b>')
  t.equal(outside.statusCode, 404)
  t.match(outside.body, /<h1 id="app-error">App error 404<\/h1><p id="app-error-message">Not found<\/p>/)
  t.notMatch(outside.body, /elsewhere|<b>/)
  t.equal(outside.headers['cache-control'], 'no-store')
  const inside = await app.inject('/app/')
  t.equal(inside.statusCode, 200)
})

t.test('options are checked at register; the plugin is registered once', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(nexErrors, { dev: 'yes' as unknown as boolean }) }, { code: 'FST_NEX_ERRORS_INVALID_OPTION', message: /"dev" must be true or false, got "yes"/ })
  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(nexErrors)
  await t.rejects(async () => { await twice.register(nexErrors) }, { code: 'FST_NEX_ERRORS_ALREADY_REGISTERED' })
  const dev = Fastify()
  t.teardown(() => dev.close())
  await dev.register(nexErrors)
  t.equal(dev.nexErrors.dev, process.env.NODE_ENV !== 'production', 'dev defaults to NODE_ENV !== production')
})

t.test('lib: request kind, status and what an error may show', async (t) => {
  t.equal(prefersJson(undefined), false)
  t.equal(prefersJson('*/*'), false)
  t.equal(prefersJson('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), false, 'a browser navigation')
  t.equal(prefersJson('application/json'), true)
  t.equal(prefersJson('application/json, text/plain, */*'), true, 'axios')
  t.equal(prefersJson('application/problem+json'), true)
  t.equal(prefersJson('text/html, application/json;q=0.9'), false)
  t.equal(prefersJson('application/json;q=0.5, text/html;q=0.9'), false)
  t.equal(prefersJson('application/json;q=0, */*'), false)
  t.equal(isApiPath('/api'), true)
  t.equal(isApiPath('/api/x'), true)
  t.equal(isApiPath('/api?x=1'), true)
  t.equal(isApiPath('/apiary'), false)
  t.equal(wantsJson('/api/x', undefined, 'page'), false, 'a page route is never JSON')
  t.equal(wantsJson('/x', undefined, 'api'), true)
  t.equal(statusOf({ statusCode: 404 }), 404)
  t.equal(statusOf({ status: 429 }), 429)
  t.equal(statusOf({ statusCode: 200 }), 500)
  t.equal(statusOf({ statusCode: 600 }), 500)
  t.equal(statusOf({ validation: [] }), 400)
  t.equal(echoesPath('bad /a%20b', '/a%20b?x'), true)
  t.equal(echoesPath('bad /a b', '/a%20b'), true, 'decoded too')
  t.equal(echoesPath('anything', '/'), false)
  t.same(errorInfo({ message: 'x', code: 'C', stack: 's' }, 500, false, '/'), { statusCode: 500, message: 'Internal Server Error' })
  t.same(errorInfo({ message: 'x', code: 'C', stack: 's' }, 502, true, '/'), { statusCode: 502, message: 'x', code: 'C', stack: 's' })
})
