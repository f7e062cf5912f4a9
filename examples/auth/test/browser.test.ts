// The auth example in a real browser (Chromium through playwright-core) against the app on a real socket:
// login, the dashboard counter, logout, the protected redirect, the theme; with JavaScript and without.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { afterNavigation, byTestId, launchBrowser, newSession, onlyOwnScriptFiles, pageScripts, serve, waitForHtmx, waitForText } from '../../../test/helpers/browser.ts'
import { recordPosts, type SentPost } from '../../../test/helpers/csrf.ts'

const browser = await launchBrowser(t)
const base = await serve(t, await build({ logger: false }))

/**
 * The page's script elements, each as its `src` (`inline` when it has none), with ` nonce` added when it
 * carries a nonce attribute: under the strict CSP every one must be a bare `/_nex/…` file of this site.
 */

/** Opens a page; resolves with the Content-Security-Policy it was served with. */
async function open (page: Page, path: string): Promise<string | undefined> {
  const response = await page.goto(`${base}${path}`)
  await waitForHtmx(page)
  return response?.headers()['content-security-policy']
}

function pathOf (page: Page): string {
  return new URL(page.url()).pathname
}

/**
 * `path?query` of each post, with `(htmx)` when htmx sent it, and how it carried the CSRF token: the
 * `X-CSRF-Token` header (htmx, from the meta tag) and/or the hidden `_csrf` field (the form's body).
 */
function describe (posts: readonly SentPost[]): string[] {
  return posts.map(post => {
    const carried = [post.header === undefined ? '' : 'header', post.field === null ? '' : 'field'].filter(Boolean).join('+')
    return `${post.url}${post.htmx ? ' (htmx)' : ''} token: ${carried === '' ? 'none' : carried}`
  })
}

async function fillLogin (page: Page, email: string, password: string): Promise<void> {
  await byTestId(page, 'auth-login-email').fill(email)
  await byTestId(page, 'auth-login-password').fill(password)
}

t.test('login through the form, the dashboard counts reloads, logout shows the flash', async (t) => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const posts = recordPosts(page)
  const csp = await open(page, '/login')
  t.match(csp, /script-src 'self'; script-src-attr 'none'/, 'served under a strict CSP: scripts from this site only')
  t.notMatch(csp, /'nonce-|'unsafe-/, 'which allows no inline script: no nonce, nothing unsafe')
  const scripts = await pageScripts(page)
  t.ok(onlyOwnScriptFiles(scripts), `every script is a file of this site, none inline, none with a nonce: ${JSON.stringify(scripts)}`)
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
  t.same(describe(posts), ['/login?/login (htmx) token: header+field', '/?/logout (htmx) token: header+field'], 'both forms were sent by htmx (boosted), with the token')
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
  t.same(describe(posts), ['/login?/login token: field', '/?/logout token: field'], 'plain form posts by the browser, not htmx, with the hidden token field')
  t.same(session.errors, [], 'no console or page errors')
})
