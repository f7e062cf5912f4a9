// The chat through app.inject (pages, actions, validation) and real sockets (the rooms' event streams):
// delivery exactly once to every connection, in order, escaped; replay after a reconnect and after the
// page render; plain form posts. The app runs the `nex` preset: pages carry a CSP nonce on every script
// and a CSRF token (meta tag and hidden field), which the test client sends back like a browser; sends
// without it, from another site or over the rate limit are refused.
import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { createTestClient, type TestClient } from '@nex/testing'
import { build } from '../app.js'
import { pageFieldsOf } from '../../../test/helpers/markup.ts'
import { MAX_AUTHOR_LENGTH, MAX_TEXT_LENGTH, RECENT_MESSAGES } from '../src/lib/chat.ts'
import { connectSse, type SseConnection, type SseEvent } from './helpers/sse-client.ts'

const XSS = '<img src=x onerror=alert(1)>'
const SCRIPT = '<script>alert("hi")</script>'

/** The app listening on a free loopback port (streams need a real socket); closed by the teardown of `t`. */
async function listen (t: Test, config: Parameters<typeof build>[1] = {}): Promise<{ server: FastifyInstance, base: string }> {
  const server = await build({ logger: false }, config)
  t.teardown(async () => await server.close())
  await server.listen({ port: 0, host: '127.0.0.1' })
  return { server, base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` }
}

interface Message {
  author: string
  text: string
}

const MESSAGE = /<li data-testid="chat-message" class="message"><strong class="author" data-testid="chat-message-author">([^<]*)<\/strong> <span class="text" data-testid="chat-message-text">([^<]*)<\/span><\/li>/g

/** The messages in some markup, in document order. */
function messagesIn (markup: string): Message[] {
  return [...markup.matchAll(MESSAGE)].map(([, author, text]) => ({ author: unescape(author as string), text: unescape(text as string) }))
}

/** The one message an event carries (an event is exactly one message's markup). */
function messageOf (event: SseEvent): Message {
  const [message, ...rest] = messagesIn(event.data)
  if (message === undefined || rest.length > 0 || event.data.replace(MESSAGE, '') !== '') throw new Error(`not one message: ${event.data}`)
  return message
}

function unescape (text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&amp;/g, '&')
}

/** The chat form in some markup. */
function formIn (markup: string): string {
  const match = /<form id="chat-form"[\s\S]*?<\/form>/.exec(markup)
  if (match === null) throw new Error(`no chat form in: ${markup.slice(0, 300)}`)
  return match[0]
}

/** A browser tab on a room: a client that has loaded the room page (so it holds a page id). */
async function openRoom (server: FastifyInstance, room: string): Promise<{ tab: TestClient, body: string }> {
  const tab = createTestClient(server)
  const response = await tab.get(`/rooms/${room}`)
  if (response.statusCode !== 200) throw new Error(`GET /rooms/${room} answered ${response.statusCode}`)
  return { tab, body: response.body }
}

/** Sends a message the way the htmx form does; the answer must be the form. */
async function send (tab: TestClient, room: string, text: string, author = ''): Promise<string> {
  const response = await tab.post(`/rooms/${room}?/send`, { htmx: true, form: { author, text } })
  if (response.statusCode !== 200) throw new Error(`send answered ${response.statusCode}: ${response.body}`)
  return response.body
}

/** Opens the room's stream: live messages only, unless `after` or `lastEventId` ask for a replay. */
async function follow (t: Test, base: string, room: string, options: { after?: number, lastEventId?: string } = {}): Promise<SseConnection> {
  const query = options.after === undefined ? '' : `&after=${options.after}`
  const connection = await connectSse(`${base}/rooms/${room}?/stream${query}`, options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId })
  t.teardown(() => connection.close())
  if (connection.status !== 200) throw new Error(`the stream answered ${connection.status}`)
  return connection
}

/** Every message a connection received up to and including the one with `text`. */
async function receivedUntil (connection: SseConnection, text: string): Promise<SseEvent[]> {
  return await connection.until(event => event.data.includes(`>${text}</span>`))
}

function ids (events: readonly SseEvent[]): number[] {
  return events.map(event => Number(event.id))
}

function increasing (numbers: number[]): boolean {
  return numbers.every((n, i) => Number.isSafeInteger(n) && (i === 0 || n > (numbers[i - 1] as number)))
}

t.test('building the app emits no warnings', async t => {
  const warnings: string[] = []
  const onWarning = (warning: Error & { code?: string }): void => { warnings.push(`${warning.code ?? warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const server = await build({ logger: false })
  t.teardown(async () => await server.close())
  await server.ready()
  await new Promise(resolve => setImmediate(resolve))
  t.same(warnings, [], 'no process warnings')
})

t.test('the home page lists rooms and goes to one by name', async t => {
  const { server } = await listen(t)
  const tab = createTestClient(server)
  const home = await tab.get('/')
  t.equal(home.statusCode, 200)
  t.match(home.body, 'data-testid="rooms-page"')
  for (const room of ['lobby', 'random', 'help']) t.match(home.body, `<a href="/rooms/${room}" data-testid="room-link-${room}">#${room}</a>`)
  t.match(home.body, '<form class="go-form" data-testid="room-form" method="post" action="?/go">')

  const go = await tab.post('/?/go', { form: { room: '  Team-42 ' } })
  t.equal(go.statusCode, 303, 'a plain form post is redirected')
  t.equal(go.headers.location, '/rooms/team-42', 'to the room, name trimmed and lowercased')

  for (const bad of ['', 'no way!', 'a_b', 'x'.repeat(33), '../admin']) {
    const refused = await tab.post('/?/go', { form: { room: bad } })
    t.equal(refused.statusCode, 422, `${JSON.stringify(bad)}: 422`)
    t.match(refused.body, /^<!doctype html>/i, 'the page again')
    t.match(refused.body, 'A room name has 1 to 32 characters: lowercase letters, digits and dashes.', 'saying why')
    t.match(refused.body, 'aria-invalid="true"')
  }
  t.match((await tab.post('/?/go', { form: { room: '"><b>x' } })).body, 'value="&quot;&gt;&lt;b&gt;x"', 'the value is kept, escaped')
})

t.test('the room page: markup and test ids, no inline code', async t => {
  const { server } = await listen(t)
  const tab = createTestClient(server)
  const response = await tab.get('/rooms/lobby')
  const { body } = response
  t.equal(response.statusCode, 200)
  t.match(body, /^<!doctype html>/i)
  t.match(body, '<title>#lobby · Nex Chat</title>')

  // The CSP of @nex/security: scripts of this site only, no inline code, so the page needs no nonce.
  const csp = String(response.headers['content-security-policy'])
  t.match(csp, "script-src 'self';", `a CSP that allows scripts of this site only: ${csp}`)
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'neither inline code nor eval is allowed')
  t.notMatch(csp, /'nonce-/, 'nor a script with a nonce')
  t.match(csp, "script-src-attr 'none'", 'nor inline event handlers')
  t.match(body, '<script src="/_nex/htmx@4.0.1/ext/hx-sse.min.js" defer></script>', 'htmx 4\'s SSE extension is loaded, a file of this site')
  t.equal((await server.inject('/rooms/lobby')).headers['content-security-policy'], csp, 'the same CSP for every reply: no per-reply nonce')
  t.match(body, 'data-testid="chat-room"')
  t.match(body, /<ul id="messages" data-testid="chat-messages" class="messages" aria-live="polite"\s+hx-sse:connect="\?\/stream&amp;after=0" hx-swap="beforeend"><\/ul>/,
    'the list follows the room\'s stream and appends what arrives')

  const form = formIn(body)
  t.match(form, 'data-testid="chat-form"')
  t.match(form, 'method="post" action="?/send"', 'a real form for browsers without JavaScript')
  t.match(form, 'hx-post="?/send" hx-target="#chat-form" hx-swap="outerHTML"', 'that htmx posts and replaces with the answer')
  t.match(form, /<input name="author"[^>]*maxlength="40"[^>]*value="">/, 'an optional name')
  t.match(form, /<input id="chat-input" name="text" data-testid="chat-input" required maxlength="500"[^>]*value="" autofocus>/, 'a required, bounded text')
  t.same(pageFieldsOf(form), [tab.pageId], 'the page id field')

  t.notMatch(body, /hx-on|js:/, 'no inline event handlers')
  t.notMatch(body, /\sstyle=/, 'no inline styles (the CSP would block them)')
  const scripts = [...body.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag)
  t.equal(scripts.length, 3, 'htmx, the Nex client and the SSE extension')
  for (const tag of scripts) {
    t.match(tag, / src="\/_nex\//, `${tag}: scripts come from files of this site`)
    t.notMatch(tag, /\bnonce=/, 'without a nonce: script-src \'self\' allows them')
  }

  // CSRF: the secret cookie, the token for the Nex client (meta) and for the form without JavaScript.
  t.match(String(response.headers['set-cookie']), /^_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax/, 'the CSRF secret cookie')
  t.ok(tab.csrfToken, 'a token in <meta name="csrf-token">')
  t.match(form, `<input type="hidden" name="_csrf" value="${tab.csrfToken}">`, 'the same token in the form')
  t.equal((await server.inject('/styles.css')).statusCode, 200, 'static files are served')
  t.equal((await server.inject('/favicon.ico')).statusCode, 200)
})

t.test('a name that is not a room name gets the not-found page, for the page, its stream and its action', async t => {
  const { server, base } = await listen(t)
  // A browser that has a page of the site, so its posts carry a CSRF token.
  const tab = createTestClient(server)
  await tab.get('/')
  for (const bad of ['Lobby', 'a_b', 'x'.repeat(33), '%3Cscript%3E', 'lob%20by', 'caf%C3%A9']) {
    const page = await server.inject(`/rooms/${bad}`)
    t.equal(page.statusCode, 404, `/rooms/${bad}: 404`)
    t.match(page.body, '<h1>Not found</h1>')
    t.notMatch(page.body, '<script>', 'nothing of the name runs')
    const stream = await connectSse(`${base}/rooms/${bad}?/stream`)
    stream.close()
    t.equal(stream.status, 404, `${bad}: no stream`)
    t.match(stream.contentType, /^text\/html/)
    const action = await tab.post(`/rooms/${bad}?/send`, { htmx: true, form: { text: 'hi' } })
    t.equal(action.statusCode, 404, `${bad}: no action`)
    t.equal(action.headers['hx-retarget'], '#flash', 'shown in the flash box, not in place of the form')
  }
  t.equal((await server.inject(`/rooms/${'a-9'.repeat(10)}xy`)).statusCode, 200, '32 characters is a room')
  t.equal((await server.inject('/no/such/page')).statusCode, 404, 'unknown URLs too')
  t.same((await server.nexSse.topics.since('room:lobby', 0)).events, [], 'nothing was published')
})

t.test('send refuses empty, blank and too long messages with 422 in the form', async t => {
  const { server } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const long = 'x'.repeat(MAX_TEXT_LENGTH + 1)
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no field', {}, 'Write a message first.'],
    ['empty', { text: '' }, 'Write a message first.'],
    ['blank', { text: ' \t\n ' }, 'Write a message first.'],
    ['too long', { text: long }, 'A message can be at most 500 characters long (this one has 501).'],
    ['name too long', { text: 'hi', author: 'n'.repeat(MAX_AUTHOR_LENGTH + 1) }, 'A name can be at most 40 characters long.']
  ]
  for (const [name, fields, message] of cases) {
    const response = await tab.post('/rooms/lobby?/send', { htmx: true, form: fields })
    t.equal(response.statusCode, 422, `${name}: 422`)
    t.notMatch(response.body, '<html', `${name}: a fragment`)
    const form = formIn(response.body)
    t.equal(form, response.body, `${name}: exactly the form, which replaces itself`)
    t.match(form, `<p id="chat-error" data-testid="chat-error" class="form-error" role="alert">${message}</p>`, `${name}: says why`)
    t.match(form, 'aria-invalid="true"')
  }
  t.match(formIn((await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: long, author: 'ann' } })).body), `value="${long}"`, 'the text is kept to fix it')
  t.same((await server.nexSse.topics.since('room:lobby', 0)).events, [], 'nothing was published')

  await send(tab, 'lobby', 'y'.repeat(MAX_TEXT_LENGTH), 'n'.repeat(MAX_AUTHOR_LENGTH))
  t.equal((await server.nexSse.topics.since('room:lobby', 0)).events.length, 1, 'exactly 500 characters and a 40-character name are fine')
})

t.test('send answers htmx with the form, empty but for the name, and publishes one message', async t => {
  const { server } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const body = await send(tab, 'lobby', '  hello there  ', '  Ann ')
  const form = formIn(body)
  t.equal(form, body, 'the form alone')
  t.match(form, /<input id="chat-input" name="text"[^>]*value="" autofocus>/, 'the text input is empty and focused')
  t.match(form, /<input name="author"[^>]*value="Ann">/, 'the name stays for the next message')
  t.match(form, '<p id="chat-error" data-testid="chat-error" class="form-error" role="alert"></p>', 'no message')
  t.same(pageFieldsOf(form), [tab.pageId], 'for the same page view')

  const { events } = await server.nexSse.topics.since('room:lobby', 0)
  t.equal(events.length, 1, 'one event on the room\'s topic')
  t.same(messagesIn((events[0]?.message as { data: string }).data), [{ author: 'Ann', text: 'hello there' }], 'the message, trimmed')
  await send(tab, 'lobby', 'who am I?')
  t.same(messagesIn((await tab.get('/rooms/lobby', { htmx: true })).body).at(-1), { author: 'anonymous', text: 'who am I?' }, 'without a name: anonymous')
  t.same((await server.nexSse.topics.since('room:random', 0)).events, [], 'other rooms got nothing')
})

t.test('a message reaches every connection to the room exactly once, escaped', async t => {
  const { server, base } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const [a, b] = await Promise.all([follow(t, base, 'lobby'), follow(t, base, 'lobby')])
  const other = await follow(t, base, 'random')
  t.equal(a.contentType, 'text/event-stream; charset=utf-8')
  t.equal(server.nexSse.streams, 3, 'three streams open')

  await send(tab, 'lobby', SCRIPT, XSS)
  await send(tab, 'lobby', 'end')
  for (const [name, connection] of [['a', a], ['b', b]] as const) {
    const events = await receivedUntil(connection, 'end')
    t.equal(events.length, 2, `${name}: the message and the end marker, nothing else`)
    const [first] = events as [SseEvent]
    t.equal(first.event, '', `${name}: an unnamed message, which htmx swaps`)
    t.match(first.id, /^\d+$/, `${name}: with its id, for replay`)
    t.same(messageOf(first), { author: XSS, text: SCRIPT }, `${name}: read back exactly`)
    t.notMatch(first.data, /<img|<script/, `${name}: no markup from the user`)
    t.match(first.data, '&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;', `${name}: escaped`)
  }
  t.equal(b.events.length, 2, 'b got nothing more in the meantime')
  await send(tab, 'random', 'elsewhere')
  t.same((await receivedUntil(other, 'elsewhere')).map(messageOf), [{ author: 'anonymous', text: 'elsewhere' }], 'the other room got only its own message')
  t.equal(a.events.length, 2, 'which did not reach the lobby')
})

t.test('messages arrive in the same order everywhere, ids increasing, sequential ones in sending order', async t => {
  const { server, base } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const connections = await Promise.all([1, 2, 3].map(() => follow(t, base, 'lobby')))
  const sequential = Array.from({ length: 10 }, (_, i) => `one by one ${i}`)
  const concurrent = Array.from({ length: 20 }, (_, i) => `all at once ${i}`)
  for (const text of sequential) await send(tab, 'lobby', text)
  await Promise.all(concurrent.map(text => send(tab, 'lobby', text)))
  await send(tab, 'lobby', 'end')

  const seen = await Promise.all(connections.map(connection => receivedUntil(connection, 'end')))
  const [first] = seen as [SseEvent[]]
  t.equal(first.length, 31, 'every message once, and the end marker')
  t.ok(increasing(ids(first)), 'ids strictly increasing')
  const texts = first.map(event => messageOf(event).text)
  t.same(texts.slice(0, 10), sequential, 'messages sent one after another arrive in that order')
  t.same(texts.slice(10, 30).sort(), [...concurrent].sort(), 'concurrent ones each once')
  for (const events of seen.slice(1)) t.same(events, first, 'the other connections got the same events in the same order')
})

t.test('a reconnect with Last-Event-ID gets exactly the messages it missed, then live ones', async t => {
  const { server, base } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const watcher = await follow(t, base, 'lobby')
  const leaving = await follow(t, base, 'lobby')
  await send(tab, 'lobby', 'm1')
  await send(tab, 'lobby', 'm2')
  const before = await receivedUntil(leaving, 'm2')
  leaving.close()
  for (let i = 0; i < 100 && server.nexSse.streams > 1; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(server.nexSse.streams, 1, 'the client left')

  for (const text of ['m3', 'm4', 'm5']) await send(tab, 'lobby', text)
  const back = await follow(t, base, 'lobby', { lastEventId: (before.at(-1) as SseEvent).id as string, after: 0 })
  await send(tab, 'lobby', 'm6')
  const replayed = await receivedUntil(back, 'm6')
  t.same(replayed.map(event => messageOf(event).text), ['m3', 'm4', 'm5', 'm6'], 'the three missed, then the live one; Last-Event-ID wins over after')
  const all = await receivedUntil(watcher, 'm6')
  t.same(replayed, all.slice(2), 'with the ids and markup the connected client got')
  t.ok(increasing(ids([...before, ...replayed])), 'ids keep increasing across the reconnect')

  const current = await follow(t, base, 'lobby', { lastEventId: (all.at(-1) as SseEvent).id as string })
  await send(tab, 'lobby', 'm7')
  t.same((await receivedUntil(current, 'm7')).map(event => messageOf(event).text), ['m7'], 'a client that missed nothing gets nothing replayed')
})

t.test('the page shows the newest messages and its stream replays what came after the render', async t => {
  const { server, base } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  await send(tab, 'lobby', 'first', 'Ann')
  await send(tab, 'lobby', XSS, SCRIPT)
  await send(tab, 'lobby', 'third', 'Ann')

  const { body } = await openRoom(server, 'lobby')
  t.same(messagesIn(body), [
    { author: 'Ann', text: 'first' },
    { author: SCRIPT, text: XSS },
    { author: 'Ann', text: 'third' }
  ], 'the messages so far, oldest first')
  t.notMatch(body, /<img|<script>/, 'escaped')
  const after = Number(/hx-sse:connect="\?\/stream&amp;after=(\d+)"/.exec(body)?.[1])
  const { events } = await server.nexSse.topics.since('room:lobby', 0)
  t.equal(after, events.at(-1)?.id, 'the stream URL carries the newest id shown')

  // Sent between the render and the stream's connection: the page did not show it, the stream must.
  await send(tab, 'lobby', 'in between')
  const connection = await follow(t, base, 'lobby', { after })
  await send(tab, 'lobby', 'live')
  t.same((await receivedUntil(connection, 'live')).map(event => messageOf(event).text), ['in between', 'live'], 'replayed from the render on, nothing before it')

  const fresh = await openRoom(server, 'random')
  t.match(fresh.body, 'hx-sse:connect="?/stream&amp;after=0"', 'an empty room: after=0')
  await send(tab, 'random', 'early')
  const first = await follow(t, base, 'random', { after: 0 })
  await send(tab, 'random', 'late')
  t.same((await receivedUntil(first, 'late')).map(event => messageOf(event).text), ['early', 'late'], 'nothing is missed in a room that was empty at the render')
})

t.test(`the page shows at most the ${RECENT_MESSAGES} newest messages`, async t => {
  const { server } = await listen(t)
  const { tab } = await openRoom(server, 'busy')
  for (let i = 1; i <= RECENT_MESSAGES + 5; i++) await send(tab, 'busy', `message ${i}`)
  const { body } = await openRoom(server, 'busy')
  const shown = messagesIn(body).map(message => message.text)
  t.equal(shown.length, RECENT_MESSAGES)
  t.equal(shown[0], 'message 6', 'the oldest ones are left out')
  t.equal(shown.at(-1), `message ${RECENT_MESSAGES + 5}`)
})

t.test('without JavaScript the form posts and is redirected back to the room (303)', async t => {
  const { server, base } = await listen(t)
  const { tab } = await openRoom(server, 'lobby')
  const connection = await follow(t, base, 'lobby')
  const response = await tab.post('/rooms/lobby?/send', { form: { author: 'Bo', text: 'no js here' } })
  t.equal(response.statusCode, 303, 'post/redirect/get')
  t.equal(response.headers.location, '/rooms/lobby')
  t.same((await receivedUntil(connection, 'no js here')).map(messageOf), [{ author: 'Bo', text: 'no js here' }], 'open pages got it live')
  const page = await tab.get('/rooms/lobby')
  t.same(messagesIn(page.body), [{ author: 'Bo', text: 'no js here' }], 'and the room page shows it')

  const refused = await tab.post('/rooms/lobby?/send', { form: { author: 'Bo', text: '   ' } })
  t.equal(refused.statusCode, 422, 'a refused post: 422')
  t.match(refused.body, /^<!doctype html>/i, 'with the whole page')
  t.match(formIn(refused.body), 'Write a message first.', 'and the message in the form')
  t.match(formIn(refused.body), /<input name="author"[^>]*value="Bo">/, 'keeping the name')
  t.same(messagesIn(refused.body), [{ author: 'Bo', text: 'no js here' }], 'and the messages')
  t.equal(connection.events.length, 1, 'nothing more was published')
})

/** The app on a free port, recording the code of every error it answers with. */
async function listenRecordingErrors (t: Test): Promise<{ server: FastifyInstance, codes: string[] }> {
  const server = await build({ logger: false })
  t.teardown(async () => await server.close())
  const codes: string[] = []
  server.addHook('onError', async (_request, _reply, error) => { codes.push((error as { code?: string }).code ?? error.name) })
  await server.listen({ port: 0, host: '127.0.0.1' })
  return { server, codes }
}

t.test('send needs the CSRF token of a page of this browser and a same-site request; refused ones publish nothing', async t => {
  const { server, codes } = await listenRecordingErrors(t)
  const { tab } = await openRoom(server, 'lobby')
  const token = tab.csrfToken as string
  const { tab: stranger } = await openRoom(server, 'lobby')

  tab.csrfToken = null
  const missing = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'no token' } })
  t.equal(missing.statusCode, 403, 'htmx without X-CSRF-Token: 403')
  t.equal(missing.headers['hx-retarget'], '#flash', 'shown in the flash box, the form stays')
  t.match(missing.body, 'Reload the page and try again', 'saying what to do')
  const plain = await tab.post('/rooms/lobby?/send', { form: { text: 'no field' } })
  t.equal(plain.statusCode, 403, 'a plain form post without the _csrf field: 403')
  t.match(plain.body, /^<!doctype html>/i, 'the error page, whole')
  t.match(plain.body, '<meta name="csrf-token"', 'which has a token again: a browser posts fine from there')
  tab.csrfToken = null
  const go = await tab.post('/?/go', { form: { room: 'elsewhere' } })
  t.equal(go.statusCode, 403, 'the home page\'s form too')
  t.same(codes.splice(0), ['FST_NEX_SECURITY_CSRF_MISSING', 'FST_NEX_SECURITY_CSRF_MISSING', 'FST_NEX_SECURITY_CSRF_MISSING'])

  tab.csrfToken = stranger.csrfToken
  const foreign = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'another browser\'s token' } })
  t.equal(foreign.statusCode, 403, 'the token of another browser: 403')
  tab.csrfToken = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
  const forged = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'forged token' } })
  t.equal(forged.statusCode, 403, 'a forged token: 403')
  t.same(codes.splice(0), ['FST_NEX_SECURITY_CSRF_INVALID', 'FST_NEX_SECURITY_CSRF_INVALID'])

  tab.csrfToken = token
  const crossSite = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'from elsewhere' }, headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(crossSite.statusCode, 403, 'from another site, even with the token: 403')
  const otherOrigin = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'other origin' }, headers: { origin: 'https://evil.example' } })
  t.equal(otherOrigin.statusCode, 403, 'an Origin of another site: 403')
  t.same(codes.splice(0), ['FST_NEX_SECURITY_CROSS_SITE', 'FST_NEX_SECURITY_CROSS_SITE'])
  t.same((await server.nexSse.topics.since('room:lobby', 0)).events, [], 'nothing was published')

  await send(tab, 'lobby', 'with the token', 'Ann')
  const sameOrigin = await tab.post('/rooms/lobby?/send', { htmx: true, form: { text: 'as the browser sends it' }, headers: { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' } })
  t.equal(sameOrigin.statusCode, 200, 'a same-origin request with the token (Sec-Fetch-Site, Origin of its Host) is accepted')
  t.same(messagesIn((await tab.get('/rooms/lobby')).body).map(message => message.text), ['with the token', 'as the browser sends it'], 'those two were published')
  t.same(codes, [], 'without errors')
})

t.test('sends are rate limited per client (page actions: 120 a minute); build() takes raised limits', async t => {
  const { server } = await listen(t)
  const { tab } = await openRoom(server, 'flood')
  for (let i = 1; i <= 120; i++) await send(tab, 'flood', `message ${i}`)
  const limited = await tab.post('/rooms/flood?/send', { htmx: true, form: { text: 'one too many' } })
  t.equal(limited.statusCode, 429, 'the 121st send within a minute: 429')
  t.ok(Number(limited.headers['retry-after']) > 0, `with Retry-After (${limited.headers['retry-after']} s)`)
  const { events } = await server.nexSse.topics.since('room:flood', 0)
  t.same(messagesIn((events.at(-1)?.message as { data: string }).data), [{ author: 'anonymous', text: 'message 120' }], 'and not published')
  t.equal((await tab.get('/rooms/flood')).statusCode, 200, 'the page itself is still served')

  const raised = await listen(t, { security: { rateLimit: { actions: { max: 10_000 } } } })
  const { tab: loadTester } = await openRoom(raised.server, 'flood')
  for (let i = 1; i <= 130; i++) await send(loadTester, 'flood', `message ${i}`)
  const last = (await raised.server.nexSse.topics.since('room:flood', 0)).events.at(-1)?.message as { data: string }
  t.same(messagesIn(last.data), [{ author: 'anonymous', text: 'message 130' }], 'with actions.max raised (a load test), all 130 are sent')
})
