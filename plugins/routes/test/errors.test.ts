// Error pages, the not-found page, and startup errors for invalid or conflicting route files.
import t from 'tap'
import Fastify from 'fastify'
import nexRoutes from '../src/index.js'
import { buildApp, fixture } from './helpers.js'

t.test('a throwing page renders _error; production hides the message', async t => {
  const app = await buildApp(t, 'app/src', { dev: false })
  const res = await app.inject('/boom')
  t.equal(res.statusCode, 500)
  t.match(res.body, /<h1 id="error-page">Error 500<\/h1>/)
  t.match(res.body, /^<!doctype html>/, 'inside the layouts')
  t.notMatch(res.body, /secret database password/)
  t.notMatch(res.body, /error-stack/)
  t.equal(res.headers['cache-control'], 'no-store')

  const fragment = await app.inject({ url: '/boom', headers: { 'hx-request': 'true', 'hx-request-type': 'partial' } })
  t.equal(fragment.statusCode, 500)
  t.notMatch(fragment.body, /<html/, 'htmx partial requests get a fragment')
  t.match(fragment.body, /id="error-page"/)
})

t.test('development shows the message and stack', async t => {
  const app = await buildApp(t, 'app/src', { dev: true })
  const res = await app.inject('/boom')
  t.match(res.body, /secret database password in message/)
  t.match(res.body, /id="error-stack"/)
})

t.test('the nearest _error page is used, with 4xx messages shown', async t => {
  const app = await buildApp(t, 'app/src', { dev: false })
  const res = await app.inject('/blog/missing')
  t.equal(res.statusCode, 404)
  t.match(res.body, /<h1 id="blog-error">Blog error 404<\/h1>/)
})

t.test('not found renders _404 without echoing the URL', async t => {
  const app = await buildApp(t, 'app/src')
  const url = '/<script>alert(1)</script>'
  const res = await app.inject(url)
  t.equal(res.statusCode, 404)
  t.match(res.body, /<h1 id="not-found">Nothing here \(404\)<\/h1>/)
  t.match(res.body, /<title>Not found<\/title>/)
  t.notMatch(res.body, /alert/)
  const fragment = await app.inject({ url: '/missing', headers: { 'hx-request': 'true', 'hx-request-type': 'partial' } })
  t.equal(fragment.body, '<h1 id="not-found">Nothing here (404)</h1>')
})

t.test('API errors are JSON and never leak 5xx messages in production', async t => {
  const app = await buildApp(t, 'app/src', { dev: false })
  const res = await app.inject({ method: 'POST', url: '/api/todos', payload: '{bad json', headers: { 'content-type': 'application/json' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
})

t.test('apps without @nex/state still render; ctx.state explains what is missing', async t => {
  const app = await buildApp(t, 'app/src', { dev: true }, false)
  const home = await app.inject('/')
  t.equal(home.statusCode, 200)
  t.notMatch(home.body, /data-nex-page-id/)
  const counter = await app.inject('/counter')
  t.equal(counter.statusCode, 500)
  t.match(counter.body, /register it before @nex\/routes/)
})

const startupErrors: Array<[name: string, code: string, message: RegExp]> = [
  ['conflict-index', 'FST_NEX_ROUTES_CONFLICT', /pages\/about\.ts and pages\/about\/index\.ts both serve \/about/],
  ['conflict-groups', 'FST_NEX_ROUTES_CONFLICT', /pages\/\(a\)\/x\.ts and pages\/\(b\)\/x\.ts both serve \/x/],
  ['conflict-params', 'FST_NEX_ROUTES_CONFLICT', /pages\/u\/\[id\]\.ts and pages\/u\/\[slug\]\.ts both serve \/u\/:param/],
  ['conflict-rest', 'FST_NEX_ROUTES_CONFLICT', /pages\/s\/\[\.\.\.a\]\.ts and pages\/s\/\[\[\.\.\.b\]\]\.ts both serve \/s\/\*/],
  ['conflict-api', 'FST_NEX_ROUTES_CONFLICT', /api\/x\.ts and pages\/api\/x\.ts both serve \/api\/x/],
  ['conflict-ext', 'FST_NEX_ROUTES_CONFLICT', /pages\/a\.js and pages\/a\.ts both serve \/a/],
  ['conflict-layout', 'FST_NEX_ROUTES_CONFLICT', /pages\/_layout\.js and pages\/_layout\.ts/],
  ['invalid-mixed', 'FST_NEX_ROUTES_INVALID_FILE', /pages\/foo-\[bar\]\.ts: .*a parameter must be a whole segment/],
  ['invalid-rest-folder', 'FST_NEX_ROUTES_INVALID_FILE', /must be the last part of the path/],
  ['invalid-param-name', 'FST_NEX_ROUTES_INVALID_FILE', /invalid parameter name/],
  ['invalid-optional', 'FST_NEX_ROUTES_INVALID_FILE', /optional parameters must be catch-alls/],
  ['invalid-chars', 'FST_NEX_ROUTES_INVALID_FILE', /not allowed in a URL segment/],
  ['invalid-group-file', 'FST_NEX_ROUTES_INVALID_FILE', /must be a folder/],
  ['invalid-nested-404', 'FST_NEX_ROUTES_INVALID_FILE', /pages\/sub\/_404\.ts: .*only read at pages\/_404/],
  ['invalid-api-layout', 'FST_NEX_ROUTES_INVALID_FILE', /api\/_layout\.ts: _layout files belong in pages/],
  ['invalid-no-default', 'FST_NEX_ROUTES_INVALID_FILE', /pages\/x\.ts: export default a render function/],
  ['invalid-actions', 'FST_NEX_ROUTES_INVALID_FILE', /the action "go" must be a function/],
  ['invalid-api-exports', 'FST_NEX_ROUTES_INVALID_FILE', /api\/x\.ts: export at least one handler named GET/],
  ['invalid-api-method', 'FST_NEX_ROUTES_INVALID_FILE', /the GET export must be a function/],
  ['invalid-dup-param', 'FST_NEX_ROUTES_INVALID_FILE', /the parameter "id" appears twice/]
]

for (const [name, code, message] of startupErrors) {
  t.test(`startup error: ${name}`, async t => {
    const app = Fastify()
    t.teardown(async () => await app.close())
    await t.rejects(async () => { await app.register(nexRoutes, { dir: fixture(name) }).ready() }, { code, message })
  })
}

t.test('invalid options fail at register with the option named', async t => {
  for (const [options, pattern] of [
    [{ dir: 'relative/src' }, /option "dir"/],
    [{ dir: fixture('does-not-exist') }, /no such folder/],
    [{ dir: fixture('app/src'), prefix: 'app' }, /option "prefix"/],
    [{ dir: fixture('app/src'), actionBodyLimit: -1 }, /option "actionBodyLimit"/],
    [{ dir: fixture('app/src'), dev: 'yes' }, /option "dev"/],
    [{ dir: fixture('app/src'), htmx: 'no-such-htmx-package' }, /option "htmx"/]
  ] as const) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(nexRoutes, options as never).ready() }, { code: 'FST_NEX_ROUTES_INVALID_OPTION', message: pattern })
    await app.close()
  }
})
