/**
 * SEC-02 (RELIABILITY §6): XSS through templates and htmx attributes. fast-check draws strings from the
 * row's attacks (`<>"'&`, `" hx-get="/x`, `javascript:`, `{{`, U+2028, …) mixed with arbitrary text and
 * renders them through every helper and component that puts a value into markup: the `html` tag (text,
 * both attribute quotings, nesting, arrays, promises), `join`, `renderToString`, the @nex/routes context
 * helpers (`ctx.formFields()`, `ctx.scripts()` with CSRF token, header name and CSP nonces, htmx 2's
 * `htmx-config` meta), its built-in document shell and error body, and the examples' partials, pages,
 * error pages and layouts that show user text (todos, chat, auth, counter, dashboard).
 *
 * The check needs no HTML parser: each case is rendered twice, with the hostile strings and with a
 * benign one, and both outputs must have the same structure: the same number of `<`, `>`, `"` and `'`,
 * and the same token list from a small tokenizer (tags, attribute names and quoting, the whole value of
 * URL, event-handler, `style` and `hx-*` attributes, the raw content of `<script>` and `<style>`,
 * comments). Escaped user text changes none of these; an unescaped `<`, `"` or injected `hx-` attribute
 * changes them. Each hostile string must also be in the output, escaped (so the case really rendered it).
 * Negative controls prove the check fails: `raw(userInput)`, an unquoted attribute, and the chat room
 * page fed user text instead of chatMessage() markup.
 *
 * The raw-helper lint half of the row is test/lint/no-unsafe-raw.test.ts.
 */
import t from 'tap'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import Fastify from 'fastify'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { escapeHtml, html, join, raw, renderToString, type SafeHtml } from '@nex/html'
import { Context } from '@nex/routes'
import { registerAssets, type Assets } from '../../plugins/routes/src/assets.ts'
import { builtInErrorBody, documentShell } from '../../plugins/routes/src/render.ts'
import { todoForm } from '../../examples/todos/src/partials/todo-form.ts'
import { todoItem } from '../../examples/todos/src/partials/todo-item.ts'
import todosPage from '../../examples/todos/src/pages/index.ts'
import todosError from '../../examples/todos/src/pages/_error.ts'
import todosLayout from '../../examples/todos/src/pages/_layout.ts'
import { chatForm } from '../../examples/chat/src/partials/chat-form.ts'
import { chatMessage } from '../../examples/chat/src/partials/chat-message.ts'
import chatHome from '../../examples/chat/src/pages/index.ts'
import chatRoom, { head as chatRoomHead } from '../../examples/chat/src/pages/rooms/[room].ts'
import chatError from '../../examples/chat/src/pages/_error.ts'
import chatLayout from '../../examples/chat/src/pages/_layout.ts'
import authLayout from '../../examples/auth/src/pages/_layout.ts'
import authHome from '../../examples/auth/src/pages/index.ts'
import authDashboard from '../../examples/auth/src/pages/dashboard.ts'
import authError from '../../examples/auth/src/pages/_error.ts'
import counterLayout from '../../examples/counter/src/pages/_layout.ts'
import dashboardLayout from '../../examples/dashboard/src/pages/_layout.ts'
import { priceElement } from '../../examples/dashboard/src/lib/energy.ts'

const RUNS = 200
const BENIGN = 'x'
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

// ---------------------------------------------------------------------------------------------------
// Hostile strings

const PIECES = [
  '<', '>', '"', "'", '&', '" hx-get="/x', "' hx-get='/x", ' hx-get=/x ', '"><x hx-post="/evil">', 'javascript:alert(1)',
  '{{', '}}', '{{constructor.constructor("alert(1)")()}}', '\u2028', '\u2029', '<script>alert(1)</script>',
  '</title><script>alert(1)</script>', '</textarea><img src=x onerror=alert(1)>', '"><img src=x onerror=alert(1)>',
  ' onfocus=alert(1) autofocus ', '<!--', '-->', '&lt;', '&quot;', '&#34;', '&#x3C;', '\\', '\0', '\n', '`'
]
const piece = fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 6 }))
/** One user-controlled string: attack pieces glued to arbitrary text. */
const userText = fc.array(piece, { minLength: 1, maxLength: 6 }).map(parts => parts.join(''))

// ---------------------------------------------------------------------------------------------------
// Structure of markup

/** Attributes whose whole value matters: a user value there is a URL, a script or an htmx instruction. */
const SENSITIVE = /^(?:on|hx-|data-hx-)|^(?:href|src|srcset|action|formaction|style|srcdoc|xlink:href|http-equiv)$/
/** Elements whose content is not parsed as markup; entities are not decoded in the first two. */
const RAW_TEXT = new Set(['script', 'style'])
const RCDATA = new Set(['title', 'textarea'])
const NAME_CHAR = /[^\s/>]/
const ATTR_NAME_CHAR = /[^\s/>=]/

/**
 * The structure of `markup` as a token list, after the HTML tokenizer's rules (simplified): tags with
 * their attribute names and quoting, sensitive attribute values whole, raw-text element content,
 * comments and declarations, and every `<` that opens nothing. Text and other attribute values are left
 * out: escaped user input only ever lands there.
 */
function structure (markup: string): string[] {
  const tokens: string[] = []
  const n = markup.length
  let i = 0
  for (;;) {
    const lt = markup.indexOf('<', i)
    if (lt === -1) return tokens
    const next = markup.charAt(lt + 1)
    if (markup.startsWith('<!--', lt)) {
      const end = markup.indexOf('-->', lt + 4)
      if (end === -1) return [...tokens, 'unterminated comment']
      tokens.push(`comment ${markup.slice(lt + 4, end)}`)
      i = end + 3
    } else if (next === '!' || next === '?') {
      const end = markup.indexOf('>', lt)
      if (end === -1) return [...tokens, 'unterminated declaration']
      tokens.push(`declaration ${markup.slice(lt + 2, end)}`)
      i = end + 1
    } else if (next === '/' && /[A-Za-z]/.test(markup.charAt(lt + 2))) {
      const end = markup.indexOf('>', lt)
      if (end === -1) return [...tokens, 'unterminated end tag']
      tokens.push(`</${/^[^\s/>]+/.exec(markup.slice(lt + 2))?.[0].toLowerCase()}>`)
      i = end + 1
    } else if (/[A-Za-z]/.test(next)) {
      let j = lt + 1
      while (j < n && NAME_CHAR.test(markup.charAt(j))) j++
      const name = markup.slice(lt + 1, j).toLowerCase()
      const attributes: string[] = []
      for (;;) {
        while (j < n && /[\s/]/.test(markup.charAt(j))) j++
        if (j >= n) return [...tokens, `unterminated <${name}>`]
        if (markup.charAt(j) === '>') { j++; break }
        const start = j
        j++ // a first `=` belongs to the name
        while (j < n && ATTR_NAME_CHAR.test(markup.charAt(j))) j++
        const attribute = markup.slice(start, j).toLowerCase()
        let k = j
        while (k < n && /\s/.test(markup.charAt(k))) k++
        if (markup.charAt(k) !== '=') {
          attributes.push(attribute)
          continue
        }
        k++
        while (k < n && /\s/.test(markup.charAt(k))) k++
        const quote = markup.charAt(k)
        let value: string
        if (quote === '"' || quote === "'") {
          const close = markup.indexOf(quote, k + 1)
          if (close === -1) return [...tokens, `unterminated attribute ${attribute}`]
          value = markup.slice(k + 1, close)
          j = close + 1
        } else {
          j = k
          while (j < n && !/[\s>]/.test(markup.charAt(j))) j++
          value = markup.slice(k, j)
        }
        const q = quote === '"' || quote === "'" ? quote : '(unquoted)'
        attributes.push(SENSITIVE.test(attribute) ? `${attribute}=${q}${value}${q}` : `${attribute}=${q}`)
      }
      tokens.push(`<${name}${attributes.map(a => ` ${a}`).join('')}>`)
      if (RAW_TEXT.has(name) || RCDATA.has(name)) {
        const close = markup.toLowerCase().indexOf(`</${name}`, j)
        if (close === -1) return [...tokens, `unterminated ${name} content`]
        // Script and style content is code: a user value there is not escaped by the browser.
        if (RAW_TEXT.has(name)) tokens.push(`${name} content ${markup.slice(j, close)}`)
        j = close
      }
      i = j
    } else {
      // A `<` that opens nothing: harmless to a browser, but never one escaped user text can produce.
      tokens.push('stray <')
      i = lt + 1
    }
  }
}

/** JSON with every non-ASCII character escaped: a raw U+2028 in a message would split the TAP line. */
function show (value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function count (text: string, char: string): number {
  return text.split(char).length - 1
}

/**
 * What is wrong with `hostile` compared with `benign` (the same render with benign values), or null:
 * a different count of `<`, `>`, `"` or `'`, a different structure, or a hostile value missing from
 * the output in its escaped form.
 */
function problemOf (hostile: string, benign: string, shown: readonly string[]): string | null {
  for (const char of ['<', '>', '"', "'"]) {
    if (count(hostile, char) !== count(benign, char)) {
      return `${count(hostile, char)} × ${char} instead of ${count(benign, char)}`
    }
  }
  const a = structure(hostile)
  const b = structure(benign)
  const differs = a.findIndex((token, index) => token !== b[index])
  if (differs !== -1 || a.length !== b.length) {
    const at = differs === -1 ? Math.min(a.length, b.length) : differs
    return `structure differs at token ${at}: ${show(a[at])} instead of ${show(b[at])}`
  }
  const missing = shown.find(text => !hostile.includes(text))
  if (missing !== undefined) return `the output lacks ${show(missing)}`
  return null
}

// ---------------------------------------------------------------------------------------------------
// A context without a server: stand-ins for what @nex/state, @nex/session and @nex/security decorate

interface ContextValues {
  pageField?: string
  pageId?: string
  csrfField?: string
  csrfHeader?: string
  token?: string
  nonce?: { script?: string, style?: string }
  assets?: Assets | null
  title?: string
  locals?: Record<string, unknown>
  flashes?: Record<string, string[]>
  user?: unknown
  themeCookie?: string
}

function contextOf (values: ContextValues = {}): Context {
  const request = {
    headers: {},
    method: 'GET',
    query: {},
    body: {},
    routeOptions: { url: '/' },
    cookies: { theme: values.themeCookie ?? 'light' },
    server: { nexState: { field: values.pageField ?? '_nex_page' } },
    pageState: { id: values.pageId ?? 'page-id' },
    session: {
      takeFlashes: async () => values.flashes ?? {},
      get: async (key: string) => key === 'user' ? values.user : undefined
    }
  }
  const reply = {
    server: { nexSecurity: { csrf: { field: values.csrfField ?? '_csrf', header: values.csrfHeader ?? 'x-csrf-token' } } },
    csrfToken: () => values.token ?? 'token',
    cspNonce: values.nonce,
    header () { return this },
    code () { return this }
  }
  const ctx = new Context(request as unknown as FastifyRequest, reply as unknown as FastifyReply, {}, {
    prefix: '',
    assets: values.assets ?? null
  })
  if (values.title !== undefined) ctx.head = { title: values.title }
  if (values.locals !== undefined) Object.assign(ctx.locals, values.locals)
  return ctx
}

/** The script tags of @nex/routes for htmx 4 (`htmx.org`) or htmx 2 (`htmx2`, with the style-nonce meta). */
async function assetsFor (htmxPackage: string): Promise<Assets> {
  const app = Fastify()
  t.teardown(async () => await app.close())
  const assets = await registerAssets(app, '', htmxPackage, REPO_ROOT)
  await app.ready()
  return assets
}

// ---------------------------------------------------------------------------------------------------
// Every helper and component that renders a value

type Markup = string | SafeHtml | Promise<string | SafeHtml>

interface Case {
  name: string
  /** How many user strings the case renders. */
  slots: number
  render: (v: string[]) => Markup
  /** What must be in the output for hostile values (default: each value, escaped). */
  shown?: (v: string[]) => string[]
}

const htmx4 = await assetsFor('htmx.org')
const htmx2 = await assetsFor('htmx2')
const user = (v: string[], i: number) => ({ name: v[i] as string, email: v[i + 1] as string })

const CASES: Case[] = [
  // @nex/html
  { name: 'html: element text', slots: 1, render: v => html`<p>${v[0]}</p>` },
  { name: 'html: double-quoted attributes', slots: 2, render: v => html`<a title="${v[0]}" data-x="${v[1]}" hx-get="/ok">x</a>` },
  { name: 'html: single-quoted attribute', slots: 1, render: v => html`<a title='${v[0]}'>x</a>` },
  { name: 'html: inside <title> and <textarea>', slots: 2, render: v => html`<title>${v[0]}</title><textarea>${v[1]}</textarea>` },
  { name: 'html: nested templates and arrays', slots: 2, render: v => html`<ul>${v.map(x => html`<li data-x="${x}">${[x, null, false]}</li>`)}</ul>` },
  { name: 'html: promises', slots: 2, render: v => html`<p title="${Promise.resolve(v[0])}">${[Promise.resolve(v[1])]}</p>` },
  { name: 'join: values and separator', slots: 3, render: v => join([v[0] as string, html`<b>${v[1]}</b>`], v[2]) },
  { name: 'renderToString', slots: 1, render: async v => await renderToString(v[0]) },
  // @nex/routes
  {
    name: 'ctx.formFields(): page id field and CSRF field',
    slots: 4,
    render: v => contextOf({ pageField: v[0], pageId: v[1], csrfField: v[2], token: v[3] }).formFields()
  },
  {
    name: 'ctx.scripts() (htmx 4, sse): CSRF meta, header name, script nonce',
    slots: 3,
    render: v => contextOf({ assets: htmx4, token: v[0], csrfHeader: `x-${v[1]}`, nonce: { script: v[2] } }).scripts({ extensions: ['sse'] }),
    shown: v => [escapeHtml(v[0] as string), escapeHtml(`x-${v[1]}`), escapeHtml(v[2] as string)]
  },
  {
    name: 'ctx.scripts() (htmx 2): style nonce in <meta name="htmx-config">',
    slots: 2,
    render: v => contextOf({ assets: htmx2, nonce: { script: v[0], style: v[1] } }).scripts(),
    shown: v => [escapeHtml(v[0] as string), escapeHtml(JSON.stringify({ inlineStyleNonce: v[1] }))]
  },
  { name: 'built-in document shell: head title', slots: 1, render: v => documentShell(contextOf({ title: v[0] }) as never, '<p>page</p>') },
  { name: 'built-in error body: message and stack', slots: 2, render: v => builtInErrorBody({ statusCode: 500, message: v[0] as string, stack: v[1] as string }) },
  // examples/todos
  {
    name: 'todos todoForm: kept value and message (oob, autofocus)',
    slots: 2,
    render: v => todoForm(contextOf(), { problem: { value: v[0] as string, message: v[1] as string }, oob: true, autofocus: true })
  },
  { name: 'todos todoItem: text (done and not)', slots: 2, render: v => html`${todoItem({ id: 3, text: v[0] as string, done: true })}${todoItem({ id: 4, text: v[1] as string, done: false })}` },
  {
    name: 'todos page: list and the form after a refused add',
    slots: 3,
    render: v => todosPage(contextOf({ locals: { problem: { value: v[0], message: v[1] } } }), { todos: [{ id: 1, text: v[2] as string, done: false }] })
  },
  { name: 'todos _error: message and stack', slots: 2, render: v => todosError(contextOf(), { statusCode: 500, message: v[0] as string, stack: v[1] as string }) },
  { name: 'todos _layout: head title', slots: 1, render: v => todosLayout(contextOf({ title: v[0], assets: htmx4 }), html`<p>page</p>`) },
  // examples/chat
  {
    name: 'chat chatForm: author, text and message',
    slots: 3,
    render: v => chatForm(contextOf(), { author: v[0] as string, text: v[1] as string, message: v[2] as string }, { autofocus: true })
  },
  { name: 'chat chatMessage: author and text', slots: 2, render: v => chatMessage(v[0] as string, v[1] as string) },
  {
    name: 'chat room page: room name, messages as published, the form after a refused send',
    slots: 6,
    render: v => {
      const data = { room: v[0] as string, messages: [chatMessage(v[1] as string, v[2] as string).value], lastId: 7 }
      const ctx = contextOf({ title: chatRoomHead(contextOf(), data).title, locals: { form: { author: v[3], text: v[4], message: v[5] } } })
      return html`<title>${ctx.head.title}</title>${chatRoom(ctx, data)}`
    }
  },
  { name: 'chat home page: the room form after a refused name', slots: 2, render: v => chatHome(contextOf({ locals: { problem: { value: v[0], message: v[1] } } })) },
  { name: 'chat _error: message and stack', slots: 2, render: v => chatError(contextOf(), { statusCode: 500, message: v[0] as string, stack: v[1] as string }) },
  { name: 'chat _layout: head title', slots: 1, render: v => chatLayout(contextOf({ title: v[0], assets: htmx4 }), html`<p>page</p>`) },
  // examples/auth
  {
    name: 'auth _layout: flashes, user name, head title, theme cookie',
    slots: 6,
    render: v => authLayout(contextOf({
      title: v[0],
      assets: htmx4,
      flashes: { error: [v[1] as string], info: [v[2] as string, v[3] as string] },
      user: user(v, 4),
      themeCookie: v[5]
    }), html`<p>page</p>`),
    // The email is not shown by the layout; the theme cookie is never echoed (only light or dark).
    shown: v => [v[0], v[1], v[2], v[3], v[4]].map(x => escapeHtml(x as string))
  },
  {
    name: 'auth home page: user and the theme error',
    slots: 3,
    render: v => authHome(contextOf({ locals: { themeError: v[0] } }), { user: user(v, 1), theme: 'light' })
  },
  {
    name: 'auth dashboard: user name and session data (JSON)',
    slots: 2,
    render: v => authDashboard(contextOf(), { user: user(v, 0), visits: 3 }),
    shown: v => [escapeHtml(v[0] as string), escapeHtml(JSON.stringify(user(v, 0), null, 2))]
  },
  { name: 'auth _error: message and stack', slots: 2, render: v => authError(contextOf(), { statusCode: 500, message: v[0] as string, stack: v[1] as string }) },
  // examples/counter and examples/dashboard
  { name: 'counter _layout: head title', slots: 1, render: v => counterLayout(contextOf({ title: v[0], assets: htmx4 }), html`<p>page</p>`) },
  { name: 'dashboard _layout: head title', slots: 1, render: v => dashboardLayout(contextOf({ title: v[0], assets: htmx4 }), html`<p>page</p>`) },
  { name: 'dashboard priceElement (oob)', slots: 1, render: v => priceElement(v[0] as string, true) }
]

async function markupOf (value: Markup): Promise<string> {
  const resolved = await value
  return typeof resolved === 'string' ? resolved : resolved.value
}

function propertyOf (c: Case) {
  return fc.asyncProperty(fc.array(userText, { minLength: c.slots, maxLength: c.slots }), async v => {
    const hostile = await markupOf(c.render(v))
    const benign = await markupOf(c.render(v.map(() => BENIGN)))
    const problem = problemOf(hostile, benign, c.shown?.(v) ?? v.map(escapeHtml))
    if (problem !== null) throw new Error(`${problem}; hostile render: ${show(hostile)}`)
  })
}

t.test('the tokenizer sees what an injection changes', async t => {
  t.same(structure('<a href="/x" title=\'t\' hidden data-a=b>x</a>'), ['<a href="/x" title=\' hidden data-a=(unquoted)>', '</a>'])
  t.same(structure('<p>a < b</p>'), ['<p>', 'stray <', '</p>'])
  t.same(structure('<script nonce="n">if (a<b) x()</script><title><b></title>'), ['<script nonce=">', 'script content if (a<b) x()', '</script>', '<title>', '</title>'])
  t.same(structure('<input value="a" hx-get="/x">'), ['<input value=" hx-get="/x">'])
  t.same(structure('<!doctype html><!-- c --><p'), ['declaration doctype html', 'comment  c ', 'unterminated <p>'])
  t.not(problemOf('<p x="a" hx-get="/x">', '<p x="b">', []), null, 'an injected attribute')
  t.equal(problemOf('<p x="&quot;">&lt;</p>', '<p x="x">x</p>', ['&lt;']), null, 'escaped text')
})

for (const c of CASES) {
  t.test(c.name, async t => {
    // The benign render alone must be well formed, or the comparison would prove little.
    const benign = await markupOf(c.render(Array.from({ length: c.slots }, () => BENIGN)))
    t.notOk(structure(benign).some(token => token.startsWith('unterminated') || token === 'stray <'), 'the benign render is well formed')
    await fc.assert(propertyOf(c), { numRuns: RUNS })
    t.pass(`${RUNS} runs`)
  })
}

t.test('htmx 2 config meta: the style nonce stays one JSON string value', async t => {
  await fc.assert(fc.asyncProperty(userText, async nonce => {
    const out = contextOf({ assets: htmx2, nonce: { style: nonce } }).scripts().value
    const content = /<meta name="htmx-config" content="([^"]*)">/.exec(out)?.[1]
    if (content === undefined) throw new Error(`no htmx-config meta in ${out}`)
    const decoded = content.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string)
    // No key can be added (e.g. `allowEval`): the config is exactly the nonce.
    t.same(JSON.parse(decoded), { inlineStyleNonce: nonce })
  }), { numRuns: RUNS })
})

t.test('negative controls: the check catches unescaped output', async t => {
  // eslint-disable-next-line nex/no-unsafe-raw -- the negative control: this is the bug the property must catch
  const rawControl: Case = { name: 'raw(userInput)', slots: 1, render: v => html`<p title="t">${raw(v[0] as string)}</p>` }
  const unquotedControl: Case = { name: 'an unquoted attribute', slots: 1, render: v => html`<input value=${v[0]}>` }
  const roomControl: Case = {
    name: 'the chat room fed user text instead of chatMessage() markup',
    slots: 1,
    render: v => chatRoom(contextOf(), { room: 'lobby', messages: [v[0] as string], lastId: 1 }),
    shown: () => []
  }
  for (const c of [rawControl, unquotedControl, roomControl]) {
    const result = await fc.check(propertyOf(c), { numRuns: RUNS })
    t.ok(result.failed, `${c.name}: a counterexample is found`)
    if (result.counterexample !== null) t.comment(`${c.name}: ${show(result.counterexample[0])}`)
  }
  // The row's own payloads, deterministically.
  const cases: Array<[Case, string]> = [
    [rawControl, '" hx-get="/x'], [rawControl, '<img src=x onerror=alert(1)>'], [rawControl, '\u2028<b>{{x}}</b>'],
    [unquotedControl, 'x hx-get=/x'], [unquotedControl, 'javascript:alert(1) onfocus=alert(1)'], [roomControl, '<li hx-get="/x">']
  ]
  for (const [control, payload] of cases) {
    const problem = problemOf(await markupOf(control.render([payload])), await markupOf(control.render([BENIGN])), [])
    t.not(problem, null, `${control.name}: ${show(payload)} is caught (${problem})`)
  }
})
