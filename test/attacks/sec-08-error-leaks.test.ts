/**
 * SEC-08 (RELIABILITY §6, §4.8): what errors tell a client, end to end over real sockets against the
 * fixture app built with the `nex` preset in production (`createApp`, NODE_ENV=production), its pino
 * output captured. packages/nex/test/errors.test.ts proves nexErrors on its own (inject); this file proves
 * it through the whole preset, file routes and their error pages included.
 *
 * - A page whose `load` throws `Error('secret db password …')`: as a full page and as an htmx fragment; an
 *   API route throwing the same (JSON); an API route throwing what a database driver throws (SQL text, the
 *   duplicate value, table and constraint). Every 5xx body (HTML, fragment, JSON) holds no message, no SQL,
 *   no value, no stack, no file path.
 * - The log keeps each of them in full: the message, the stack, the driver's fields (the SQL), with the
 *   request's `reqId`, at level error.
 * - A 404 (page and API) and a 400 from schema validation (page and API): the input is not echoed.
 * - No `X-Powered-By`, no `Server`, and no version numbers in any response header (pages, fragments,
 *   errors, static files, htmx's own assets, health and metrics).
 * - A 5xx raised by an `onSend` hook, which fails again on the error answer (as any hook that fails on
 *   every response does), falls through to Fastify's last-resort serializer: the 5xx response schema
 *   nexErrors gives every route in production keeps the message out of it.
 */
import t, { type Test } from 'tap'
import { serve } from '../helpers/browser.ts'
import { buildFixture } from './fixtures/sec-obs/apps.ts'
import { captureLogs } from './fixtures/sec-obs/http.ts'

const PARTIAL = { 'hx-request': 'true', 'hx-request-type': 'partial' }
const SECRETS = [/secret/i, /hunter2/, /password/i, /INSERT INTO/i, /users_email_key/, /admin@example\.com/, /23505/, /duplicate key/i]
const STACK = [/\bat [\w.<>]+ \(/, /\.ts:\d+/, /\/work\//, /node_modules/, /Error:/]
const INPUT = 'ZZinputZZ'

async function setUp (t: Test): Promise<{ base: string, logs: ReturnType<typeof captureLogs> }> {
  const logs = captureLogs()
  const app = await buildFixture({ server: { logger: { level: 'info', stream: logs.stream } } })
  // A hook that fails on every response of its route, as a broken plugin's onSend hook does.
  app.get('/hook-fails', { onSend: async () => { throw new Error('secret in an onSend hook') } }, async () => 'ok')
  return { base: await serve(t, app), logs }
}

t.test('5xx bodies: no message, SQL, value or stack, as a page, a fragment or JSON; the log keeps it all with reqId', async (t) => {
  const { base, logs } = await setUp(t)
  const cases: Array<[string, string, Record<string, string>, RegExp]> = [
    ['page', '/boom', {}, /^text\/html/],
    ['htmx fragment', '/boom', PARTIAL, /^text\/html/],
    ['JSON (API route)', '/api/boom', {}, /^application\/json/],
    ['JSON (database error)', '/api/sql', {}, /^application\/json/],
    ['htmx request to the database error', '/api/sql', PARTIAL, /^application\/json/]
  ]
  for (const [name, path, headers, type] of cases) {
    const response = await fetch(`${base}${path}`, { headers })
    const body = await response.text()
    t.equal(response.status, 500, `${name}: 500`)
    t.match(response.headers.get('content-type') ?? '', type, `${name}: ${response.headers.get('content-type') ?? ''}`)
    t.same([...SECRETS, ...STACK].filter((pattern) => pattern.test(body)).map(String), [], `${name}: nothing of the error in the body`)
    t.equal(response.headers.get('cache-control'), 'no-store', `${name}: no-store`)
  }
  const errors = logs.lines.filter((line) => line.level === 50 && typeof line.err === 'object')
  const logged = (pattern: RegExp): Array<Record<string, unknown>> => errors.filter((line) => pattern.test(JSON.stringify(line.err)))
  const secret = logged(/secret db password hunter2/)
  t.ok(secret.length >= 3, `the thrown secret is logged each time (${secret.length} error lines)`)
  t.ok(secret.every((line) => typeof line.reqId === 'string' && /\bat (Object\.)?(load|GET) \(/.test(String((line.err as { stack?: unknown }).stack))),
    'with its reqId and the stack down to the throwing function')
  const sql = logged(/INSERT INTO users/)
  t.ok(sql.length >= 2 && sql.every((line) => typeof line.reqId === 'string'), `the driver's SQL text is logged, with reqId (${sql.length} lines)`)
  t.match(sql[0]?.err, { code: '23505', detail: /admin@example\.com/, constraint: 'users_email_key' }, 'and its other fields')
})

t.test('404 and 400 do not echo the input', async (t) => {
  const { base } = await setUp(t)
  const cases: Array<[string, string, Record<string, string>, number]> = [
    ['unknown page', `/no/such/${INPUT}`, {}, 404],
    ['unknown page, htmx', `/no/such/${INPUT}`, PARTIAL, 404],
    ['unknown API route', `/api/no/${INPUT}`, {}, 404],
    ['validation 400, page', `/page/${INPUT}`, {}, 400],
    ['validation 400, htmx', `/page/${INPUT}`, PARTIAL, 400],
    ['validation 400, API', `/api/items/${INPUT}`, {}, 400]
  ]
  for (const [name, path, headers, status] of cases) {
    const response = await fetch(`${base}${path}`, { headers })
    const body = await response.text()
    t.equal(response.status, status, `${name}: ${status}`)
    t.notMatch(body, INPUT, `${name}: the URL's input is not in the body`)
    t.same(STACK.filter((pattern) => pattern.test(body)).map(String), [], `${name}: no stack`)
  }
})

t.test('no X-Powered-By, Server or version number in any header', async (t) => {
  const { base } = await setUp(t)
  const home = await (await fetch(`${base}/`)).text()
  const assets = [...home.matchAll(/src="([^"]+)"/g)].map((match) => match[1] as string)
  t.ok(assets.some((src) => src.includes('/_nex/htmx@')), 'htmx\'s own script is among them')
  const paths: Array<[string, Record<string, string>]> = [
    ['/', {}], ['/', PARTIAL], ['/boom', {}], ['/api/boom', {}], ['/api/sql', {}], ['/no/such/page', {}], ['/page/x', {}],
    ['/styles.css', {}], ['/healthz', {}], ['/readyz', {}], ['/metrics', {}], ...assets.map((src): [string, Record<string, string>] => [src, {}])
  ]
  for (const [path, headers] of paths) {
    const response = await fetch(`${base}${path}`, { headers })
    await response.arrayBuffer()
    const all = [...response.headers]
    t.notOk(response.headers.has('x-powered-by') || response.headers.has('server'), `${path}: no X-Powered-By or Server`)
    // Validators and dates hold digits and dots too, and Prometheus' media type has `version=0.0.4` (of the
    // text format); everything else must not name a product or version.
    const suspicious = all.filter(([name, value]) => !['etag', 'date', 'last-modified', 'content-type'].includes(name) &&
      (/\b\d+\.\d+(\.\d+)?\b/.test(value) || /fastify|node|express|nginx|nex\b/i.test(value)))
    t.same(suspicious, [], `${path}: no version or product name in ${all.length} headers`)
  }
})

t.test('a 5xx from a failing onSend hook', async (t) => {
  const { base } = await setUp(t)
  const response = await fetch(`${base}/hook-fails`)
  const body = await response.text()
  t.equal(response.status, 500, '500')
  t.notMatch(body, /secret/, 'the hook\'s error message is not in the body (the 5xx response schema of nexErrors drops it)')
})
