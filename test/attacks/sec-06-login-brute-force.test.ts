/**
 * SEC-06 (RELIABILITY §6, §4.6): password guessing against the auth example's login action (marked
 * login-like: 10 attempts per 10 minutes per client), end to end under autocannon load, what
 * plugins/security/test/rate-limit*.test.ts (bare plugin, sequential or inject) does not do:
 *
 * - `autocannon -c 10 -a 200 -m POST /login?/login` with a real browser's cookie, CSRF token and page id
 *   and wrong passwords: at most `max` (10) attempts are answered (303 back to /login), every other one is
 *   429 with `Retry-After`; the right password after that is refused too (429), while the login page itself
 *   (GET, another class) still loads.
 * - The same with a random `X-Forwarded-For` on every request (the preset keeps Fastify's `trustProxy:
 *   false`): still at most `max` answered.
 * - Two processes of the example (`node server.js`, NODE_ENV=production) sharing a real redis-server through
 *   REDIS_URL, 100 guesses at each at once: at most `max` answered in total (2·max allowed at a window
 *   boundary, RELIABILITY §4.6), the rest 429 + Retry-After.
 *
 * Scaled: the two-process run sends 2 × 100 guesses instead of 2 × 200.
 */
import t, { type Test } from 'tap'
import { randomInt } from 'node:crypto'
import { startRedisServer } from '@nex/testing'
import { fileURLToPath } from 'node:url'
import { serve } from '../helpers/browser.ts'
import { startServer } from '../helpers/server-process.ts'
import { buildExample, PRODUCTION } from './fixtures/sec-obs/apps.ts'
import { openPage, type PageSession } from './fixtures/sec-obs/http.ts'
import { load, statusCounts, type LoadResult } from './fixtures/mem-con-red/load.ts'

const AUTH = fileURLToPath(new URL('../../examples/auth/', import.meta.url))
const LOGIN_MAX = 10

function guess (session: PageSession, password: string, headers: Record<string, string> = {}) {
  return {
    method: 'POST',
    path: '/login?/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie, 'sec-fetch-site': 'same-origin', ...headers },
    body: new URLSearchParams({ _nex_page: session.pageId, _csrf: session.token, email: 'admin@example.com', password }).toString()
  }
}

function checkLimited (t: Test, result: LoadResult, max: number, label: string): void {
  const counts = statusCounts(result.answers)
  t.comment(`${label}: ${JSON.stringify(counts)}`)
  t.equal(result.errors + result.timeouts, 0, `${label}: no connection error or timeout`)
  t.same(Object.keys(counts).map(Number).filter((status) => status !== 303 && status !== 429), [], `${label}: only 303 (a wrong password) and 429`)
  t.ok((counts[303] ?? 0) <= max, `${label}: ${counts[303] ?? 0} attempts answered, at most ${max}`)
  const limited = result.answers.filter((answer) => answer.status === 429)
  t.ok(limited.length >= result.answers.length - max, `${label}: ${limited.length} refused with 429`)
  t.ok(limited.every((answer) => Number(answer.headers['retry-after']) > 0), `${label}: every 429 has Retry-After (${limited[0]?.headers['retry-after'] ?? 'none'} s)`)
}

t.test('autocannon -c 10 -a 200 wrong passwords: 10 answered, then 429 + Retry-After, the right password too', async (t) => {
  const base = await serve(t, await buildExample('auth'))
  const session = await openPage(base, '/login')
  let n = 0
  const result = await load({ origin: base, connections: 10, amount: 200, keepBodies: false, request: () => guess(session, `guess-${n++}`) })
  t.equal(result.answers.length, 200, '200 answers')
  checkLimited(t, result, LOGIN_MAX, 'one client')
  t.equal(statusCounts(result.answers)[303], LOGIN_MAX, 'exactly max attempts got through (one window, one process)')

  const right = guess(session, 'password')
  const response = await fetch(`${base}${right.path}`, { method: 'POST', headers: right.headers, body: right.body, redirect: 'manual' })
  t.equal(response.status, 429, 'the right password is refused as well once the limit is reached')
  t.ok(Number(response.headers.get('retry-after')) > 0, 'with Retry-After')
  t.equal((await fetch(`${base}/login`)).status, 200, 'the login page (GET, default class) still loads')
})

t.test('a random X-Forwarded-For on every guess does not help (trustProxy false)', async (t) => {
  const base = await serve(t, await buildExample('auth'))
  const session = await openPage(base, '/login')
  const forwarded = (): string => `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`
  const result = await load({
    origin: base,
    connections: 10,
    amount: 200,
    keepBodies: false,
    request: () => guess(session, 'wrong', { 'x-forwarded-for': forwarded(), 'x-real-ip': forwarded() })
  })
  checkLimited(t, result, LOGIN_MAX, 'rotating X-Forwarded-For')
})

t.test('two processes sharing Redis: at most max guesses answered in total', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const env = { ...PRODUCTION, REDIS_URL: redis.url } as Record<string, string>
  const [one, two] = await Promise.all([startServer(t, AUTH, env), startServer(t, AUTH, env)])
  const origins = [one, two].map((server) => `http://${server.host}:${server.port}`)
  // The same browser (cookie, token, page id) against both: the secret and the stores are shared.
  const session = await openPage(origins[0] as string, '/login')
  const results = await Promise.all(origins.map(async (origin) => await load({
    origin,
    connections: 10,
    amount: 100,
    keepBodies: false,
    request: () => guess(session, 'wrong')
  })))
  const all: LoadResult = { ...(results[0] as LoadResult), answers: results.flatMap((result) => result.answers), errors: results.reduce((sum, result) => sum + result.errors, 0), timeouts: results.reduce((sum, result) => sum + result.timeouts, 0) }
  checkLimited(t, all, 2 * LOGIN_MAX, 'two processes')
  t.ok((statusCounts(all.answers)[303] ?? 0) <= LOGIN_MAX, `${statusCounts(all.answers)[303] ?? 0} answered ≤ max (${LOGIN_MAX}) within one window`)
  t.same(await Promise.all([one.stop(), two.stop()]), [{ code: 0, signal: null }, { code: 0, signal: null }], 'both exit 0 on SIGTERM')
})
