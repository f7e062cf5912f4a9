// The routing table of DESIGN.md §4, row by row, on the fixture tree test/fixtures/app/src.
import t from 'tap'
import { buildApp } from './helpers.js'

t.test('every row of the routing table', async t => {
  const app = await buildApp(t, 'app/src')
  const get = async (url: string) => await app.inject({ method: 'GET', url })

  const cases: Array<[url: string, status: number, contains: string]> = [
    ['/', 200, '<h1>Home</h1>'], // pages/index.ts
    ['/about', 200, '<h1>About</h1>'], // pages/about.ts
    ['/users/42', 200, '<h1>User 42</h1>'], // pages/users/[id].ts
    ['/users/new', 200, '<h1>New user</h1>'], // static beats [id]
    ['/docs/a', 200, '<p id="slug">[&quot;a&quot;]</p>'], // [...slug]: one segment
    ['/docs/a/b/c', 200, '<p id="slug">[&quot;a&quot;,&quot;b&quot;,&quot;c&quot;]</p>'],
    ['/shop', 200, '<p id="slug">[]</p>'], // [[...slug]]: empty array when absent
    ['/shop/x/y', 200, '<p id="slug">[&quot;x&quot;,&quot;y&quot;]</p>'],
    ['/pricing', 200, '<h1>Pricing</h1>'], // (marketing) left out of the URL
    ['/plain', 200, '<h1>Plain JS</h1>'], // .js page
    ['/module', 200, '<h1>ESM</h1>'], // .mjs page
    ['/blog/hello', 200, '<h1>Post</h1>']
  ]
  for (const [url, status, contains] of cases) {
    const res = await get(url)
    t.equal(res.statusCode, status, `GET ${url} status`)
    t.ok(res.body.includes(contains), `GET ${url} renders ${contains}`)
  }
})

t.test('catch-all needs at least one segment', async t => {
  const app = await buildApp(t, 'app/src')
  const res = await app.inject('/docs/')
  t.equal(res.statusCode, 404)
  t.match(res.body, /id="not-found"/)
  const bare = await app.inject('/docs')
  t.equal(bare.statusCode, 404)
})

t.test('ignored files are not routed', async t => {
  const app = await buildApp(t, 'app/src')
  for (const url of ['/_helpers', '/_private/secret', '/index.test', '/types', '/types.d', '/_layout', '/_404', '/_error', '/partials/greeting', '/greeting', '/(marketing)/pricing']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, `${url} is not a route`)
  }
})

t.test('layouts nest, outermost is the document', async t => {
  const app = await buildApp(t, 'app/src')
  const res = await app.inject('/pricing')
  t.match(res.body, /^<!doctype html><html><head><title>Fixture<\/title>/)
  t.match(res.body, /<main id="root-layout"><section id="marketing-layout"><div data-nex-page-id="[^"]+"><h1>Pricing<\/h1><\/div><\/section><\/main>/)
  const about = await app.inject('/about')
  t.notMatch(about.body, /marketing-layout/, 'a group layout only wraps pages in its group')
})

t.test('head export reaches the layouts (object and function)', async t => {
  const app = await buildApp(t, 'app/src')
  t.match((await app.inject('/')).body, /<title>Home<\/title>/)
  t.match((await app.inject('/users/7')).body, /<title>User 7<\/title>/)
})

t.test('partials are imported by pages, escaped by html', async t => {
  const app = await buildApp(t, 'app/src')
  t.match((await app.inject('/')).body, /<p class="greeting">Hello &lt;world&gt;<\/p>/)
})

t.test('HEAD works wherever GET does', async t => {
  const app = await buildApp(t, 'app/src')
  for (const url of ['/', '/users/1', '/api/todos', '/api/items/3']) {
    const res = await app.inject({ method: 'HEAD', url })
    t.equal(res.statusCode, 200, `HEAD ${url}`)
    t.equal(res.body, '', `HEAD ${url} has no body`)
  }
})

t.test('API files: methods, JSON, 405 with Allow', async t => {
  const app = await buildApp(t, 'app/src')
  const list = await app.inject('/api/todos')
  t.equal(list.statusCode, 200)
  t.match(list.headers['content-type'], /application\/json/)
  t.same(list.json(), [{ id: 1, text: 'first' }])

  const created = await app.inject({ method: 'POST', url: '/api/todos', payload: { text: 'second' } })
  t.equal(created.statusCode, 201)
  t.same(created.json(), { id: 2, text: 'second' })

  const form = await app.inject({ method: 'POST', url: '/api/todos', payload: 'text=third', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.same(form.json(), { id: 3, text: 'third' }, 'urlencoded bodies are parsed')

  t.same((await app.inject('/api/items/9')).json(), { id: '9' })
  const deleted = await app.inject({ method: 'DELETE', url: '/api/items/9' })
  t.equal(deleted.statusCode, 204, 'undefined is 204')
  const text = await app.inject({ method: 'PUT', url: '/api/items/9' })
  t.equal(text.body, 'plain text')
  t.match(text.headers['content-type'], /text\/plain/)

  for (const method of ['PATCH', 'POST'] as const) {
    const res = await app.inject({ method, url: '/api/items/9' })
    t.equal(res.statusCode, 405, `${method} is not allowed`)
    t.equal(res.headers.allow, 'GET, HEAD, PUT, DELETE')
    t.equal(res.json().code, 'FST_NEX_ROUTES_METHOD_NOT_ALLOWED')
  }
  const put = await app.inject({ method: 'PUT', url: '/api/todos' })
  t.equal(put.headers.allow, 'GET, HEAD, POST')

  t.same((await app.inject('/api/files/a/b.txt')).json(), { path: ['a', 'b.txt'] }, 'API catch-all')
  const missing = await app.inject('/api/nope')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'FST_NEX_ROUTES_NOT_FOUND', 'unknown API URLs get JSON')
})

t.test('pages without actions answer 405 to unsafe methods', async t => {
  const app = await buildApp(t, 'app/src')
  const res = await app.inject({ method: 'POST', url: '/about' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'GET, HEAD')
})

t.test('the route table can be listed', async t => {
  const app = await buildApp(t, 'app/src')
  const rows = app.nexRoutes.routes.map(r => `${r.kind} ${r.urls.join(' ')} ${r.file}`).sort()
  t.same(rows, [
    'api /api/files/* api/files/[...path].ts',
    'api /api/items/:id api/items/[id].ts',
    'api /api/todos api/todos/index.ts',
    'page / pages/index.ts',
    'page /about pages/about.ts',
    'page /blog/:slug pages/blog/[slug].ts',
    'page /boom pages/boom.ts',
    'page /counter pages/counter.ts',
    'page /docs/* pages/docs/[...slug].ts',
    'page /module pages/module.mjs',
    'page /plain pages/plain.js',
    'page /pricing pages/(marketing)/pricing.ts',
    'page /shop /shop/* pages/shop/[[...slug]].ts',
    'page /users/:id pages/users/[id].ts',
    'page /users/new pages/users/new.ts'
  ])
  const counter = app.nexRoutes.routes.find(r => r.file === 'pages/counter.ts')
  t.same(counter?.actions, ['increment', 'slow', 'add', 'go', 'evil', 'nothing', 'invalid', 'note', 'headers'])
  t.same(app.nexRoutes.routes.find(r => r.file === 'api/items/[id].ts')?.methods, ['GET', 'HEAD', 'PUT', 'DELETE'])
})

t.test('a prefix mounts everything below it, next to hand-written routes', async t => {
  const { default: Fastify } = await import('fastify')
  const { default: nexState } = await import('@nex/state')
  const { default: nexRoutes } = await import('../src/index.js')
  const { fixture, SECRET } = await import('./helpers.js')
  const app = Fastify()
  t.teardown(async () => await app.close())
  app.get('/hand-written', async () => ({ ok: true }))
  await app.register(nexState, { secret: SECRET })
  await app.register(nexRoutes, { dir: fixture('prefix-app'), prefix: '/app' })
  const page = await app.inject('/app')
  t.equal(page.statusCode, 200)
  t.match(page.body, /href="\/app\/about"/, 'ctx.url adds the prefix')
  t.match(page.body, /src="\/app\/_nex\/htmx@4\.0\.1\/htmx\.min\.js"/, 'assets below the prefix')
  t.equal((await app.inject('/app/about')).statusCode, 200)
  t.same((await app.inject('/app/api/ping')).json(), { pong: true })
  t.equal((await app.inject('/about')).statusCode, 404, 'nothing outside the prefix')
  t.same((await app.inject('/hand-written')).json(), { ok: true })
  const outside = await app.inject('/nope')
  t.notMatch(outside.body, /nex-error/, 'the 404 page only covers the prefix')
})

t.test('an app without layouts gets the built-in document', async t => {
  const app = await buildApp(t, 'no-layout')
  const res = await app.inject('/')
  t.match(res.body, /^<!doctype html><html lang="en"><head><meta charset="utf-8">/)
  t.match(res.body, /<title>Bare &lt;title&gt;<\/title>/)
  t.match(res.body, /<script src="\/_nex\/htmx@4\.0\.1\/htmx\.min\.js"><\/script><script src="\/_nex\/client@[\w-]+\/nex-client\.js" defer><\/script>/)
  t.match(res.body, /<body><div data-nex-page-id="[^"]+"><h1>No layout<\/h1><\/div><\/body>/)
})
