// The counter in a real browser (Chromium through playwright-core) against the app on a real socket.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { afterNavigation, afterSwap, byTestId, launchBrowser, newSession, serve, waitForHtmx, waitForText } from '../../../test/helpers/browser.ts'

const browser = await launchBrowser(t)
const base = await serve(t, await build({ logger: false }))

const DISPLAY = '#counter-display'

/**
 * Clicks a counter button and waits for the display htmx swaps in, then checks the value. The tab is
 * brought to the front first: Chromium throttles timers (htmx settles with one) in background tabs.
 */
async function press (page: Page, button: 'increment' | 'decrement' | 'reset', expected: number): Promise<void> {
  await page.bringToFront()
  await afterSwap(page, DISPLAY, () => byTestId(page, `counter-${button}`).click())
  await waitForText(page, 'counter-value', String(expected))
}

async function open (page: Page): Promise<void> {
  await page.bringToFront()
  await page.goto(`${base}/`)
  await waitForHtmx(page)
  await waitForText(page, 'counter-value', '0')
}

t.test('the buttons count in place; decrement stops at 0', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page)
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  await page.evaluate('window.__marker = 1')

  for (const n of [1, 2, 3]) await press(page, 'increment', n)
  await press(page, 'decrement', 2)
  for (const n of [1, 0, 0, 0, 0]) await press(page, 'decrement', n)
  await press(page, 'increment', 1)
  await press(page, 'reset', 0)

  t.equal(await page.evaluate('window.__marker'), 1, 'no full page load happened')
  t.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/', 'the URL did not change')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'same page view')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('two tabs count on their own; a reload starts at 0', async t => {
  const session = await newSession(t, browser)
  const a = await session.newPage()
  const b = await session.newPage()
  await open(a)
  await open(b)

  await press(a, 'increment', 1)
  await press(a, 'increment', 2)
  await press(b, 'increment', 1)
  await press(a, 'increment', 3)
  await press(b, 'decrement', 0)
  await waitForText(a, 'counter-value', '3')

  await a.reload()
  await waitForHtmx(a)
  await waitForText(a, 'counter-value', '0')
  await press(a, 'increment', 1)
  await press(b, 'increment', 1)
  t.same(session.errors, [], 'no console or page errors')
})

t.test('without JavaScript the buttons post forms and the page comes back for the same view', async t => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  await page.goto(`${base}/`)
  await waitForText(page, 'counter-value', '0')
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  t.ok(pageId, 'the page has a page id')

  await afterNavigation(page, () => byTestId(page, 'counter-increment').click())
  await waitForText(page, 'counter-value', '1')
  t.equal(new URL(page.url()).search, '?/increment', 'the form posted to the action URL')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'same page view')

  await afterNavigation(page, () => byTestId(page, 'counter-increment').click())
  await waitForText(page, 'counter-value', '2')
  await afterNavigation(page, () => byTestId(page, 'counter-decrement').click())
  await waitForText(page, 'counter-value', '1')
  t.equal(await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id'), pageId, 'still the same page view')
  t.same(session.errors, [], 'no console or page errors')
})
