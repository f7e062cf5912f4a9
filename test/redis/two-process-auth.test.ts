/**
 * The auth example as two processes (two ports) sharing one Redis through `REDIS_URL`, requests
 * alternating between them like a round-robin balancer without sticky sessions: sessions, the login,
 * flash messages, the visit counter and CSRF tokens behave as on one process. Then a Redis outage: fast
 * 503s with `Retry-After`, and recovery without restarting either process. Last, the login rate limit:
 * one budget for both processes.
 */
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type HttpResult, type RunningServer } from '../helpers/server-process.ts'
import { CSRF_FIELD, csrfTokenOf, REFUSED, setCookiePairs } from '../helpers/csrf.ts'

const AUTH = fileURLToPath(new URL('../../examples/auth', import.meta.url))
const SECRET = 'two-process-auth-secret-shared-by-both-0123456'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, AUTH, env), startServer(t, AUTH, env)])
t.teardown(() => Promise.all([a.stop(), b.stop()]))

/**
 * A browser without JavaScript: its cookie jar, reduced to what this app sets (name=value pairs, removal
 * by Max-Age=0/Expires), and the CSRF token of the last page it showed, which its forms post in the hidden
 * `_csrf` field (unless the form given has one, or `token: false`).
 */
class Browser {
  readonly cookies = new Map<string, string>()
  csrfToken: string | null = null

  async send (server: RunningServer, path: string, options: { method?: string, form?: Record<string, string>, headers?: Record<string, string>, token?: boolean } = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { ...options.headers }
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    let body: string | undefined
    if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      const form = options.token !== false && this.csrfToken !== null ? { [CSRF_FIELD]: this.csrfToken, ...options.form } : options.form
      body = new URLSearchParams(form).toString()
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
    if (String(answer.headers['content-type']).startsWith('text/html') && answer.body.includes('<meta name="csrf-token"')) {
      this.csrfToken = csrfTokenOf(answer.body)
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
  t.same(setCookiePairs(home.headers).map((pair) => pair.split('=')[0]), ['_csrf'], 'no session for an anonymous visit, only the CSRF cookie')

  const refused = await browser.send(b, '/dashboard')
  t.equal(refused.status, 303)
  t.equal(refused.headers.location, '/login')
  t.equal(browser.session, undefined, 'the flash started no session…')
  t.ok(browser.cookies.get('nex_session_flash'), '…it travels in the flash cookie')
  const login = await browser.send(a, '/login')
  t.equal(testId(login.body, 'auth-flash-error'), 'Please log in to access that page.', 'a flash set on b shows on a')
  t.equal(testId((await browser.send(b, '/login')).body, 'auth-flash-error'), undefined, '…once')

  // The token of a page b rendered, posted to b; the next ones cross processes.
  const wrong = await browser.send(b, '/login?/login', { form: { email: 'admin@example.com', password: 'nope' } })
  t.equal(wrong.status, 303)
  t.equal(testId((await browser.send(a, '/login')).body, 'auth-flash-error'), 'Invalid email or password.')

  const noToken = await browser.send(b, '/login?/login', { form: { email: 'admin@example.com', password: 'password' }, token: false })
  t.equal(noToken.status, 403, 'a login post without the token is refused')
  t.match(noToken.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  t.equal(browser.session, undefined, 'and logs nobody in')
  await browser.send(a, '/login')

  const right = await browser.send(b, '/login?/login', { form: { email: 'admin@example.com', password: 'password' } })
  t.equal(right.status, 303, 'the token of a page a rendered is good on b')
  t.equal(right.headers.location, '/dashboard')
  const firstLogin = browser.session
  t.ok(firstLogin, 'the login started the session')
  await browser.send(b, '/login')
  await browser.send(a, '/login?/login', { form: { email: 'admin@example.com', password: 'password' } })
  t.not(browser.session, firstLogin, 'a new session id at every login (on the other process too)')
  t.equal((await new Browser().send(b, '/dashboard', { headers: { cookie: `nex_session=${firstLogin as string}` } })).status, 303, 'the id before it is worth nothing')
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
  t.ok(browser.csrfToken, '(with the token of the last page, shown by a)')
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
  await browser.send(b, '/login')
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

t.test('the login rate limit is one budget for both processes (its counters live in Redis)', async (t) => {
  // 10 attempts per 10 minutes per client IP. The Redis restarted by the test before kept no counters.
  // Two budgets of their own would let 20 alternating attempts through; one shared budget, 10.
  const browser = new Browser()
  await browser.send(a, '/login')
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    statuses.push((await browser.send(i % 2 === 0 ? b : a, '/login?/login', { form: { email: 'admin@example.com', password: `guess ${i}` } })).status)
  }
  t.same(statuses, [...Array(10).fill(303), 429, 429], '10 attempts over both processes, then 429 on either')
  for (const server of [a, b]) {
    const over = await browser.send(server, '/login?/login', { form: { email: 'admin@example.com', password: 'password' } })
    t.equal(over.status, 429, `:${server.port}: even the right password is refused now`)
    t.match(over.body, REFUSED.rateLimited, 'FST_NEX_SECURITY_RATE_LIMITED')
    t.ok(Number(over.headers['retry-after']) > 0, 'with Retry-After')
    t.equal((await browser.send(server, '/login')).status, 200, 'the login page still loads')
  }
})
