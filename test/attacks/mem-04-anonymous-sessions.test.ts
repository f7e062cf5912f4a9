/**
 * MEM-04 (RELIABILITY §6): anonymous traffic without cookies against the auth example (@nex/session),
 * over real sockets with autocannon, the app in a child process: on the memory stores (sessions counted
 * in the process, over IPC) and on a real redis-server (keys `nex:session:*` counted in Redis).
 *
 * Anonymous requests store no session and get no `Set-Cookie`, counted both by the client (every
 * response's headers) and by the server (every response that left the process); the first `Set-Cookie`
 * and the first session come with the login. examples/auth/test/auth.test.ts proves the same through
 * inject() with 200 requests; this is the load version.
 *
 * Beyond `/`: anonymous requests to the protected page (a flash, then a redirect to /login) and failed
 * logins carry their flash in a short-lived signed cookie of its own: no session is stored, no session
 * cookie is set, and logged-in users are never evicted by anonymous traffic (before, each stored a session,
 * and 1 000 of them evicted a logged-in user from a 500-session store).
 *
 * Scaled: 5 000 requests instead of 50 000 (same 20 connections); maxSessions 500 for the eviction case.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { startApp, type AppProcess } from './fixtures/mem-con-red/app-process.ts'
import { load, statusCounts } from './fixtures/mem-con-red/load.ts'

const SECRET = 'mem-04-secret-mem-04-secret-mem-04-secret-0123'
const AMOUNT = 5_000
const SESSION_COOKIE = 'nex_session'

interface Variant {
  name: string
  start (t: Test): Promise<{ app: AppProcess, sessions: () => Promise<number> }>
}

const variants: Variant[] = [
  {
    name: 'memory stores',
    async start (t) {
      const app = await startApp(t, { APP: 'auth', NEX_SECRET: SECRET })
      return { app, sessions: async () => (await app.stats()).sessions ?? -1 }
    }
  },
  {
    name: 'Redis stores',
    async start (t) {
      const redis = await startRedisServer()
      t.teardown(() => redis.stop())
      const client = new Redis(redis.url)
      t.teardown(() => { client.disconnect() })
      const app = await startApp(t, { APP: 'auth', NEX_SECRET: SECRET, REDIS_URL: redis.url })
      return { app, sessions: async () => (await client.keys('nex:session:*')).length }
    }
  }
]

/** Logs in as the demo user the way the form does (no JavaScript); returns the login response. */
async function login (app: AppProcess): Promise<Response> {
  const form = await fetch(`${app.origin}/login`)
  const pageId = /name="_nex_page" value="([^"]+)"/.exec(await form.text())?.[1] ?? ''
  return await fetch(`${app.origin}/login?/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _nex_page: pageId, email: 'admin@example.com', password: 'password' }).toString()
  })
}

const cookieOf = (response: Response): string => (response.headers.get('set-cookie') ?? '').split(';')[0] ?? ''

for (const variant of variants) {
  t.test(`${variant.name}: ${AMOUNT} anonymous requests store no session and set no cookie, until login`, async (t) => {
    const { app, sessions } = await variant.start(t)
    const before = await sessions()
    const result = await load({ origin: app.origin, connections: 20, amount: AMOUNT, keepBodies: false, request: () => ({ method: 'GET', path: '/' }) })
    const server = await app.stats()

    t.same(statusCounts(result.answers), { 200: AMOUNT }, 'every anonymous request answered 200')
    t.equal(result.answers.filter((answer) => answer.headers['set-cookie'] !== undefined).length, 0, 'no Set-Cookie seen by the client')
    t.equal(server.setCookies, 0, `no Set-Cookie left the server (${server.responses} responses)`)
    t.equal(await sessions(), before, `session store size unchanged (${before})`)

    const loggedIn = await login(app)
    t.equal(loggedIn.status, 303, 'the login redirects')
    t.match(loggedIn.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=`), 'the login sets the session cookie')
    t.equal(await sessions(), before + 1, 'and stores one session')
  })
}

t.test('anonymous requests to the protected page and failed logins: no session, no cookie, no eviction of users', async (t) => {
  const maxSessions = 500
  const app = await startApp(t, { APP: 'auth', NEX_SECRET: SECRET, MAX_SESSIONS: String(maxSessions) })
  const user = cookieOf(await login(app))
  t.equal((await fetch(`${app.origin}/dashboard`, { headers: { cookie: user } })).status, 200, 'a logged-in user sees the dashboard')
  const before = await app.stats()

  let n = 0
  const result = await load({
    origin: app.origin,
    connections: 20,
    amount: 2 * maxSessions,
    keepBodies: false,
    request: () => n++ % 2 === 0
      ? { method: 'GET', path: '/dashboard' }
      : { method: 'POST', path: '/login?/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=admin%40example.com&password=guess' }
  })
  const after = await app.stats()
  t.same(statusCounts(result.answers), { 303: 2 * maxSessions }, 'every one redirected (to /login)')
  // The flash itself travels in its own short-lived signed cookie (`nex_session_flash`), not a session.
  const sessionCookies = result.answers.filter((answer) => [answer.headers['set-cookie'] ?? []].flat()
    .some((line) => String(line).startsWith(`${SESSION_COOKIE}=`))).length
  t.equal(sessionCookies, 0, `no session cookie (got ${sessionCookies} of ${2 * maxSessions})`)
  t.equal(after.sessions, before.sessions, `session store unchanged (${String(before.sessions)} before, ${String(after.sessions)} after)`)
  const stillIn = await fetch(`${app.origin}/dashboard`, { headers: { cookie: user }, redirect: 'manual' })
  t.equal(stillIn.status, 200, `the logged-in user is still logged in (answered ${stillIn.status})`)
})
