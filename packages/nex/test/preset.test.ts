/**
 * The nex preset end to end: `createApp()` registers every plugin in working order on a small app
 * (a page with page state and actions, an API route, a static file), each part can be left out with
 * `false`, bad options are coded errors, `REDIS_URL` moves state and rate-limit counters to Redis (the
 * preset closes the connection it opened), and `appSecret()` keeps a production secret in a file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { createTestClient, startRedisServer } from '@nex/testing'
import { appSecret, createApp, type CreateAppOptions } from '../src/index.js'

const DIR = fileURLToPath(new URL('./fixtures/preset-app', import.meta.url))
const SECRET = 'a-preset-test-secret-of-at-least-32-chars'
const PRODUCTION = { NODE_ENV: 'production', NEX_SECRET: SECRET }

async function app (t: Test, options: Partial<CreateAppOptions> = {}): Promise<FastifyInstance> {
  const instance = await createApp({ dir: DIR, env: PRODUCTION, server: { logger: false }, ...options })
  t.teardown(() => instance.close())
  return instance
}

t.test('every part on: page under the strict CSP and with the CSRF token, actions need the token, health, metrics, static, errors', async t => {
  const server = await app(t)
  const browser = createTestClient(server)
  const page = await browser.get('/')
  t.equal(page.statusCode, 200)
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, "script-src 'self'; script-src-attr 'none'", 'a strict CSP: scripts of this site only')
  t.notMatch(csp, /'nonce-|'unsafe-inline'/, 'no nonce, no inline code: the page reads no nonce, so none is made')
  t.match(page.body, '<script src="/_nex/htmx@', 'htmx is loaded')
  t.equal([...page.body.matchAll(/<script\b/g)].length, [...page.body.matchAll(/<script src="\/_nex\/[^"]+"( defer)?><\/script>/g)].length, 'every script tag is a file of this site')
  t.notMatch(page.body, /\bnonce=/, 'and carries no nonce')
  t.match(page.body, /<meta name="csrf-token" content="[^"]+">/)
  t.match(page.body, /<input type="hidden" name="_csrf" value="[^"]+">/, 'forms get the token as a hidden field')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.notOk(String(page.headers['content-security-policy']).includes('unsafe-eval'))

  const refused = await server.inject({ method: 'POST', url: '/?/increment', headers: { 'x-nex-page-id': browser.pageId as string, cookie: `_csrf=${browser.cookies.get('_csrf') as string}` } })
  t.equal(refused.statusCode, 403, 'an action without the token is refused')
  t.match(refused.body, /<h1>403<\/h1>/, 'as the error page of the page (actions are page routes)')
  const counted = await browser.post('/?/increment', { htmx: true })
  t.equal(counted.statusCode, 200)
  t.match(counted.body, '<b id="n">1</b>', 'with the token the action runs')
  const plainForm = await browser.post('/?/increment', { form: {} })
  t.equal(plainForm.statusCode, 200, 'a plain form post carries the hidden field')
  t.match(plainForm.body, '<b id="n">2</b>')

  const api = await server.inject({ method: 'POST', url: '/api/echo', payload: { a: 1 } })
  t.equal(api.statusCode, 200, 'an API route with config.csrf false takes token-less clients')

  const failed = await browser.post('/?/fail', { htmx: true })
  t.equal(failed.statusCode, 500)
  t.notMatch(failed.body, 'secret', 'a 5xx never shows its message in production')

  t.equal((await server.inject('/healthz')).statusCode, 200)
  t.equal((await server.inject('/readyz')).statusCode, 200)
  const metrics = await server.inject('/metrics')
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /http_request_duration_seconds_count\{[^}]*route="\/"/)
  t.match(metrics.body, 'nex_page_state_pages')

  const css = await server.inject('/app.css')
  t.equal(css.statusCode, 200)
  t.match(css.headers['cache-control'], 'must-revalidate')
  const missing = await server.inject('/no/such/page/<script>')
  t.equal(missing.statusCode, 404)
  t.notMatch(missing.body, '<script>', 'the 404 page never echoes the URL')
})

t.test("a policy under which the site's own files need the nonce ('strict-dynamic') gets it on every script tag", async t => {
  const server = await app(t, { security: { csp: { directives: { 'script-src': ["'self'", "'strict-dynamic'"] } } } })
  t.equal(server.nexSecurity.csp?.sameOriginScriptsNeedNonce, true)
  const page = await createTestClient(server).get('/')
  const nonce = /script-src 'self' 'strict-dynamic' 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1]
  t.ok(nonce, 'the header carries this reply\'s nonce')
  const tags = [...page.body.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag)
  t.ok(tags.length >= 2)
  t.ok(tags.every((tag) => tag.includes(` nonce="${nonce as string}"`)), 'and every script tag carries it')
})

t.test('each part can be left out with false', async t => {
  const bare = await app(t, { security: false, metrics: false, health: false, underPressure: false, compress: false, static: false, session: false, sse: false, websocket: false })
  const page = await bare.inject('/')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['content-security-policy'], undefined)
  t.notMatch(page.body, 'csrf-token')
  t.equal((await bare.inject('/metrics')).statusCode, 404)
  t.equal((await bare.inject('/healthz')).statusCode, 404)
  t.equal((await bare.inject('/app.css')).statusCode, 404)
  t.notOk(bare.hasDecorator('nexSse') || bare.hasDecorator('nexWebSocket') || bare.hasDecorator('nexSession'))
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1] as string
  const action = await bare.inject({ method: 'POST', url: '/?/increment', headers: { 'hx-request': 'true', 'x-nex-page-id': pageId } })
  t.equal(action.statusCode, 200, 'no CSRF without security')

  const noRoutes = await app(t, { routes: false, state: false })
  t.equal((await noRoutes.inject('/')).statusCode, 404)
  t.notOk(noRoutes.hasDecorator('nexState'))
})

t.test('bad options are coded errors at startup', async t => {
  await t.rejects(createApp({} as CreateAppOptions), { code: 'FST_NEX_INVALID_OPTION', message: /"dir"/ })
  await t.rejects(createApp({ dir: DIR, env: PRODUCTION, metrics: 'yes' as never }), { code: 'FST_NEX_INVALID_OPTION', message: /"metrics"/ })
  await t.rejects(createApp({ dir: DIR, env: { NODE_ENV: 'production' }, server: { logger: false } }), { code: 'FST_NEX_STATE_MISSING_SECRET' }, 'production without a secret')
})

t.test('REDIS_URL: page state and rate-limit counters in Redis, the connection closed with the app', async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const inspector = new Redis(redis.url)
  t.teardown(() => { inspector.disconnect() })
  const server = await createApp({ dir: DIR, env: { ...PRODUCTION, REDIS_URL: redis.url }, server: { logger: false } })
  const browser = createTestClient(server)
  await browser.get('/')
  t.equal((await browser.post('/?/increment', { htmx: true })).statusCode, 200)
  const keys = await inspector.keys('*')
  t.ok(keys.some(key => key.startsWith('nex:page:')), 'the page lives in Redis')
  t.ok(keys.some(key => key.startsWith('nex:rate-limit:')), 'the rate-limit counters live in Redis')
  t.equal((await server.inject('/readyz')).statusCode, 200, 'readiness pings the Redis store')
  const clients = Number(/connected_clients:(\d+)/.exec(await inspector.info('clients'))?.[1])
  await server.close()
  const after = Number(/connected_clients:(\d+)/.exec(await inspector.info('clients'))?.[1])
  t.ok(after < clients, `the preset closed its connections (${clients} → ${after})`)
})

t.test('appSecret: NEX_SECRET, else a 0600 file in production, else undefined in development', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'nex-secret-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, '.nex-secret')
  t.equal(appSecret(file, { NEX_SECRET: SECRET, NODE_ENV: 'production' }), SECRET)
  t.equal(appSecret(file, {}), undefined)
  const first = appSecret(file, { NODE_ENV: 'production' })
  t.ok(first !== undefined && first.length >= 32)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(appSecret(file, { NODE_ENV: 'production' }), first, 'kept across restarts')
  t.equal(readFileSync(file, 'utf8').trim(), first)
})
