// The auth example through app.inject (with @nex/testing's browser-like client), on memory stores and
// on a real redis-server: login, the protected dashboard, flash messages, logout, the theme cookie, CSRF
// and the login rate limit.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import type { MemoryStore } from '@nex/state'
import { createRedisStore, DEFAULT_CLIENT_OPTIONS } from '@nex/redis'
import { createTestClient, startRedisServer, type TestClient } from '@nex/testing'
import { build } from '../app.js'
import { csrfFieldsOf, csrfTokenOf, REFUSED } from '../../../test/helpers/csrf.ts'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const client = new Redis(redis.url, { ...DEFAULT_CLIENT_OPTIONS })
client.on('error', () => {})
t.teardown(() => { client.disconnect() })
if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))

const SESSION = 'nex_session'
const CREDENTIALS = { email: 'admin@example.com', password: 'password' }

interface Variant {
  name: string
  app (t: Test): Promise<FastifyInstance>
  /** Sessions held by the session store. */
  sessions (app: FastifyInstance): Promise<number>
}

async function started (t: Test, app: FastifyInstance): Promise<FastifyInstance> {
  t.teardown(async () => await app.close())
  await app.ready()
  return app
}

const variants: Variant[] = [
  {
    name: 'memory stores',
    app: async (t) => await started(t, await build({ logger: false })),
    sessions: async (app) => (app.nexSession.store as MemoryStore).size
  },
  {
    name: 'Redis stores',
    app: async (t) => {
      await client.flushdb()
      return await started(t, await build({ logger: false }, {
        pageStore: createRedisStore({ client, namespace: 'page' }),
        sessionStore: createRedisStore({ client, namespace: 'session' })
      }))
    },
    sessions: async () => (await client.keys('nex:session:*')).length
  }
]

/** The text of the element with this test id (tags stripped, whitespace collapsed), or null when absent. */
function textOf (body: string, testId: string): string | null {
  const open = new RegExp(`<(\\w+)[^>]*\\bdata-testid="${testId}"[^>]*>`).exec(body)
  if (open === null) return null
  const rest = body.slice(open.index + open[0].length)
  const inner = rest.slice(0, rest.indexOf(`</${open[1] as string}>`))
  return inner.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim()
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&amp;/g, '&')
}

/** A page as a browser loads it: 200 and HTML, or the test fails with what came instead. */
async function page (browser: TestClient, url: string): Promise<string> {
  const response = await browser.get(url)
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode} ${String(response.headers.location)}: ${response.body.slice(0, 300)}`)
  return response.body
}

function flashes (body: string): Record<string, string | null> {
  return { error: textOf(body, 'auth-flash-error'), info: textOf(body, 'auth-flash-info'), success: textOf(body, 'auth-flash-success') }
}

const NO_FLASH = { error: null, info: null, success: null }

function setCookies (response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie']
  return header === undefined ? [] : Array.isArray(header) ? header : [header]
}

async function login (browser: TestClient, fields: Record<string, string> = CREDENTIALS): Promise<LightMyRequestResponse> {
  await browser.get('/login')
  return await browser.post('/login?/login', { form: fields })
}

for (const variant of variants) {
  t.test(variant.name, async (t) => {
    t.test('anonymous visitors: pages render, no session cookie is set, no session is stored (MEM-04)', async (t) => {
      const app = await variant.app(t)
      const body = await page(createTestClient(app), '/')
      t.match(body, 'data-testid="auth-home-page"')
      t.match(body, '<h1>Nex Auth Demo</h1>')
      t.equal(textOf(body, 'auth-session-state'), 'Not logged in')
      t.equal(textOf(body, 'auth-theme-value'), 'light', 'the default theme')
      t.match(body, '<html lang="en" data-theme="light">')
      t.equal(textOf(body, 'auth-login-link'), 'Login')
      t.equal(textOf(body, 'auth-dashboard-link'), 'Try Dashboard (will redirect)')
      t.same(flashes(body), NO_FLASH)
      t.notMatch(body, /hx-on|js:/, 'no inline code: runs under a strict CSP')

      // Pages with forms carry a CSRF token, whose secret is the `_csrf` cookie: it lives in the browser
      // only (the server keeps nothing per visitor), so it is no session. Cookie values are left out.
      const sent = new Set<string>()
      for (let i = 0; i < 50; i++) {
        for (const url of ['/', '/login', '/styles.css', '/favicon.ico']) {
          const response = await createTestClient(app).get(url)
          sent.add(`${url} ${response.statusCode} ${setCookies(response).map(cookie => cookie.replace(/=[^;]*/, '')).join(' | ')}`)
        }
      }
      t.same([...sent], [
        '/ 200 _csrf; Path=/; HttpOnly; SameSite=Lax',
        '/login 200 _csrf; Path=/; HttpOnly; SameSite=Lax',
        '/styles.css 200 ',
        '/favicon.ico 200 '
      ], 'no session cookie on 200 anonymous requests; pages set only the CSRF cookie, static files nothing')
      t.equal(await variant.sessions(app), 0, 'the session store is empty')
    })

    t.test('the login page is a real form', async (t) => {
      const app = await variant.app(t)
      const body = await page(createTestClient(app), '/login')
      t.match(body, 'data-testid="auth-login-page"')
      t.match(body, '<title>Login</title>')
      t.match(body, /<form method="post" action="\?\/login"[^>]*data-testid="auth-login-form">/, 'posts to the login action, with or without JavaScript')
      t.match(body, /<input id="email" name="email" type="email" required[^>]*>/)
      t.match(body, /<input id="password" name="password" type="password" required[^>]*>/)
      t.match(body, /<input type="hidden" name="_nex_page" value="[^"]+">/, 'the page id travels without JavaScript')
      t.same(csrfFieldsOf(/<form method="post" action="\?\/login"[\s\S]*?<\/form>/.exec(body)?.[0] ?? ''), [csrfTokenOf(body)], 'so does the CSRF token')
      t.equal(textOf(body, 'auth-login-hint'), 'Demo account: admin@example.com / password')
    })

    t.test('wrong credentials: a flash on /login, shown once', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      const wrong: Array<Record<string, string>> = [
        { email: 'admin@example.com', password: 'wrong' },
        { email: 'someone@example.com', password: 'password' },
        { email: 'admin@example.com' },
        {}
      ]
      for (const fields of wrong) {
        const response = await login(browser, fields)
        t.equal(response.statusCode, 303, JSON.stringify(fields))
        t.equal(response.headers.location, '/login')
        const body = await page(browser, '/login')
        t.same(flashes(body), { ...NO_FLASH, error: 'Invalid email or password.' }, 'the flash on /login')
        t.same(flashes(await page(browser, '/login')), NO_FLASH, 'once')
      }
      const htmx = await browser.post('/login?/login', { htmx: 'boosted', form: { email: 'x@example.com', password: 'x' } })
      t.equal(htmx.statusCode, 200, 'a boosted form post')
      t.equal(htmx.headers['hx-redirect'], '/login', 'is redirected by HX-Redirect')
      t.equal(textOf(await page(browser, '/login'), 'auth-flash-error'), 'Invalid email or password.')
      t.equal(textOf(await page(browser, '/'), 'auth-session-state'), 'Not logged in')
    })

    t.test('the dashboard is protected: a flash and a redirect to /login', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      const plain = await browser.get('/dashboard')
      t.equal(plain.statusCode, 303)
      t.equal(plain.headers.location, '/login')
      t.equal(plain.body, '', 'nothing of the page')
      t.same(flashes(await page(browser, '/login')), { ...NO_FLASH, error: 'Please log in to access that page.' })

      for (const htmx of ['boosted', 'partial'] as const) {
        const response = await browser.get('/dashboard', { htmx })
        t.equal(response.statusCode, 200, `htmx (${htmx})`)
        t.equal(response.headers['hx-redirect'], '/login', 'HX-Redirect, since htmx ignores headers on a 3xx')
        t.equal(response.body, '')
      }
      t.equal(textOf(await page(browser, '/login'), 'auth-flash-error'), 'Please log in to access that page.')
    })

    t.test('login: a new session id, the dashboard counts visits, logout flashes', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      // A failed attempt flashes without creating a session: the flash travels in its own cookie.
      await login(browser, { email: 'admin@example.com', password: 'nope' })
      t.ok(browser.cookies.get(`${SESSION}_flash`), 'the failed attempt\'s flash is in the flash cookie')
      t.equal(browser.cookies.get(SESSION), undefined, 'not in a session')
      t.same(flashes(await page(browser, '/login')), { ...NO_FLASH, error: 'Invalid email or password.' })
      t.equal(await variant.sessions(app), 0, 'no session stored')

      // A session id planted before login (session fixation: the attacker's own, real one) must not
      // survive the login.
      const attacker = createTestClient(app)
      await login(attacker)
      const before = attacker.cookies.get(SESSION)
      t.ok(before, 'the attacker\'s session')
      ;(browser.cookies as Map<string, string>).set(SESSION, before as string)

      const response = await login(browser)
      t.equal(response.statusCode, 303)
      t.equal(response.headers.location, '/dashboard')
      const after = browser.cookies.get(SESSION)
      t.ok(after)
      t.not(after, before, 'the session id changed at login')
      t.same(await app.nexSession.store?.getAll(before as string), {}, 'the old id holds nothing')
      t.equal(await variant.sessions(app), 1, 'one session')

      const first = await page(browser, '/dashboard')
      t.match(first, 'data-testid="auth-dashboard-page"')
      t.equal(textOf(first, 'auth-dashboard-user-name'), 'Welcome, Admin User!')
      t.equal(textOf(first, 'auth-dashboard-visit-count'), '1')
      t.same(flashes(first), { ...NO_FLASH, success: 'Welcome back, Admin User!' })
      t.same(JSON.parse(textOf(first, 'auth-dashboard-session-data') as string), { name: 'Admin User', email: 'admin@example.com' })
      const second = await page(browser, '/dashboard')
      t.equal(textOf(second, 'auth-dashboard-visit-count'), '2')
      t.same(flashes(second), NO_FLASH, 'the welcome flash was shown once')
      t.equal(textOf(await page(browser, '/dashboard'), 'auth-dashboard-visit-count'), '3')
      const fragment = await browser.get('/dashboard', { htmx: 'partial' })
      t.equal(textOf(fragment.body, 'auth-dashboard-visit-count'), '3', 'an htmx fragment request is no page view')
      t.equal(textOf(await page(browser, '/dashboard'), 'auth-dashboard-visit-count'), '4')

      const home = await page(browser, '/')
      t.equal(textOf(home, 'auth-session-state'), 'Logged in as: Admin User')
      t.equal(textOf(home, 'auth-session-email'), 'admin@example.com')
      t.equal(textOf(home, 'auth-dashboard-link'), 'Go to Dashboard (protected)')
      t.match(home, /<form method="post" action="\/\?\/logout"[^>]*>/, 'a logout form')

      const loggedIn = browser.cookies.get(SESSION) as string
      const logout = await browser.post('/?/logout', { form: {} })
      t.equal(logout.statusCode, 303)
      t.equal(logout.headers.location, '/')
      const afterLogout = await page(browser, '/')
      t.same(flashes(afterLogout), { ...NO_FLASH, success: 'Logged out successfully.' }, 'the logout flash survives the session it follows')
      t.equal(textOf(afterLogout, 'auth-session-state'), 'Not logged in')
      t.same(flashes(await page(browser, '/')), NO_FLASH, 'and is gone on the next view')
      t.equal((await browser.get('/dashboard')).headers.location, '/login', 'the dashboard is closed again')

      const replay = createTestClient(app)
      ;(replay.cookies as Map<string, string>).set(SESSION, loggedIn)
      t.equal((await replay.get('/dashboard')).headers.location, '/login', 'a copy of the logged-in cookie is worth nothing after logout')

      await login(browser)
      t.equal(textOf(await page(browser, '/dashboard'), 'auth-dashboard-visit-count'), '1', 'a new login counts from 1')
    })

    t.test('login and logout through htmx (boosted forms) answer with HX-Redirect', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      await browser.get('/login')
      const response = await browser.post('/login?/login', { htmx: 'boosted', form: CREDENTIALS })
      t.equal(response.statusCode, 200)
      t.equal(response.headers['hx-redirect'], '/dashboard')
      t.equal(textOf(await page(browser, '/dashboard'), 'auth-dashboard-user-name'), 'Welcome, Admin User!')
      const logout = await browser.post('/?/logout', { htmx: 'boosted', form: {} })
      t.equal(logout.headers['hx-redirect'], '/')
      t.equal(textOf(await page(browser, '/'), 'auth-flash-success'), 'Logged out successfully.')
    })

    t.test('login CSRF: a login post without this browser\'s token is refused, and logs nobody in', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      await browser.get('/login')
      const token = browser.csrfToken
      browser.csrfToken = null
      const missing = await browser.post('/login?/login', { form: CREDENTIALS })
      t.equal(missing.statusCode, 403, 'no token: 403')
      t.match(missing.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
      // The 403 is a whole page, with a token of its own that the client adopted (a browser shows it).
      t.ok(browser.csrfToken, 'the error page carries a fresh token')
      browser.csrfToken = null
      const boosted = await browser.post('/login?/login', { htmx: 'boosted', form: CREDENTIALS })
      t.equal(boosted.statusCode, 403, 'nor through htmx')
      t.equal(boosted.headers['hx-redirect'], undefined, 'and no redirect to the dashboard')

      // A form on another site posting the victim's browser into the attacker's account (login CSRF):
      // the browser sends its cookies and Sec-Fetch-Site: cross-site, not the token of a page of this site.
      const attacker = createTestClient(app)
      await attacker.get('/login')
      browser.csrfToken = attacker.csrfToken
      const foreign = await browser.post('/login?/login', { form: CREDENTIALS })
      t.equal(foreign.statusCode, 403, 'a token minted for another browser: 403')
      t.match(foreign.body, REFUSED.csrfInvalid, 'FST_NEX_SECURITY_CSRF_INVALID')
      browser.csrfToken = token
      const crossSite = await browser.post('/login?/login', { form: CREDENTIALS, headers: { 'sec-fetch-site': 'cross-site' } })
      t.equal(crossSite.statusCode, 403, 'even with its own token, from another site: 403')
      t.match(crossSite.body, REFUSED.crossSite, 'FST_NEX_SECURITY_CROSS_SITE')

      t.equal(browser.cookies.get(SESSION), undefined, 'no session cookie')
      t.equal(await variant.sessions(app), 0, 'no session stored')
      t.equal((await browser.get('/dashboard')).headers.location, '/login', 'the dashboard stays closed')
      const right = await login(browser)
      t.equal(right.headers.location, '/dashboard', 'with the token of its own page, the login works')
    })

    t.test('the login action is rate limited: 10 attempts per 10 minutes, then 429 (pages stay up)', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) statuses.push((await login(browser, { email: 'admin@example.com', password: `guess ${i}` })).statusCode)
      t.same(statuses, Array(10).fill(303), '10 wrong guesses are answered')
      const over = await login(browser)
      t.equal(over.statusCode, 429, 'the 11th attempt is refused, even with the right password')
      t.match(over.body, REFUSED.rateLimited, 'FST_NEX_SECURITY_RATE_LIMITED')
      t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 600, `Retry-After within the 10 minutes (${String(over.headers['retry-after'])} s)`)
      t.equal(browser.cookies.get(SESSION), undefined, 'no session')
      t.equal(textOf(await page(browser, '/'), 'auth-session-state'), 'Not logged in', 'nobody logged in')
      t.equal((await browser.get('/login')).statusCode, 200, 'the login page itself still loads (only its POST is login-like)')
      const theme = await browser.post('/?/theme', { form: { theme: 'dark' } })
      t.equal(theme.statusCode, 303, 'and other actions work')

      const elsewhere = createTestClient(app)
      await elsewhere.get('/login')
      t.equal((await elsewhere.post('/login?/login', { form: CREDENTIALS, headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode, 429, 'the limit is per client IP, not per cookie jar (X-Forwarded-For is not trusted)')
    })

    t.test('the theme cookie: set, validated, kept across logout', async (t) => {
      const app = await variant.app(t)
      const browser = createTestClient(app)
      await browser.get('/')
      const dark = await browser.post('/?/theme', { form: { theme: 'dark' } })
      t.equal(dark.statusCode, 303)
      t.equal(dark.headers.location, '/')
      t.ok(setCookies(dark).includes('theme=dark; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax'), 'a 30-day cookie')
      const home = await page(browser, '/')
      t.equal(textOf(home, 'auth-theme-value'), 'dark')
      t.match(home, '<html lang="en" data-theme="dark">', 'applied to the page')
      t.same(flashes(home), { ...NO_FLASH, info: 'Theme set to dark!' })

      const refused = await browser.post('/?/theme', { form: { theme: 'blue' } })
      t.equal(refused.statusCode, 400)
      t.notOk(setCookies(refused).some(cookie => cookie.startsWith('theme=')), 'no cookie for an unknown theme')
      t.equal(textOf(refused.body, 'auth-theme-error'), 'Unknown theme: choose light or dark.')
      t.equal(textOf(refused.body, 'auth-theme-value'), 'dark', 'the theme is unchanged')

      await login(browser)
      await browser.post('/?/logout', { form: {} })
      t.equal(textOf(await page(browser, '/'), 'auth-theme-value'), 'dark', 'the theme is no session data: it survives logout')

      const forged = createTestClient(app)
      ;(forged.cookies as Map<string, string>).set('theme', '"><script>alert(1)</script>')
      const body = await page(forged, '/')
      t.equal(textOf(body, 'auth-theme-value'), 'light', 'an unknown cookie value reads as the default')
      t.notMatch(body, '<script>alert(1)')
    })
  })
}
