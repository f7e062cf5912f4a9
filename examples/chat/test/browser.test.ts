// The chat in a real browser (Chromium through playwright-core) against the app on a real socket: two
// tabs of one browser and a tab of another browser (context) in one room; what one sends, all show. The
// app runs the `nex` preset: every page is under its CSP (violations are recorded and must stay none), and
// every send carries the page's CSRF token (the Nex client's X-CSRF-Token, the form's hidden field).
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import type {} from '@nex/sse' // the type of app.nexSse
import { build } from '../app.js'
import { afterNavigation, byTestId, launchBrowser, newSession, onlyOwnScriptFiles, pageScripts, serve, type Session, WAIT_MS, waitForHtmx } from '../../../test/helpers/browser.ts'
import { pageCsrfToken, recordPosts, type SentPost } from '../../../test/helpers/csrf.ts'

const browser = await launchBrowser(t)
const app = await build({ logger: false })
const base = await serve(t, app)

const XSS = '<img src=x onerror=alert(1)>'

/**
 * The page's script elements, each as its `src` (`inline` when it has none), with ` nonce` added when it
 * carries a nonce attribute: under the strict CSP every one must be a bare `/_nex/…` file of this site.
 */

/** Resolves once `count` event streams are open on the server (the pages' `hx-sse:connect`). */
async function streamsOpen (count: number, timeout = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeout
  while (app.nexSse.streams !== count) {
    if (Date.now() > deadline) throw new Error(`${app.nexSse.streams} streams open, expected ${count}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/**
 * Records, in every page of a context, the CSP violations the browser reports (`securitypolicyviolation`),
 * as `<directive> <blocked URI> <sample>`; Chromium logs them as console errors too. Init scripts are
 * injected by the browser itself, so the CSP does not apply to this one.
 */
const WATCH_CSP = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', event => {
  window.__cspViolations.push(event.effectiveDirective + ' ' + event.blockedURI + ' ' + event.sample)
}, true)`

async function cspViolations (page: Page): Promise<string[]> {
  return await page.evaluate('window.__cspViolations') as string[]
}

/** A browser context for a chat tab (console and page errors, and CSP violations, are collected). */
async function chatSession (t: Test, options: Parameters<typeof newSession>[2] = {}): Promise<Session> {
  const session = await newSession(t, browser, options)
  await session.context.addInitScript(WATCH_CSP)
  return session
}

async function open (page: Page, room: string): Promise<void> {
  await page.goto(`${base}/rooms/${room}`)
  await waitForHtmx(page)
}

/** The messages a page shows whose text is exactly `text`. */
function messagesWithText (page: Page, text: string) {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  return byTestId(page, 'chat-message').filter({ has: byTestId(page, 'chat-message-text').filter({ hasText: exactly }) })
}

/** Types a message into the page's form and sends it; waits for the emptied form htmx swaps in. */
async function say (page: Page, text: string, author?: string): Promise<void> {
  await page.bringToFront()
  if (author !== undefined) await byTestId(page, 'chat-author').fill(author)
  await byTestId(page, 'chat-input').fill(text)
  await byTestId(page, 'chat-send').click()
  await byTestId(page, 'chat-input', ':placeholder-shown').waitFor()
}

/** Waits until the page shows the message with `text`, then checks it shows it exactly once. */
async function shows (t: Test, page: Page, text: string, name: string): Promise<void> {
  await messagesWithText(page, text).first().waitFor()
  t.equal(await messagesWithText(page, text).count(), 1, `${name} shows ${JSON.stringify(text)} exactly once`)
}

async function texts (page: Page): Promise<string[]> {
  return await byTestId(page, 'chat-message-text').allTextContents()
}

t.test('what one tab sends, every tab of the room shows, once; the sender\'s input is cleared', async t => {
  const session = await chatSession(t)
  const other = await chatSession(t)
  const a = await session.newPage()
  const b = await session.newPage()
  const c = await other.newPage()
  // Every POST the pages send, with the CSRF token it carried.
  const posted = new Map<Page, SentPost[]>([a, b, c].map(page => [page, recordPosts(page)]))
  // One after another: the first page a fresh browser loads sets its CSRF cookie. Two first loads at the
  // same moment would each set one, and the tab whose cookie was replaced would get 403 on its first send.
  for (const page of [a, b, c]) {
    const response = await page.goto(`${base}/rooms/lobby`)
    await waitForHtmx(page)
    const csp = response?.headers()['content-security-policy']
    t.match(csp, /script-src 'self'; script-src-attr 'none'/, 'the page is under the strict CSP: scripts from this site only')
    t.notMatch(csp, /'nonce-|'unsafe-/, 'with no nonce and nothing unsafe')
    const scripts = await pageScripts(page)
    t.ok(onlyOwnScriptFiles(scripts), `every script is a file of this site, none inline, none with a nonce: ${JSON.stringify(scripts)}`)
  }
  await streamsOpen(3)
  await a.evaluate('window.__marker = 1')

  await say(a, 'hello from A', 'Ann')
  for (const [name, page] of [['A', a], ['B', b], ['C', c]] as const) await shows(t, page, 'hello from A', name)
  t.equal(await byTestId(a, 'chat-input').inputValue(), '', 'A\'s input is cleared')
  t.equal(await byTestId(a, 'chat-author').inputValue(), 'Ann', 'A keeps its name')
  await byTestId(a, 'chat-input', ':focus').waitFor()
  t.pass('and the emptied input has the focus')

  await say(c, 'hi from C')
  await say(b, 'and B')
  for (const [name, page] of [['A', a], ['B', b], ['C', c]] as const) {
    await shows(t, page, 'and B', name)
    t.same(await texts(page), ['hello from A', 'hi from C', 'and B'], `${name}: every message once, in order`)
  }
  t.equal(await a.evaluate('window.__marker'), 1, 'no page load: htmx did it all')
  for (const [name, page] of [['A', a], ['B', b], ['C', c]] as const) {
    const token = await pageCsrfToken(page)
    t.ok(token, `${name} has a CSRF token`)
    t.match(posted.get(page), [{ url: '/rooms/lobby?/send', htmx: true, header: token }], `${name}'s one send carried it as X-CSRF-Token`)
    t.equal(posted.get(page)?.length, 1)
  }
  t.not(await pageCsrfToken(c), await pageCsrfToken(a), 'the other browser has a token of its own')

  const reloaded = await session.newPage()
  await open(reloaded, 'lobby')
  t.same(await texts(reloaded), ['hello from A', 'hi from C', 'and B'], 'a page opened later shows the messages so far')
  await streamsOpen(4)
  await say(reloaded, 'late but live')
  for (const page of [a, b, c, reloaded]) await shows(t, page, 'late but live', 'every page')
  for (const page of [a, b, c, reloaded]) t.same(await cspViolations(page), [], 'no CSP violation: not by the SSE extension, the swaps or the styles')
  t.same(session.errors, [], 'no console or page errors')
  t.same(other.errors, [], 'none in the other browser either')
})

t.test('message text and names are shown as text, never run', async t => {
  const session = await chatSession(t)
  const a = await session.newPage()
  const b = await session.newPage()
  await open(a, 'xss')
  await open(b, 'xss')
  await streamsOpen(2)
  await say(a, XSS, '<script>alert(2)</script>')
  await say(a, '<script>alert(3)</script>', '')
  // One more round trip, so an injected image would have failed to load (and fired onerror) by now.
  await say(a, 'after')
  for (const [name, page] of [['A', a], ['B', b]] as const) {
    await shows(t, page, 'after', name)
    t.same(await texts(page), [XSS, '<script>alert(3)</script>', 'after'], `${name}: the markup is the visible text`)
    t.equal(await byTestId(page, 'chat-message-author').first().textContent(), '<script>alert(2)</script>', `${name}: so is the name`)
    t.equal(await page.locator('#messages img, #messages script').count(), 0, `${name}: no element was made from it`)
  }
  t.same(session.dialogs, [], 'no dialog opened')
  for (const page of [a, b]) t.same(await cspViolations(page), [], 'no CSP violation')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('an empty message is refused by the browser; a blank one by the server, in the form', async t => {
  const session = await chatSession(t)
  const page = await session.newPage()
  await open(page, 'refusals')
  await streamsOpen(1)
  await byTestId(page, 'chat-send').click()
  t.equal(await page.evaluate('document.getElementById("chat-input").validity.valueMissing'), true, 'the required input stops an empty one')
  await byTestId(page, 'chat-input').fill('   ')
  await byTestId(page, 'chat-send').click()
  await byTestId(page, 'chat-error').filter({ hasText: 'Write a message first.' }).waitFor()
  t.same(await texts(page), [], 'nothing was sent')
  await say(page, 'fixed')
  await shows(t, page, 'fixed', 'the page')
  t.equal(await byTestId(page, 'chat-error').textContent(), '', 'the message is gone')
  t.same(await cspViolations(page), [], 'no CSP violation')
  t.equal(session.errors.length, 1, 'one console error:')
  t.match(session.errors[0], /^console: Failed to load resource: .* status of 422 /, 'Chromium logging the 422 answer')
})

t.test('without JavaScript the form posts, and the room comes back with the message', async t => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  const posts = recordPosts(page)
  await page.goto(`${base}/rooms/nojs`)
  const token = await pageCsrfToken(page)
  t.ok(token, 'the page has a CSRF token')
  await byTestId(page, 'chat-author').fill('Bo')
  await byTestId(page, 'chat-input').fill('no scripts needed')
  await afterNavigation(page, () => byTestId(page, 'chat-send').click())
  await shows(t, page, 'no scripts needed', 'the page')
  t.match(posts, [{ url: '/rooms/nojs?/send', htmx: false, field: token }], 'the form posted the page\'s CSRF token in its _csrf field')
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/rooms/nojs', 'redirected back to the room (303)')
  t.equal(await byTestId(page, 'chat-input').inputValue(), '', 'with an empty form')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('a page opens its stream even when the SSE extension arrives after htmx started', async t => {
  await streamsOpen(0)
  const session = await chatSession(t)
  await session.context.route('**/_nex/htmx@*/ext/hx-sse.min.js', async route => {
    await new Promise(resolve => setTimeout(resolve, 300))
    await route.continue()
  })
  const page = await session.newPage()
  await open(page, 'late-extension')
  const opened = await streamsOpen(1, 2000).then(() => true, () => false)
  // htmx is parser-blocking and waits for DOMContentLoaded, which waits for every deferred script.
  t.ok(opened, 'the stream is open although the extension arrived 300 ms late')
  t.same(await cspViolations(page), [], 'no CSP violation')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('the CSP is enforced: an inline script or style put into the page is blocked and reported', async t => {
  const session = await chatSession(t)
  const page = await session.newPage()
  await open(page, 'csp')
  await page.evaluate(`(() => {
    const script = document.createElement('script')
    script.textContent = 'window.__injected = true'
    document.head.append(script)
    document.getElementById('messages').insertAdjacentHTML('beforeend', '<li style="color: red" id="styled">x</li>')
  })()`)
  await page.waitForFunction('window.__cspViolations.length >= 2')
  t.equal(await page.evaluate('window.__injected === true'), false, 'the inline script did not run')
  t.equal(await page.evaluate('getComputedStyle(document.getElementById("styled")).color'), await page.evaluate('getComputedStyle(document.getElementById("messages")).color'), 'the inline style was not applied')
  const violations = await cspViolations(page)
  t.ok(violations.some(v => v.startsWith('script-src-elem inline')), `the script was reported: ${JSON.stringify(violations)}`)
  t.ok(violations.some(v => v.startsWith('style-src-attr inline')), 'and the style attribute')
  t.ok(session.errors.length >= 2 && session.errors.every(error => /Content Security Policy/.test(error)), 'Chromium logged them as console errors, which the other tests would have caught')
})
