// The todo list through app.inject (with @nex/testing's browser-like client): markup, htmx actions,
// plain form posts, escaping, limits, page views, CSRF.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createPageIdSigner } from '@nex/state'
import { createTestClient, type TestClient } from '@nex/testing'
import { build, type BuildConfig } from '../app.js'
import { forgePageId, pageFieldsOf, pageIdOf } from '../../../test/helpers/markup.ts'
import { csrfFieldsOf, csrfTokenOf, REFUSED } from '../../../test/helpers/csrf.ts'
import { MAX_TEXT_LENGTH, MAX_TODOS } from '../src/lib/todos.ts'

const XSS = '<img src=x onerror=alert(1)>'

/** Preset options for tests that fill a list: more than the default 120 page actions a minute. */
const MANY_ACTIONS: BuildConfig = { security: { rateLimit: { actions: { max: 10_000 } } } }

async function app (t: Test, config: BuildConfig = {}): Promise<FastifyInstance> {
  const instance = await build({ logger: false }, config)
  t.teardown(async () => await instance.close())
  await instance.ready()
  return instance
}

interface Item {
  id: number
  text: string
  done: boolean
}

/** The todos in some markup, in document order, read back from their test ids and classes. */
function itemsIn (markup: string): Item[] {
  const items: Item[] = []
  const li = /<li id="todo-(\d+)" data-testid="todo-item-\1" class="todo( done)?">([\s\S]*?)<\/li>/g
  for (const [, id, done, inner] of markup.matchAll(li)) {
    const text = new RegExp(`<span id="todo-text-${id}" data-testid="todo-text-${id}" class="todo-text( line-through)?">([^<]*)</span>`).exec(inner as string)
    if (text === null) throw new Error(`todo ${id} has no text element: ${inner}`)
    const checked = new RegExp(`<input type="checkbox" data-testid="todo-toggle-${id}"[^>]* checked[\\s>]`).test(inner as string)
    const crossed = text[1] !== undefined
    if (crossed !== (done !== undefined) || checked !== crossed) throw new Error(`todo ${id} is half done: ${inner}`)
    items.push({ id: Number(id), text: unescape(text[2] as string), done: crossed })
  }
  return items
}

function unescape (text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&amp;/g, '&')
}

/** A browser tab: a client that has loaded `url` (so it holds that page view's id). */
async function openTab (server: FastifyInstance, url = '/'): Promise<{ tab: TestClient, body: string }> {
  const tab = createTestClient(server)
  const response = await tab.get(url)
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${response.body.slice(0, 300)}`)
  return { tab, body: response.body }
}

/** The list of the tab's page view, as htmx would fetch the bare page. */
async function listOf (tab: TestClient): Promise<Item[]> {
  const response = await tab.get('/', { htmx: true })
  if (response.statusCode !== 200) throw new Error(`GET / answered ${response.statusCode}: ${response.body}`)
  return itemsIn(response.body)
}

/** Posts `fields` to `?/<action>…` the way htmx does from the tab's page. */
async function htmx (tab: TestClient, action: string, fields: Record<string, string> = {}) {
  return await tab.post(`/?/${action}`, { htmx: true, form: fields })
}

async function add (tab: TestClient, text: string): Promise<Item> {
  const response = await htmx(tab, 'add', { text })
  if (response.statusCode !== 200) throw new Error(`add answered ${response.statusCode}: ${response.body}`)
  const [item] = itemsIn(response.body)
  if (item === undefined) throw new Error(`add answered no item: ${response.body}`)
  return item
}

/** The add form (as in the page, or the out-of-band copy an add answers with). */
function formIn (markup: string): string {
  const match = /<form id="todo-form"[\s\S]*?<\/form>/.exec(markup)
  if (match === null) throw new Error(`no form in: ${markup.slice(0, 300)}`)
  return match[0]
}

t.test('the page: markup and test ids', async t => {
  const server = await app(t)
  const tab = createTestClient(server)
  const response = await tab.get('/')
  const { body } = response
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.match(body, /^<!doctype html>/i)
  t.match(body, '<title>Todos</title>')
  t.match(body, '<body hx-boost:inherited="true">', 'boosted navigation for the whole body')
  t.match(body, '<a href="/" data-testid="nav-todos" aria-current="page">Todos</a>')
  t.match(body, '<a href="/about" data-testid="nav-about">About</a>')
  t.match(body, 'data-testid="todos-page"')
  t.match(body, '<h1>Todo List</h1>')
  t.match(body, '<ul id="todo-list" data-testid="todo-list" class="todo-list"></ul>', 'an empty list')

  const form = formIn(body)
  t.match(form, 'data-testid="todo-form"')
  t.match(form, 'method="post" action="?/add"', 'a real form for browsers without JavaScript')
  t.match(form, 'hx-post="?/add" hx-target="#todo-list" hx-swap="beforeend"', 'that htmx appends to the list')
  t.notMatch(form, 'hx-swap-oob', 'not out of band in the page')
  t.match(form, /<input id="todo-input" name="text" data-testid="todo-input" required maxlength="500"[^>]*value="">/, 'a required, bounded text input')
  t.match(form, '<button type="submit" data-testid="todo-submit">Add</button>')
  t.same(pageFieldsOf(form), [tab.pageId], 'the page id field')
  t.same(csrfFieldsOf(form), [csrfTokenOf(body)], 'and the CSRF field, with the token of the page\'s meta tag')
  t.notMatch(body, /hx-on|js:/, 'no inline code: runs under a strict CSP')
  t.match(response.headers['content-security-policy'], /script-src 'self'; script-src-attr 'none'/, 'which the page is served with')
  t.notMatch(response.headers['content-security-policy'], /'nonce-|'unsafe-/, 'no nonce and nothing unsafe in it: no inline script can run')
  t.notMatch(body, /<script(?![^>]*\bsrc="\/_nex\/)/, 'every script tag is a file of this site, none inline')
  t.notMatch(body, /\bnonce=/, 'and the page creates no nonce')
})

t.test('the about page links back to the list', async t => {
  const server = await app(t)
  const { body } = await openTab(server, '/about')
  t.match(body, 'data-testid="about-page"')
  t.match(body, /<a href="\/" data-testid="about-back">/)
  t.match(body, '<a href="/about" data-testid="nav-about" aria-current="page">About</a>')
  t.match(body, '<title>About</title>')
})

t.test('boosted navigation renders whole pages, each a new page view', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const first = tab.pageId as string
  await add(tab, 'left behind')
  // A boosted link: htmx 4 asks for the full page; the Nex client adds the current page's id.
  const about = await tab.get('/about', { htmx: 'boosted' })
  t.equal(about.statusCode, 200)
  t.match(about.body, /^<!doctype html>/i, 'the whole document: htmx swaps the body')
  t.match(about.body, 'data-testid="about-page"')
  const back = await tab.get('/', { htmx: 'boosted' })
  t.not(pageIdOf(back.body), first, 'back on the list: a new page view')
  t.same(itemsIn(back.body), [], 'with its own, empty list')
  const restore = await tab.get('/', { headers: { 'hx-history-restore-request': 'true', 'hx-request-type': 'full', 'x-nex-page-id': first } })
  t.not(pageIdOf(restore.body), first, 'a history restore (htmx 4 re-fetches) is a new page view too')
  tab.pageId = first
  t.same(await listOf(tab), [{ id: 1, text: 'left behind', done: false }], 'the old view keeps its list until it expires')
})

t.test('a navigation carrying a page id from before a restart still navigates', async t => {
  const server = await app(t)
  const tab = createTestClient(server)
  // Signed by another secret: what a browser still holds after a restart with a new (per-process) secret.
  const stale = createPageIdSigner(['the-secret-of-a-previous-process-0123456789']).issue()
  tab.pageId = stale
  const response = await tab.get('/about', { htmx: 'boosted' })
  // A navigation renders a new page view: the id of the page being left is ignored, not refused.
  t.equal(response.statusCode, 200, 'the page the link leads to')
  t.match(response.body, 'data-testid="about-page"', 'is rendered')
  tab.pageId = stale
  const action = await tab.post('/?/add', { htmx: true, form: { text: 'x' } })
  t.equal(action.statusCode, 410, 'an action with that id is still refused')
  t.equal(action.headers['hx-refresh'], 'true')
})

t.test('unknown URLs get the not-found page inside the layout', async t => {
  const server = await app(t)
  const response = await server.inject('/no/such/page')
  t.equal(response.statusCode, 404)
  t.match(response.body, 'data-testid="nav-todos"', 'with the navigation back')
})

t.test('add answers with the new item and an emptied form, out of band', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const response = await htmx(tab, 'add', { text: '  Buy milk  ' })
  t.equal(response.statusCode, 200)
  t.notMatch(response.body, '<html', 'a fragment')
  t.same(itemsIn(response.body), [{ id: 1, text: 'Buy milk', done: false }], 'the new item, text trimmed')
  t.match(response.body, /^<li id="todo-1"/, 'the item comes first: it is what htmx appends')
  const form = formIn(response.body)
  t.match(form, 'hx-swap-oob="true"', 'the form replaces itself out of band')
  t.match(form, 'value=""', 'empty')
  t.match(form, ' autofocus', 'and focused for the next one')
  t.same(pageFieldsOf(form), [tab.pageId], 'still for the same page view')

  await add(tab, 'Walk the dog')
  await add(tab, 'Write tests')
  t.same(await listOf(tab), [
    { id: 1, text: 'Buy milk', done: false },
    { id: 2, text: 'Walk the dog', done: false },
    { id: 3, text: 'Write tests', done: false }
  ], 'the page view holds all three, in order')
})

t.test('toggle re-renders the item; delete answers empty; both aim at the item', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  for (const text of ['a', 'b', 'c']) await add(tab, text)

  const list = await tab.get('/', { htmx: true })
  t.match(list.body, 'hx-post="?/toggle&amp;id=2" hx-target="#todo-2" hx-swap="outerHTML"', 'the checkbox swaps its item')
  t.match(list.body, 'hx-post="?/delete&amp;id=2" hx-target="#todo-2" hx-swap="outerHTML"', 'so does the delete button')

  const toggled = await htmx(tab, 'toggle&id=2')
  t.equal(toggled.statusCode, 200)
  t.same(itemsIn(toggled.body), [{ id: 2, text: 'b', done: true }], 'done: checked and crossed out')
  t.match(toggled.body, /class="todo-text line-through"/)
  t.same(itemsIn((await htmx(tab, 'toggle&id=2')).body), [{ id: 2, text: 'b', done: false }], 'and back')
  await htmx(tab, 'toggle&id=3')

  const deleted = await htmx(tab, 'delete&id=1')
  t.equal(deleted.statusCode, 200, '200, so htmx swaps the item with nothing')
  t.equal(deleted.body, '')
  t.same(await listOf(tab), [{ id: 2, text: 'b', done: false }, { id: 3, text: 'c', done: true }])
  t.equal((await htmx(tab, 'delete&id=1')).statusCode, 200, 'deleting it again is fine: it is gone')
  t.equal((await add(tab, 'd')).id, 4, 'ids are never reused')
})

t.test('a toggle of a missing todo or a bad id is an error shown in the flash box', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  await add(tab, 'a')
  const missing = await htmx(tab, 'toggle&id=9')
  t.equal(missing.statusCode, 404, 'a missing todo: 404')
  t.equal(missing.headers['hx-retarget'], '#flash', 'aimed at the flash box, not at the (missing) item')
  t.equal(missing.headers['hx-reswap'], 'innerHTML')
  t.match(missing.body, 'That todo does not exist (any more).', 'says why')
  for (const bad of ['', 'x', '0', '-1', '1.5', '99999999999']) {
    const response = await htmx(tab, `toggle&id=${bad}`)
    t.equal(response.statusCode, 400, `id=${bad}`)
    t.match(response.body, 'That is not a todo id.', 'says why')
  }
  t.equal((await htmx(tab, 'delete')).statusCode, 400, 'delete needs an id too')
  t.same(await listOf(tab), [{ id: 1, text: 'a', done: false }], 'nothing changed')
})

t.test('todo text is escaped everywhere', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const response = await htmx(tab, 'add', { text: XSS })
  t.match(response.body, '&lt;img src=x onerror=alert(1)&gt;')
  t.notMatch(response.body, '<img', 'no element in the fragment')
  const quote = await add(tab, '"><script>alert(1)</script>&amp;')
  t.equal(quote.text, '"><script>alert(1)</script>&amp;', 'read back exactly')

  const plain = await tab.post('/?/add', { form: { text: 'third' } })
  t.notMatch(plain.body, '<img', 'nor in the whole page')
  t.notMatch(plain.body, '<script>alert', 'nor a script')
  t.same((await listOf(tab)).map(item => item.text), [XSS, '"><script>alert(1)</script>&amp;', 'third'])
})

t.test('empty, blank and too long texts are refused with 422 in the form', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const long = 'x'.repeat(MAX_TEXT_LENGTH + 1)
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no field', {}, /Write something to do first\./],
    ['empty', { text: '' }, /Write something to do first\./],
    ['blank', { text: ' \t\n ' }, /Write something to do first\./],
    ['too long', { text: long }, /at most 500 characters long \(this one has 501\)/]
  ]
  for (const [name, fields, message] of cases) {
    const response = await htmx(tab, 'add', fields)
    t.equal(response.statusCode, 422, `${name}: 422`)
    t.equal(response.headers['hx-retarget'], '#todo-form', `${name}: aimed at the form, not the list`)
    t.equal(response.headers['hx-reswap'], 'outerHTML')
    t.same(itemsIn(response.body), [], `${name}: no item`)
    const form = formIn(response.body)
    t.match(form, message, `${name}: says why`)
    t.match(form, 'aria-invalid="true"')
    t.notMatch(form, 'hx-swap-oob', `${name}: the main swap, not out of band`)
  }
  t.match(formIn((await htmx(tab, 'add', { text: long })).body), `value="${long}"`, 'the text is kept to fix it')

  // A repeated field needs a raw body, which the test client does not send: inject it directly, with the
  // tab's cookies and CSRF token as htmx would send them.
  const repeated = await server.inject({
    method: 'POST',
    url: '/?/add',
    headers: {
      'hx-request': 'true',
      'hx-request-type': 'partial',
      'x-nex-page-id': tab.pageId as string,
      'x-csrf-token': tab.csrfToken as string,
      cookie: [...tab.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      'content-type': 'application/x-www-form-urlencoded'
    },
    payload: 'text=a&text=b'
  })
  t.equal(repeated.statusCode, 422, 'two text fields are not a text')

  const huge = await htmx(tab, 'add', { text: 'z'.repeat(70_000) })
  t.equal(huge.statusCode, 413, 'a body over the action body limit (64 KiB) is refused before parsing')
  t.equal(huge.headers['hx-retarget'], '#flash', 'shown in the flash box')
  t.match(huge.body, 'Request body is too large')

  t.same(await listOf(tab), [], 'nothing was added')
  t.equal((await add(tab, 'x'.repeat(MAX_TEXT_LENGTH))).text.length, MAX_TEXT_LENGTH, 'exactly 500 is fine')
})

t.test(`a page view holds at most ${MAX_TODOS} todos`, async t => {
  const server = await app(t, MANY_ACTIONS)
  const { tab } = await openTab(server)
  for (let i = 1; i <= MAX_TODOS; i++) await add(tab, `todo ${i}`)
  const full = await htmx(tab, 'add', { text: 'one too many' })
  t.equal(full.statusCode, 422)
  t.match(formIn(full.body), `The list is full (${MAX_TODOS} todos). Delete some before adding more.`)
  t.equal((await listOf(tab)).length, MAX_TODOS, 'nothing added')
  await htmx(tab, 'delete&id=1')
  t.equal((await add(tab, 'fits again')).id, MAX_TODOS + 1, 'room again after a delete')
})

t.test('a list too large for page state is refused with 413', async t => {
  const server = await app(t, MANY_ACTIONS)
  const { tab } = await openTab(server)
  const text = 'y'.repeat(MAX_TEXT_LENGTH)
  let response
  let added = 0
  do {
    response = await htmx(tab, 'add', { text })
    if (response.statusCode === 200) added++
  } while (response.statusCode === 200 && added <= MAX_TODOS)
  t.ok(added > 50 && added < MAX_TODOS, `the page state filled up first (after ${added} todos of ${MAX_TEXT_LENGTH} characters)`)
  t.equal(response.statusCode, 413)
  t.equal(response.headers['hx-retarget'], '#todo-form')
  t.match(formIn(response.body), 'The list is too large to keep. Delete some todos or use shorter ones.')
  t.equal((await listOf(tab)).length, added, 'nothing half-written')
  t.equal((await add(tab, 'short')).id, added + 1, 'a short one still fits')
})

t.test('without JavaScript the form post re-renders the page for the same view', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const id = tab.pageId as string
  // A plain form post: the client adds the hidden page-id field, as the browser would.
  const first = await tab.post('/?/add', { form: { text: 'first' } })
  t.equal(first.statusCode, 200)
  t.match(first.body, /^<!doctype html>/i, 'a whole page')
  t.equal(pageIdOf(first.body), id, 'for the same page view')
  t.same(pageFieldsOf(first.body), [id], 'whose form keeps carrying it')
  t.same(itemsIn(first.body).map(item => item.text), ['first'])
  t.notMatch(formIn(first.body), 'hx-swap-oob', 'the form in place, not out of band')
  t.match(formIn(first.body), 'value=""', 'empty again')

  const second = await tab.post('/?/add', { form: { text: 'second' } })
  t.same(itemsIn(second.body).map(item => item.text), ['first', 'second'], 'the previous todos are still there')

  const refused = await tab.post('/?/add', { form: { text: '   ' } })
  t.equal(refused.statusCode, 422, 'a refused post: 422')
  t.match(refused.body, /^<!doctype html>/i, 'with the whole page')
  t.equal(pageIdOf(refused.body), id, 'for the same page view')
  t.match(formIn(refused.body), 'Write something to do first.', 'and the message in the form')
  t.same(itemsIn(refused.body).map(item => item.text), ['first', 'second'], 'and the list unchanged')
  t.equal(refused.headers['hx-retarget'], '#todo-form', 'htmx headers are harmless to a browser')

  t.same((await listOf(tab)).map(item => item.text), ['first', 'second'], 'htmx and plain posts share the view')
})

t.test('page views are isolated', async t => {
  const server = await app(t)
  const { tab: a } = await openTab(server)
  const { tab: b } = await openTab(server)
  t.not(a.pageId, b.pageId)
  await add(a, 'only in a')
  t.equal((await add(b, 'only in b')).id, 1, 'each view numbers its own todos')
  await htmx(a, 'toggle&id=1')
  t.same(await listOf(a), [{ id: 1, text: 'only in a', done: true }])
  t.same(await listOf(b), [{ id: 1, text: 'only in b', done: false }], 'toggling in a did not touch b')
  await htmx(b, 'delete&id=1')
  t.same(await listOf(a), [{ id: 1, text: 'only in a', done: true }], 'deleting in b did not touch a')

  const { body } = await openTab(server)
  t.same(itemsIn(body), [], 'a reload starts an empty list')

  // A browser with a CSRF token of its own, so what is refused is the page id.
  const { tab: forger } = await openTab(server)
  forger.pageId = forgePageId(a.pageId as string)
  const response = await htmx(forger, 'add', { text: 'sneaky' })
  t.equal(response.statusCode, 410, 'an id the server never issued is refused')
  t.equal(response.headers['hx-refresh'], 'true')
  t.same(await listOf(a), [{ id: 1, text: 'only in a', done: true }], 'and a is untouched')
})

t.test('CSRF: an add without this browser\'s token is refused with 403 in the flash box, and adds nothing', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const token = tab.csrfToken as string
  await add(tab, 'mine')

  tab.csrfToken = null
  const missing = await htmx(tab, 'add', { text: 'forged' })
  t.equal(missing.statusCode, 403, 'htmx post without the token: 403')
  t.match(missing.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  t.equal(missing.headers['hx-retarget'], '#flash', 'shown in the flash box, not appended to the list')
  t.equal(missing.headers['hx-reswap'], 'innerHTML')
  const view = tab.pageId
  const plain = await tab.post('/?/add', { form: { text: 'forged' } })
  t.equal(plain.statusCode, 403, 'plain form post without the _csrf field: 403')
  t.match(plain.body, /^<!doctype html>/i, 'with the whole page')
  t.match(plain.body, REFUSED.csrfMissing)
  // The error page is a document like any other (a page view of its own, which the client adopts as a
  // browser would): back to the list's view.
  tab.pageId = view

  const { tab: otherBrowser } = await openTab(server)
  tab.csrfToken = otherBrowser.csrfToken
  const foreign = await htmx(tab, 'add', { text: 'forged' })
  t.equal(foreign.statusCode, 403, 'the token of another browser: 403')
  t.match(foreign.body, REFUSED.csrfInvalid, 'FST_NEX_SECURITY_CSRF_INVALID')
  t.equal((await htmx(tab, 'toggle&id=1')).statusCode, 403, 'toggle needs it too')
  t.equal((await htmx(tab, 'delete&id=1')).statusCode, 403, 'and delete')

  tab.csrfToken = token
  t.same(await listOf(tab), [{ id: 1, text: 'mine', done: false }], 'nothing was added, toggled or deleted')
  t.equal((await add(tab, 'with the token')).id, 2, 'with its token the tab adds again')
})

t.test('concurrent adds get distinct ids and all land', async t => {
  const server = await app(t)
  const { tab } = await openTab(server)
  const items = await Promise.all(Array.from({ length: 50 }, async (_, i) => await add(tab, `todo ${i}`)))
  t.same(items.map(item => item.id).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1), 'ids 1 to 50, each once')
  t.equal((await listOf(tab)).length, 50)
})
