// The auth example in a real browser (Chromium through playwright-core) against the app on a real socket:
// login, the dashboard counter, logout, the protected redirect, the theme; with JavaScript and without.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { afterNavigation, byTestId, launchBrowser, newSession, serve, waitForHtmx, waitForText } from '../../../test/helpers/browser.ts'

const browser = await launchBrowser(t)
const base = await serve(t, await build({ logger: false }))

async function open (page: Page, path: string): Promise<void> {
  await page.goto(`${base}${path}`)
  await waitForHtmx(page)
}

function pathOf (page: Page): string {
  return new URL(page.url()).pathname
}

/** `METHOD path?query` of every form post the page sends, with `(htmx)` when htmx sent it. */
function recordPosts (page: Page): string[] {
  const posts: string[] = []
  page.on('request', request => {
    if (request.method() !== 'POST') return
    const url = new URL(request.url())
    posts.push(`${url.pathname}${url.search}${request.headers()['hx-request'] === 'true' ? ' (htmx)' : ''}`)
  })
  return posts
}

async function fillLogin (page: Page, email: string, password: string): Promise<void> {
  await byTestId(page, 'auth-login-email').fill(email)
  await byTestId(page, 'auth-login-password').fill(password)
}

t.test('login through the form, the dashboard counts reloads, logout shows the flash', async (t) => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const posts = recordPosts(page)
  await open(page, '/login')
  await fillLogin(page, 'admin@example.com', 'password')
  await byTestId(page, 'auth-login-submit').click()
  await byTestId(page, 'auth-dashboard-page').waitFor()
  t.equal(pathOf(page), '/dashboard', 'HX-Redirect took the browser to the dashboard')
  await waitForText(page, 'auth-dashboard-user-name', 'Welcome, Admin User!')
  await waitForText(page, 'auth-dashboard-visit-count', '1')
  await waitForText(page, 'auth-flash-success', 'Welcome back, Admin User!')

  for (const count of ['2', '3']) {
    await page.reload()
    await waitForText(page, 'auth-dashboard-visit-count', count)
  }
  t.equal(await byTestId(page, 'auth-flash-success').count(), 0, 'the welcome flash was shown once')
  const cookies = await session.context.cookies()
  const sessionCookie = cookies.find(cookie => cookie.name === 'nex_session')
  t.ok(sessionCookie?.httpOnly, 'the session cookie is HttpOnly')
  t.equal(sessionCookie?.sameSite, 'Lax')
  t.equal(await page.evaluate('document.cookie.includes("nex_session")'), false, 'and out of reach of scripts')

  await waitForHtmx(page)
  await byTestId(page, 'auth-logout-button').click()
  await waitForText(page, 'auth-flash-success', 'Logged out successfully.')
  t.equal(pathOf(page), '/')
  await waitForText(page, 'auth-session-state', 'Not logged in')
  t.same(posts, ['/login?/login (htmx)', '/?/logout (htmx)'], 'both forms were sent by htmx (boosted)')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('wrong credentials bring the login page back with the flash', async (t) => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page, '/login')
  await fillLogin(page, 'admin@example.com', 'not the password')
  await byTestId(page, 'auth-login-submit').click()
  await waitForText(page, 'auth-flash-error', 'Invalid email or password.')
  t.equal(pathOf(page), '/login')
  await open(page, '/')
  await waitForText(page, 'auth-session-state', 'Not logged in')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('the dashboard, anonymous, lands on /login with the flash', async (t) => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page, '/')
  await byTestId(page, 'auth-dashboard-link').click()
  await waitForText(page, 'auth-flash-error', 'Please log in to access that page.')
  t.equal(pathOf(page), '/login', 'a boosted link: HX-Redirect')
  await byTestId(page, 'auth-login-page').waitFor()

  await page.goto(`${base}/dashboard`)
  await waitForText(page, 'auth-flash-error', 'Please log in to access that page.')
  t.equal(pathOf(page), '/login', 'typed into the address bar: 303')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('the theme buttons set the cookie and the colours', async (t) => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page, '/')
  await waitForText(page, 'auth-theme-value', 'light')
  await byTestId(page, 'auth-theme-dark').click()
  await waitForText(page, 'auth-flash-info', 'Theme set to dark!')
  await waitForText(page, 'auth-theme-value', 'dark')
  t.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark')
  await waitForHtmx(page)
  await byTestId(page, 'auth-theme-light').click()
  await waitForText(page, 'auth-flash-info', 'Theme set to light!')
  await waitForText(page, 'auth-theme-value', 'light')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('without JavaScript: login, the counter, logout, the protected redirect', async (t) => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  const posts = recordPosts(page)
  await page.goto(`${base}/dashboard`)
  await waitForText(page, 'auth-flash-error', 'Please log in to access that page.')
  t.equal(pathOf(page), '/login')

  await fillLogin(page, 'admin@example.com', 'password')
  await afterNavigation(page, () => byTestId(page, 'auth-login-submit').click())
  await waitForText(page, 'auth-dashboard-visit-count', '1')
  t.equal(pathOf(page), '/dashboard', 'post/redirect/get')
  await waitForText(page, 'auth-flash-success', 'Welcome back, Admin User!')
  await page.reload()
  await waitForText(page, 'auth-dashboard-visit-count', '2')

  await afterNavigation(page, () => byTestId(page, 'auth-logout-button').click())
  await waitForText(page, 'auth-flash-success', 'Logged out successfully.')
  t.equal(pathOf(page), '/')
  await waitForText(page, 'auth-session-state', 'Not logged in')
  t.same(posts, ['/login?/login', '/?/logout'], 'plain form posts by the browser, not htmx')
  t.same(session.errors, [], 'no console or page errors')
})
