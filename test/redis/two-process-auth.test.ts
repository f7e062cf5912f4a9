/**
 * The auth example as two processes (two ports) sharing one Redis through `REDIS_URL`, requests
 * alternating between them like a round-robin balancer without sticky sessions: sessions, the login,
 * flash messages and the visit counter behave as on one process. Then a Redis outage: fast 503s with
 * `Retry-After`, and recovery without restarting either process.
 */
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type HttpResult, type RunningServer } from '../helpers/server-process.ts'

const AUTH = fileURLToPath(new URL('../../examples/auth', import.meta.url))
const SECRET = 'two-process-auth-secret-shared-by-both-0123456'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, AUTH, env), startServer(t, AUTH, env)])
t.teardown(() => Promise.all([a.stop(), b.stop()]))

/** A browser's cookie jar, reduced to what this app sets: name=value pairs, removal by Max-Age=0/Expires. */
class Browser {
  readonly cookies = new Map<string, string>()

  async send (server: RunningServer, path: string, options: { method?: string, form?: Record<string, string>, headers?: Record<string, string> } = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { ...options.headers }
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    let body: string | undefined
    if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(options.form).toString()
    }
    const answer = await httpRequest(server.host, server.port, path, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
    const setCookies = answer.headers['set-cookie'] ?? []
    for (const line of Array.isArray(setCookies) ? setCookies : [setCookies]) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
      const index = pair.indexOf('=')
      const name = pair.slice(0, index)
      const expired = attributes.some((attribute) => /^max-age=0$/i.test(attribute) || /^expires=Thu, 01 Jan 1970/i.test(attribute))
      if (expired || pair.slice(index + 1) === '') this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(index + 1))
    }
    return answer
  }

  get session (): string | undefined {
    return this.cookies.get('nex_session')
  }
}

/** The text of the element with `data-testid="<id>"` (tags inside it removed), or undefined. */
const testId = (body: string, id: string): string | undefined =>
  new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</(?:p|div|strong|span)>`).exec(body)?.[1]?.replace(/<[^>]+>/g, '').trim()

t.test('login, dashboard, flash and logout, with every request on the other process', async (t) => {
  const browser = new Browser()
  const home = await browser.send(a, '/')
  t.equal(testId(home.body, 'auth-session-state'), 'Not logged in')
  t.equal(home.headers['set-cookie'], undefined, 'no session for an anonymous visit')

  const refused = await browser.send(b, '/dashboard')
  t.equal(refused.status, 303)
  t.equal(refused.headers.location, '/login')
  const anonymousSession = browser.session
  t.ok(anonymousSession, 'the flash started a session')
  const login = await browser.send(a, '/login')
  t.equal(testId(login.body, 'auth-flash-error'), 'Please log in to access that page.', 'a flash set on b shows on a')
  t.equal(testId((await browser.send(b, '/login')).body, 'auth-flash-error'), undefined, '…once')

  const wrong = await browser.send(b, '/login?/login', { form: { email: 'admin@example.com', password: 'nope' } })
  t.equal(wrong.status, 303)
  t.equal(testId((await browser.send(a, '/login')).body, 'auth-flash-error'), 'Invalid email or password.')

  const right = await browser.send(a, '/login?/login', { form: { email: 'admin@example.com', password: 'password' } })
  t.equal(right.status, 303)
  t.equal(right.headers.location, '/dashboard')
  t.not(browser.session, anonymousSession, 'a new session id at login')
  const loggedIn = browser.session

  const visits: Array<string | undefined> = []
  for (const server of [b, a, b]) {
    const dashboard = await browser.send(server, '/dashboard')
    t.equal(dashboard.status, 200)
    t.equal(testId(dashboard.body, 'auth-dashboard-user-name'), 'Welcome, Admin User!')
    visits.push(testId(dashboard.body, 'auth-dashboard-visit-count'))
  }
  t.same(visits, ['1', '2', '3'], 'one visit counter, whichever process counts')
  t.equal(testId((await browser.send(a, '/')).body, 'auth-session-state'), 'Logged in as: Admin User')

  const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => browser.send(i % 2 === 0 ? a : b, '/dashboard')))
  const counts = concurrent.map((answer) => Number(testId(answer.body, 'auth-dashboard-visit-count'))).sort((x, y) => x - y)
  t.same(counts, Array.from({ length: 20 }, (_, i) => i + 4), '20 concurrent visits over both processes: no visit lost')

  const logout = await browser.send(b, '/?/logout', { method: 'POST', form: {} })
  t.equal(logout.status, 303)
  t.equal(logout.headers.location, '/')
  const after = await browser.send(a, '/')
  t.equal(testId(after.body, 'auth-flash-success'), 'Logged out successfully.')
  t.equal(testId(after.body, 'auth-session-state'), 'Not logged in')
  t.equal(testId((await browser.send(b, '/')).body, 'auth-flash-success'), undefined, 'the flash shows once')

  const replay = new Browser()
  replay.cookies.set('nex_session', loggedIn as string)
  t.equal((await replay.send(a, '/dashboard')).status, 303, 'the logged-out session id is worth nothing on either process')
})

t.test('Redis down: 503 + Retry-After fast on both processes, then both recover on their own', async (t) => {
  const browser = new Browser()
  await browser.send(a, '/login?/login', { form: { email: 'admin@example.com', password: 'password' } })
  t.equal((await browser.send(b, '/dashboard')).status, 200)

  await redis.crash()
  for (const server of [a, b]) {
    const started = Date.now()
    const answer = await browser.send(server, '/dashboard')
    const ms = Date.now() - started
    t.equal(answer.status, 503, `:${server.port} answers 503`)
    t.equal(answer.headers['retry-after'], '1', 'with Retry-After')
    t.ok(ms < 1400, `in ${ms} ms`)
    t.match(answer.body, /unavailable/, 'an error page saying so')
  }

  await redis.restart()
  for (const server of [a, b]) {
    const started = Date.now()
    for (;;) {
      const answer = await browser.send(server, '/')
      if (answer.status === 200) break
      t.equal(answer.status, 503, 'only 503s while Redis comes back')
      if (Date.now() - started > 8000) throw new Error('no recovery within 8 s')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.pass(`:${server.port} serves again ${Date.now() - started} ms after Redis restarted`)
  }
  // The restarted Redis kept nothing (persistence off): the session is gone, the dashboard asks to log in.
  t.equal((await browser.send(a, '/dashboard')).status, 303)
})
