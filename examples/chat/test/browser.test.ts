// The chat in a real browser (Chromium through playwright-core) against the app on a real socket: two
// tabs of one browser and a tab of another browser (context) in one room; what one sends, all show.
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import type {} from '@nex/sse' // the type of app.nexSse
import { build } from '../app.js'
import { afterNavigation, byTestId, launchBrowser, newSession, serve, waitForHtmx, WAIT_MS, type Session } from '../../../test/helpers/browser.ts'

const browser = await launchBrowser(t)
const app = await build({ logger: false })
const base = await serve(t, app)

const XSS = '<img src=x onerror=alert(1)>'

/** Resolves once `count` event streams are open on the server (the pages' `hx-sse:connect`). */
async function streamsOpen (count: number, timeout = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeout
  while (app.nexSse.streams !== count) {
    if (Date.now() > deadline) throw new Error(`${app.nexSse.streams} streams open, expected ${count}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** A browser context for a chat tab (console and page errors are collected). */
async function chatSession (t: Test, options: Parameters<typeof newSession>[2] = {}): Promise<Session> {
  return await newSession(t, browser, options)
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
  for (const page of [a, b, c]) await open(page, 'lobby')
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

  const reloaded = await session.newPage()
  await open(reloaded, 'lobby')
  t.same(await texts(reloaded), ['hello from A', 'hi from C', 'and B'], 'a page opened later shows the messages so far')
  await streamsOpen(4)
  await say(reloaded, 'late but live')
  for (const page of [a, b, c, reloaded]) await shows(t, page, 'late but live', 'every page')
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
  t.equal(session.errors.length, 1, 'one console error:')
  t.match(session.errors[0], /^console: Failed to load resource: .* status of 422 /, 'Chromium logging the 422 answer')
})

t.test('without JavaScript the form posts, and the room comes back with the message', async t => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  await page.goto(`${base}/rooms/nojs`)
  await byTestId(page, 'chat-author').fill('Bo')
  await byTestId(page, 'chat-input').fill('no scripts needed')
  await afterNavigation(page, () => byTestId(page, 'chat-send').click())
  await shows(t, page, 'no scripts needed', 'the page')
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/rooms/nojs', 'redirected back to the room (303)')
  t.equal(await byTestId(page, 'chat-input').inputValue(), '', 'with an empty form')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('a page opens its stream even when the SSE extension arrives after htmx started', async t => {
  await streamsOpen(0)
  const session = await newSession(t, browser)
  await session.context.route('**/_nex/htmx@*/ext/hx-sse.min.js', async route => {
    await new Promise(resolve => setTimeout(resolve, 300))
    await route.continue()
  })
  const page = await session.newPage()
  await open(page, 'late-extension')
  const opened = await streamsOpen(1, 2000).then(() => true, () => false)
  // htmx is parser-blocking and waits for DOMContentLoaded, which waits for every deferred script.
  t.ok(opened, 'the stream is open although the extension arrived 300 ms late')
  t.same(session.errors, [], 'no console or page errors')
})
