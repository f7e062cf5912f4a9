// htmx and the Nex client, served from node_modules with long-lived cache headers.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { buildApp } from './helpers.js'

const require = createRequire(import.meta.url)

t.test('htmx 4 is served from node_modules at a versioned path, cached for a year', async t => {
  const app = await buildApp(t, 'app/src')
  const res = await app.inject('/_nex/htmx@4.0.1/htmx.min.js')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /javascript/)
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.ok(res.headers.etag, 'has an ETag')
  const dist = readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8')
  t.equal(res.body, dist, 'the file from node_modules')
  const again = await app.inject({ url: '/_nex/htmx@4.0.1/htmx.min.js', headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal((await app.inject('/_nex/htmx@4.0.1/ext/hx-sse.js')).statusCode, 200, 'extensions are served too')
})

t.test('only scripts are served from the htmx package', async t => {
  const app = await buildApp(t, 'app/src')
  for (const url of ['/_nex/htmx@4.0.1/skills/htmx-upgrade-from-htmx2.md', '/_nex/htmx@4.0.1/htmx.d.ts', '/_nex/htmx@4.0.1/../package.json', '/_nex/htmx@4.0.1/%2e%2e/package.json', '/_nex/htmx@4.0.1/', '/_nex/htmx@3.0.0/htmx.min.js']) {
    const res = await app.inject(url)
    t.ok(res.statusCode === 404 || res.statusCode === 403, `${url} → ${res.statusCode}`)
  }
})

t.test('the client script is served at a content-hashed URL', async t => {
  const app = await buildApp(t, 'no-layout')
  const page = await app.inject('/')
  const url = /src="(\/_nex\/client@[\w-]+\/nex-client\.js)"/.exec(page.body)?.[1]
  t.ok(url, 'the page links the client')
  const res = await app.inject(url as string)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(res.body, /htmx:config:request/)
  t.match(res.body, /htmx:configRequest/)
  t.notMatch(res.body, /\beval\s*\(|new Function|setTimeout\s*\(\s*["'`]/, 'nothing that needs unsafe-eval')
})

t.test('htmx 2 can be served instead', async t => {
  const app = await buildApp(t, 'no-layout', { htmx: 'htmx2' })
  const page = await app.inject('/')
  t.match(page.body, /src="\/_nex\/htmx@2\.0\.11\/htmx\.min\.js"/)
  t.equal((await app.inject('/_nex/htmx@2.0.11/htmx.min.js')).statusCode, 200)
})

t.test('scripts get the CSP nonce of the reply when a security plugin sets one', async t => {
  const { default: Fastify } = await import('fastify')
  const { default: nexRoutes } = await import('../src/index.js')
  const { fixture } = await import('./helpers.js')
  const app = Fastify()
  t.teardown(async () => await app.close())
  app.decorateReply('cspNonce', null as never)
  app.addHook('onRequest', async (_request, reply) => {
    (reply as unknown as { cspNonce: { script: string } }).cspNonce = { script: 'n0nce"<' }
  })
  await app.register(nexRoutes, { dir: fixture('no-layout') })
  const page = await app.inject('/')
  t.match(page.body, /<script src="\/_nex\/htmx@4\.0\.1\/htmx\.min\.js" nonce="n0nce&quot;&lt;"><\/script>/)
})

t.test('assets can be turned off', async t => {
  const app = await buildApp(t, 'no-layout', { assets: false })
  t.equal((await app.inject('/_nex/htmx@4.0.1/htmx.min.js')).statusCode, 404)
  t.notMatch((await app.inject('/')).body, /<script/)
})
