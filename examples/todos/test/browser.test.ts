// The todo list in a real browser (Chromium through playwright-core) against the app on a real socket.
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../app.js'
import { afterNavigation, afterSwap, byTestId, launchBrowser, newSession, onlyOwnScriptFiles, pageScripts, serve, waitForHtmx, waitForText } from '../../../test/helpers/browser.ts'
import { pageCsrfToken, recordPosts } from '../../../test/helpers/csrf.ts'

const browser = await launchBrowser(t)
const base = await serve(t, await build({ logger: false }))

const XSS = '<img src=x onerror=alert(1)>'

/**
 * The page's script elements, each as its `src` (`inline` when it has none), with ` nonce` added when it
 * carries a nonce attribute: under the strict CSP every one must be a bare `/_nex/…` file of this site.
 */

/** Opens a page; resolves with the Content-Security-Policy it was served with. */
async function open (page: Page, path = '/'): Promise<string | undefined> {
  const response = await page.goto(`${base}${path}`)
  await waitForHtmx(page)
  return response?.headers()['content-security-policy']
}

/** Types a todo, submits it and waits for item `id` and for the emptied form htmx swaps in. */
async function add (page: Page, text: string, id: number): Promise<void> {
  await byTestId(page, 'todo-input').fill(text)
  await byTestId(page, 'todo-submit').click()
  await waitForText(page, `todo-text-${id}`, text)
  await byTestId(page, 'todo-input', ':placeholder-shown').waitFor()
}

async function itemIds (page: Page): Promise<string[]> {
  return await page.locator('#todo-list > li').evaluateAll(items => items.map(item => item.id))
}

async function pageId (page: Page): Promise<string | null> {
  return await page.locator('[data-nex-page-id]').getAttribute('data-nex-page-id')
}

t.test('add, toggle and delete in place', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const posts = recordPosts(page)
  const csp = await open(page)
  t.match(csp, /script-src 'self'; script-src-attr 'none'/, 'served under a strict CSP: scripts from this site only')
  t.notMatch(csp, /'nonce-|'unsafe-/, 'which allows no inline script: no nonce, nothing unsafe')
  const scripts = await pageScripts(page)
  t.ok(onlyOwnScriptFiles(scripts), `every script is a file of this site, none inline, none with a nonce: ${JSON.stringify(scripts)}`)
  await page.evaluate('window.__marker = 1')

  await add(page, 'Buy milk', 1)
  await add(page, 'Walk the dog', 2)
  await add(page, 'Write tests', 3)
  t.same(await itemIds(page), ['todo-1', 'todo-2', 'todo-3'], 'appended in order')
  await byTestId(page, 'todo-input', ':focus').waitFor()
  t.pass('the emptied input has the focus')

  await afterSwap(page, '#todo-2', () => byTestId(page, 'todo-toggle-2').click())
  await byTestId(page, 'todo-text-2', '.line-through').waitFor()
  t.ok(await byTestId(page, 'todo-toggle-2').isChecked(), 'checked')
  t.notOk(await byTestId(page, 'todo-text-1').getAttribute('class').then(c => c?.includes('line-through')), 'the others are not crossed out')
  await afterSwap(page, '#todo-2', () => byTestId(page, 'todo-toggle-2').click())
  await byTestId(page, 'todo-text-2', ':not(.line-through)').waitFor()
  t.notOk(await byTestId(page, 'todo-toggle-2').isChecked(), 'unchecked again')

  await byTestId(page, 'todo-delete-1').click()
  await byTestId(page, 'todo-item-1').waitFor({ state: 'detached' })
  t.same(await itemIds(page), ['todo-2', 'todo-3'], 'the deleted item is gone')

  t.equal(await page.evaluate('window.__marker'), 1, 'all of it without a page load')
  const token = await pageCsrfToken(page)
  t.same(posts.map(post => post.url), ['/?/add', '/?/add', '/?/add', '/?/toggle&id=2', '/?/toggle&id=2', '/?/delete&id=1'])
  t.ok(posts.every(post => post.htmx && post.header === token), 'each sent by htmx with the X-CSRF-Token header from the meta tag')
  t.same(session.errors, [], 'no console or page errors (no CSP violation either)')
})

t.test('todo text is shown as text, never run', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page)
  await add(page, XSS, 1)
  // One more round trip, so an injected image would have failed to load (and fired onerror) by now.
  await add(page, 'after', 2)
  t.equal(await byTestId(page, 'todo-text-1').textContent(), XSS, 'the markup is the visible text')
  t.equal(await page.locator('#todo-list img').count(), 0, 'no element was made from it')
  t.same(session.dialogs, [], 'no dialog opened')
  t.same(session.errors, [], 'no console or page errors')
})

t.test('a refused add shows the message in the form and adds nothing', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  await open(page)
  await byTestId(page, 'todo-input').fill('   ')
  await byTestId(page, 'todo-submit').click()
  await waitForText(page, 'todo-error', 'Write something to do first.')
  t.same(await itemIds(page), [], 'nothing added')
  await add(page, 'fixed', 1)
  await waitForText(page, 'todo-error', '')
  t.equal(session.errors.length, 1, 'one console error:')
  t.match(session.errors[0], /^console: Failed to load resource: .* status of 422 /, 'Chromium logging the 422 answer')
})

t.test('boosted navigation, the back button and actions after navigating', async t => {
  const session = await newSession(t, browser)
  const page = await session.newPage()
  const posts = recordPosts(page)
  await open(page)
  await add(page, 'first view', 1)
  const firstView = await pageId(page)
  await page.evaluate('window.__marker = 1')

  await byTestId(page, 'nav-about').click()
  await byTestId(page, 'about-page').waitFor()
  t.equal(new URL(page.url()).pathname, '/about', 'the URL was pushed')
  t.equal(await page.title(), 'About', 'the title follows')
  t.equal(await page.evaluate('window.__marker'), 1, 'no full page load: htmx swapped the body')

  await byTestId(page, 'nav-todos').click()
  await byTestId(page, 'todos-page').waitFor()
  t.equal(new URL(page.url()).pathname, '/', 'the URL was pushed')
  t.equal(await page.evaluate('window.__marker'), 1, 'still no full page load')
  const secondView = await pageId(page)
  t.not(secondView, firstView, 'coming back is a new page view')
  t.same(await itemIds(page), [], 'with a list of its own')
  await add(page, 'second view', 1)
  t.same(await itemIds(page), ['todo-1'], 'actions work after boosted navigation, in the new view')

  await page.goBack()
  await byTestId(page, 'about-page').waitFor()
  t.equal(new URL(page.url()).pathname, '/about', 'back to /about')
  t.equal(await page.evaluate('window.__marker'), 1, 'restored by htmx, not reloaded')

  await byTestId(page, 'about-back').click()
  await byTestId(page, 'todos-page').waitFor()
  t.not(await pageId(page), secondView, 'another new page view')
  await add(page, 'third view', 1)
  await afterSwap(page, '#todo-1', () => byTestId(page, 'todo-toggle-1').click())
  await byTestId(page, 'todo-text-1', '.line-through').waitFor()

  await page.goBack()
  await byTestId(page, 'about-page').waitFor()
  await page.goForward()
  await byTestId(page, 'todos-page').waitFor()
  t.equal(new URL(page.url()).pathname, '/', 'forward to the list')
  t.equal(await page.evaluate('window.__marker'), 1, 'restored by htmx, not reloaded')
  await add(page, 'after history restore', 1)
  t.same(await itemIds(page), ['todo-1'], 'a restored page is a new page view whose actions work')
  t.equal(posts.length, 5, 'five action posts')
  t.ok(posts.every(post => post.htmx && post.header !== undefined), 'each with an X-CSRF-Token header, also after boosted navigation and history restores')

  t.same(session.errors, [], 'no console or page errors')
})

t.test('without JavaScript the add form posts and the page comes back with the list', async t => {
  const session = await newSession(t, browser, { javaScriptEnabled: false })
  const page = await session.newPage()
  const posts = recordPosts(page)
  await page.goto(`${base}/`)
  const view = await pageId(page)
  t.ok(view, 'the page has a page id')
  const token = await pageCsrfToken(page)

  await byTestId(page, 'todo-input').fill('first')
  await afterNavigation(page, () => byTestId(page, 'todo-submit').click())
  await waitForText(page, 'todo-text-1', 'first')

  await byTestId(page, 'todo-input').fill('second')
  await afterNavigation(page, () => byTestId(page, 'todo-submit').click())
  await waitForText(page, 'todo-text-1', 'first')
  await waitForText(page, 'todo-text-2', 'second')
  t.same(await itemIds(page), ['todo-1', 'todo-2'], 'both todos, in order')
  t.equal(await pageId(page), view, 'the same page view all along')
  t.equal(await byTestId(page, 'todo-input').inputValue(), '', 'the form comes back empty')
  t.equal(posts.length, 2, 'two form posts')
  t.same(posts[0], { url: '/?/add', htmx: false, header: undefined, field: token }, 'the browser sent the hidden _csrf field of the page')
  t.ok(posts[1]?.field, 'and again from the page that came back')
  t.same(session.errors, [], 'no console or page errors')
})
