// Static files (nexStatic): SEC-09 traversal and dotfiles over real sockets with the request line exactly
// as written (`curl --path-as-is`: inject and undici would normalise it), in both routing modes; cache
// headers for plain and fingerprinted names; 304 on If-None-Match; no index or listing unless asked;
// pre-compressed files; unknown URLs reaching the app's not-found answer; options checked at register.
import { brotliCompressSync } from 'node:zlib'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { nexErrors } from '../src/error-handler.js'
import { nexStatic, FINGERPRINTED } from '../src/static-files.js'
import type { StaticOptions } from '../src/static-files-options.js'

const OUTSIDE = 'TOP-SECRET-OUTSIDE-ROOT'
const DOTENV = 'DATABASE_PASSWORD=leaked'
const GITCONFIG = '[remote "origin"] url = git@example.com:leak.git'
const HIDDEN = 'hidden-file-contents'
const APP_JS = 'console.log("app")\n'

/** A site folder in a temporary directory: dotfiles and `.git` cannot live in the repository's fixtures. */
function makeSite (t: Test): { dir: string, root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nex-static-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'public')
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(join(root, '.git'))
  writeFileSync(join(dir, 'secret'), OUTSIDE)
  writeFileSync(join(dir, 'secret.txt'), OUTSIDE)
  writeFileSync(join(root, '.env'), DOTENV)
  writeFileSync(join(root, '.git', 'config'), GITCONFIG)
  writeFileSync(join(root, 'sub', '.hidden'), HIDDEN)
  writeFileSync(join(root, 'sub', 'page.html'), '<p>sub page</p>')
  writeFileSync(join(root, 'index.html'), '<h1>index</h1>')
  writeFileSync(join(root, 'app.js'), APP_JS)
  writeFileSync(join(root, 'app.3f9a1c2e.js'), APP_JS)
  writeFileSync(join(root, 'index-BxK3a9_Z.css'), 'body{}')
  writeFileSync(join(root, 'app.settings.js'), APP_JS)
  writeFileSync(join(root, 'big.js'), 'x'.repeat(5000))
  writeFileSync(join(root, 'big.js.br'), brotliCompressSync(Buffer.from('x'.repeat(5000))))
  return { dir, root }
}

async function buildApp (t: Test, options: StaticOptions): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexErrors, { dev: false })
  app.get('/page', async () => 'a page')
  await app.register(nexStatic, options)
  return app
}

interface RawResponse { status: number, headers: Record<string, string>, body: string }

/** Sends the request line exactly as written and reads the answer (Connection: close). */
async function raw (port: number, target: string, method = 'GET'): Promise<RawResponse> {
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { text += chunk })
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
  await new Promise((resolve, reject) => {
    socket.once('close', resolve)
    socket.once('error', reject)
  })
  const split = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim()
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) }
}

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as net.AddressInfo).port
}

const ATTACKS = [
  '/../secret', '/../secret.txt', '/%2e%2e/secret', '/%2E%2E/secret.txt', '/..%2fsecret', '/..%2Fsecret.txt',
  '/%2e%2e%2fsecret', '/sub/../../secret', '/sub/%2e%2e/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret',
  '/..%5csecret', '/sub/..%5c..%5csecret.txt', '/%5c..%5csecret', '/app.js%00', '/app.js%00.html', '/%00',
  '/.env', '/.git/config', '/.git/', '/.git', '/sub/.hidden', '/%2eenv', '/%2eenv%00', '/sub/%2ehidden', '/./.env',
  '//.env', '/sub//.hidden', '/.%2fenv', '/..', '/.'
]
const LEAKS = [OUTSIDE, DOTENV, GITCONFIG, HIDDEN]

for (const wildcard of [false, true]) {
  t.test(`SEC-09 traversal and dotfiles over raw sockets (wildcard: ${wildcard}): 403/404, never the file`, async (t) => {
    const { root } = makeSite(t)
    const app = await buildApp(t, { root, wildcard })
    const port = await listen(app)
    for (const target of ATTACKS) {
      const res = await raw(port, target)
      t.ok(res.status === 403 || res.status === 404, `${target} → ${res.status}`)
      for (const leak of LEAKS) t.notOk(res.body.includes(leak), `${target} does not leak`)
    }
    for (const target of ['/.env', '/.git/config', '/sub/.hidden']) {
      t.equal((await raw(port, target)).status, 404, `${target} is 404 (measured default: 200)`)
    }
    const ok = await raw(port, '/app.js')
    t.equal(ok.status, 200, 'a real file is still served')
    t.equal(ok.body, APP_JS)
  })
}

t.test('SEC-09 unknown URLs and refused ones get the app\'s error page, not a bare answer', async (t) => {
  const { root } = makeSite(t)
  const app = await buildApp(t, { root })
  const port = await listen(app)
  const res = await raw(port, '/.env')
  t.equal(res.status, 404)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<p>Not found<\/p>/)
  const wild = await buildApp(t, { root, wildcard: true, prefix: '/static' })
  const wildPort = await listen(wild)
  const forbidden = await raw(wildPort, '/static/sub/%2e%2e/%2e%2e/secret')
  t.equal(forbidden.status, 403)
  t.match(forbidden.headers['content-type'], /^text\/html/, "the wildcard guard's 403 goes through nexErrors")
  t.notMatch(forbidden.body, /secret/i)
  const missing = await raw(wildPort, '/static/nope.js')
  t.equal(missing.status, 404)
  t.match(missing.body, /<p>Not found<\/p>/)
})

t.test('cache headers: revalidated by default, immutable for fingerprinted names; ETag and 304', async (t) => {
  const { root } = makeSite(t)
  const app = await buildApp(t, { root })
  const plain = await app.inject('/app.js')
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers['cache-control'], 'public, max-age=0, must-revalidate')
  t.match(plain.headers.etag, /^(W\/)?"/)
  t.type(plain.headers['last-modified'], 'string')
  t.match(plain.headers['content-type'], /javascript/)
  for (const name of ['app.3f9a1c2e.js', 'index-BxK3a9_Z.css']) {
    const hashed = await app.inject(`/${name}`)
    t.equal(hashed.headers['cache-control'], 'public, max-age=31536000, immutable', name)
  }
  t.equal((await app.inject('/app.settings.js')).headers['cache-control'], 'public, max-age=0, must-revalidate', 'a word is not a hash')

  const again = await app.inject({ url: '/app.js', headers: { 'if-none-match': plain.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')
  t.equal(again.headers['cache-control'], 'public, max-age=0, must-revalidate', 'the 304 carries the cache header too')
  const since = await app.inject({ url: '/app.js', headers: { 'if-modified-since': plain.headers['last-modified'] as string } })
  t.equal(since.statusCode, 304)
  const changed = await app.inject({ url: '/app.js', headers: { 'if-none-match': '"other"' } })
  t.equal(changed.statusCode, 200)

  const head = await app.inject({ method: 'HEAD', url: '/app.js' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')

  const longer = await buildApp(t, { root, maxAge: 600, immutable: false })
  t.equal((await longer.inject('/app.js')).headers['cache-control'], 'public, max-age=600, must-revalidate')
  t.equal((await longer.inject('/app.3f9a1c2e.js')).headers['cache-control'], 'public, max-age=600, must-revalidate', 'immutable: false')
})

t.test('no index, no listing, no redirect unless asked; routes only for files', async (t) => {
  const { root } = makeSite(t)
  const app = await buildApp(t, { root })
  t.equal((await app.inject('/')).statusCode, 404, 'no index.html for /')
  t.equal((await app.inject('/sub/')).statusCode, 404, 'no listing')
  t.equal((await app.inject('/sub')).statusCode, 404, 'no redirect')
  t.equal((await app.inject('/sub/page.html')).body, '<p>sub page</p>')
  t.equal((await app.inject('/page')).body, 'a page', "the app's routes are untouched")
  t.notOk(app.hasRoute({ method: 'GET', url: '/.env' }), 'no route for a dotfile')
  t.ok(app.hasRoute({ method: 'GET', url: '/app.js' }), 'a route per file, fixed at startup')

  const withIndex = await buildApp(t, { root, index: 'index.html', prefix: '/site' })
  t.equal((await withIndex.inject('/site/')).body, '<h1>index</h1>')
  t.equal((await withIndex.inject('/site/app.js')).body, APP_JS, 'served below the prefix')
  t.equal((await withIndex.inject('/app.js')).statusCode, 404)
})

t.test('preCompressed: x.br is sent to clients that accept br', async (t) => {
  const { root } = makeSite(t)
  const app = await buildApp(t, { root, preCompressed: true })
  const br = await app.inject({ url: '/big.js', headers: { 'accept-encoding': 'br, gzip' } })
  t.equal(br.statusCode, 200)
  t.equal(br.headers['content-encoding'], 'br')
  t.match(br.headers.vary, /accept-encoding/i)
  const identity = await app.inject({ url: '/big.js', headers: { 'accept-encoding': 'identity' } })
  t.equal(identity.headers['content-encoding'], undefined)
  t.equal(identity.body, 'x'.repeat(5000))
})

t.test('root: a missing folder serves nothing, a file:// URL works, a file is refused', async (t) => {
  const { dir, root } = makeSite(t)
  const missing = await buildApp(t, { root: join(dir, 'nope') })
  t.equal((await missing.inject('/app.js')).statusCode, 404)
  const url = await buildApp(t, { root: pathToFileURL(root) })
  t.equal((await url.inject('/app.js')).body, APP_JS)
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(nexStatic, { root: join(dir, 'secret') }) }, { code: 'FST_NEX_STATIC_INVALID_OPTION', message: /"root" must be a folder/ })
})

t.test('options are checked at register', async (t) => {
  const cases: Array<[StaticOptions, RegExp]> = [
    [{ prefix: 'static' }, /"prefix" must be a path starting with "\/"/],
    [{ prefix: '/a/../b' }, /"prefix"/],
    [{ wildcard: 'yes' as unknown as boolean }, /"wildcard" must be true or false/],
    [{ index: [] }, /"index"/],
    [{ index: ['a/b.html'] }, /"index"/],
    [{ immutable: 'hash' as unknown as RegExp }, /"immutable" must be a RegExp/],
    [{ immutable: /x/g }, /without the g or y flag/],
    [{ maxAge: -1 }, /"maxAge" must be a whole number of seconds/],
    [{ root: 42 as unknown as string }, /"root" must be a folder path or a file: URL/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(nexStatic, options) }, { code: 'FST_NEX_STATIC_INVALID_OPTION', message }, JSON.stringify(options))
  }
})

t.test('lib: fingerprinted names', async (t) => {
  const yes = ['app.3f9a1c2e.js', 'main.8d5e0f1a2b3c.min.js', 'index-BxK3a9_Z.js', 'chunk.0123abcd.js.map', 'logo.a1b2c3d4e5f6.svg', 'app.3f9a1c2e.js.br']
  const no = ['app.js', 'app.settings.js', 'jquery-3.7.1.min.js', 'report-20240101.pdf', 'bootstrap.bundle.min.js', 'abc123.js', 'app.3f9a1c2.js', 'favicon.ico', '.3f9a1c2e', 'app-3f9a1c2e']
  for (const name of yes) t.ok(FINGERPRINTED.test(name), name)
  for (const name of no) t.notOk(FINGERPRINTED.test(name), name)
})
