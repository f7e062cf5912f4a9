// htmx 2 keeps working: the counter example served with @nex/routes' `htmx: 'htmx2'` option, in Chromium.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyStatic from '@fastify/static'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import type { Page } from 'playwright-core'
import { afterSwap, byTestId, launchBrowser, newSession, serve, waitForHtmx, waitForText } from '../helpers/browser.ts'

const counter = (path: string): string => fileURLToPath(new URL(`../../examples/counter/${path}`, import.meta.url))

// Built like examples/counter/app.js, with htmx 2 instead of htmx 4.
const app = Fastify({ logger: false })
await app.register(nexState, { secret: 'e2e-secret-that-is-long-enough-0123456789' })
await app.register(nexRoutes, { dir: counter('src'), htmx: 'htmx2' })
await app.register(fastifyStatic, { root: counter('public'), dotfiles: 'ignore', index: false })

const browser = await launchBrowser(t)
const base = await serve(t, app)

async function press (page: Page, button: 'increment' | 'decrement', expected: number): Promise<void> {
  await afterSwap(page, '#counter-display', () => byTestId(page, `counter-${button}`).click())
  await waitForText(page, 'counter-value', String(expected))
}

t.test('the counter works under htmx 2: page id carried, actions swapped in place', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const actionRequests: Array<{ url: string, pageId: string | undefined, htmx: string | undefined }> = []
  page.on('request', request => {
    if (request.method() !== 'POST') return
    const headers = request.headers()
    actionRequests.push({ url: new URL(request.url()).search, pageId: headers['x-nex-page-id'], htmx: headers['hx-request'] })
  })

  await page.goto(`${base}/`)
  await waitForHtmx(page)
  t.match(await page.locator('script[src*="/_nex/htmx@"]').getAttribute('src'), /^\/_nex\/htmx@2\.0\.11\/htmx\.min\.js$/, 'the page loads htmx 2')
  t.match(await page.evaluate('window.htmx.version'), /^2\./, 'and htmx 2 is what runs')
  const pageId = await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
  await page.evaluate('window.__marker = 1')

  for (const n of [1, 2, 3]) await press(page, 'increment', n)
  await press(page, 'decrement', 2)

  t.equal(await page.evaluate('window.__marker'), 1, 'updated in place, no page load')
  t.equal(actionRequests.length, 4, 'four action requests')
  t.same(actionRequests.map(r => r.url), ['?/increment', '?/increment', '?/increment', '?/decrement'])
  t.ok(actionRequests.every(r => r.htmx === 'true' && r.pageId === pageId), 'all made by htmx, carrying the page id header')

  // A second page view counts on its own, so the state really is per page id.
  const other = await session.newPage()
  await other.goto(`${base}/`)
  await waitForHtmx(other)
  await press(other, 'increment', 1)
  await page.bringToFront()
  await press(page, 'increment', 3)
  t.same(session.errors, [], 'no console or page errors')
})
