import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import nexState from '@nex/state'
import { createTestClient } from '../src/index.js'

const SECRET = 'test-secret-that-is-long-enough-0123456789'

/** A counter page written by hand: full renders start a page, htmx posts answer a fragment. */
async function build (t: Test): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(formbody)
  await app.register(nexState, { secret: SECRET })
  app.get('/', async (request, reply) => {
    const state = request.startPage()
    if (request.headers.cookie === undefined) reply.header('set-cookie', 'session=abc; Path=/; HttpOnly')
    return reply.type('text/html').send(`<body data-nex-page-id="${state.id}"><p id="count">${await state.get('count', 0)}</p></body>`)
  })
  app.post('/increment', async (request, reply) => {
    const count = await request.pageState.update('count', 0, (n) => n + 1)
    if (request.headers['hx-request'] === 'true') return reply.type('text/html').send(`<p id="count">${count}</p>`)
    return reply.type('text/html').send(`<body data-nex-page-id="${request.pageState.id}"><p id="count">${count}</p></body>`)
  })
  app.get('/fragment', async (_request, reply) =>
    reply.type('text/html').send(`<div data-nex-page-id="${app.nexState.issuePageId()}">other</div>`))
  app.post('/logout', async (_request, reply) => reply.header('set-cookie', 'session=; Max-Age=0').send({ ok: true }))
  app.all('/echo', async (request) => ({ headers: request.headers, body: request.body ?? null, carried: request.carriedPageId }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('adopts the page id of a full render and sends it on htmx requests', async (t) => {
  const app = await build(t)
  const client = createTestClient(app)
  t.equal(client.pageId, null)
  const page = await client.get('/')
  const id = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  t.equal(client.pageId, id)

  const fragment = await client.post('/increment', { htmx: true })
  t.equal(fragment.body, '<p id="count">1</p>')
  t.equal(client.pageId, id, 'a fragment keeps the page')

  const echo = await client.get('/echo', { htmx: true })
  t.match(echo.json(), { headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': id }, carried: id })
  t.notOk('hx-boosted' in echo.json().headers)
})

t.test('htmx modes', async (t) => {
  const app = await build(t)
  const client = createTestClient(app)
  const plain = await client.get('/echo')
  t.notOk('hx-request' in plain.json().headers, 'a plain request is the browser itself')
  const full = await client.get('/echo', { htmx: 'full' })
  t.match(full.json().headers, { 'hx-request': 'true', 'hx-request-type': 'full' })
  const boosted = await client.get('/echo', { htmx: 'boosted' })
  t.match(boosted.json().headers, { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-boosted': 'true' })

  await client.get('/')
  const first = client.pageId
  await client.get('/', { htmx: 'boosted' })
  t.not(client.pageId, first, 'a boosted navigation renders a new page, and the client follows')
  const second = client.pageId
  await client.get('/fragment', { htmx: 'partial' })
  t.equal(client.pageId, second, 'an id inside a fragment does not replace the page')
})

t.test('plain form posts carry the page id as a field', async (t) => {
  const app = await build(t)
  const client = createTestClient(app)
  await client.get('/')
  const id = client.pageId
  const echo = await client.post('/echo', { form: { name: 'Ann' } })
  t.same(echo.json().body, { name: 'Ann', _nex_page: id })
  t.equal(echo.json().carried, id)
  t.notOk('x-nex-page-id' in echo.json().headers, 'no header without htmx')

  const rendered = await client.post('/increment', { form: {} })
  t.match(rendered.body, '<p id="count">1</p>')
  t.equal(client.pageId, id, 'the re-rendered page keeps its id')

  const htmxForm = await client.post('/echo', { htmx: true, form: { name: 'Bob' } })
  t.same(htmxForm.json().body, { name: 'Bob' }, 'htmx sends the header instead')
  t.equal(htmxForm.json().carried, id)

  const json = await client.post('/echo', { json: { a: [1] } })
  t.same(json.json().body, { a: [1] })
  t.equal(json.json().headers['content-type'], 'application/json')
})

t.test('keeps cookies like a browser', async (t) => {
  const app = await build(t)
  const client = createTestClient(app)
  await client.get('/')
  t.equal(client.cookies.get('session'), 'abc')
  const echo = await client.get('/echo')
  t.equal(echo.json().headers.cookie, 'session=abc')
  await client.post('/logout')
  t.equal(client.cookies.size, 0, 'Max-Age=0 deletes the cookie')
  const after = await client.get('/echo')
  t.notOk('cookie' in after.json().headers)
})

t.test('pageId is settable and caller headers win', async (t) => {
  const app = await build(t)
  const client = createTestClient(app)
  client.pageId = 'forged'
  const refused = await client.post('/increment', { htmx: true })
  t.equal(refused.statusCode, 410)
  t.equal(refused.headers['hx-refresh'], 'true')
  await client.get('/')
  const echo = await client.get('/echo', { htmx: true, headers: { 'HX-Request-Type': 'full', 'X-Extra': '1' } })
  t.match(echo.json().headers, { 'hx-request-type': 'full', 'x-extra': '1' })
})

t.test('custom header and field names', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(formbody)
  await app.register(nexState, { secret: SECRET, header: 'x-page', field: 'pid' })
  app.all('/echo', async (request) => ({ carried: request.carriedPageId }))
  const client = createTestClient(app, { header: 'X-Page', field: 'pid' })
  client.pageId = app.nexState.issuePageId()
  t.equal((await client.get('/echo', { htmx: true })).json().carried, client.pageId)
  t.equal((await client.post('/echo', { form: {} })).json().carried, client.pageId)
})
