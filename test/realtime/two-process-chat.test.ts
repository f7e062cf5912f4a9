/**
 * The chat example as two processes (two ports) sharing one real Redis through `REDIS_URL`: the rooms'
 * topics live in Redis' event log (`redis.events`), so a message sent to either process reaches the
 * event streams of both, exactly once each, in one order (the log's ids) that every client sees alike;
 * a client that reconnects to the other process gets what it missed from Redis. Both run the `nex` preset
 * with one NEX_SECRET: a send carries the CSRF cookie and token of the page it came from (as the Nex client
 * does), and a page rendered by either process is good for both; a send without them is refused by both.
 */
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type HttpResult, type RunningServer } from '../helpers/server-process.ts'
import { csrfFrom, REFUSED, type CsrfHeaders } from '../helpers/csrf.ts'
import { connectSse, type SseConnection, type SseEvent } from '../../examples/chat/test/helpers/sse-client.ts'

const CHAT = fileURLToPath(new URL('../../examples/chat', import.meta.url))
const SECRET = 'two-process-secret-shared-by-both-chat-processes-0123'
const CLIENTS_PER_PROCESS = 4
const MESSAGES = 60

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, CHAT, env), startServer(t, CHAT, env)]) as [RunningServer, RunningServer]
t.teardown(() => Promise.all([a.stop(), b.stop()]))

const baseOf = (server: RunningServer): string => `http://${server.host}:${server.port}`

/** A room page as a browser holds it: its page id, CSRF cookie and token, and the id its stream replays after. */
interface RoomPage {
  readonly pageId: string
  readonly csrf: CsrfHeaders
  readonly after: number
  readonly body: string
}

/** Renders the room on `server`. */
async function openRoom (server: RunningServer, room: string): Promise<RoomPage> {
  const page = await httpRequest(server.host, server.port, `/rooms/${room}`)
  if (page.status !== 200) throw new Error(`GET /rooms/${room} on :${server.port} answered ${page.status}`)
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  const after = /hx-sse:connect="\?\/stream&amp;after=(\d+)"/.exec(page.body)?.[1]
  if (pageId === undefined || after === undefined) throw new Error(`no page id or stream in: ${page.body.slice(0, 500)}`)
  return { pageId, csrf: csrfFrom(page), after: Number(after), body: page.body }
}

/** Posts a message to `server` as the htmx form of a page does, with `headers` as the page's credentials. */
async function post (server: RunningServer, room: string, pageId: string, text: string, headers: Record<string, string>): Promise<HttpResult> {
  return await httpRequest(server.host, server.port, `/rooms/${room}?/send`, {
    method: 'POST',
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ author: `via ${server.port}`, text }).toString()
  })
}

/** Sends a message to `server` as the htmx form of `page` does: with its cookies and `X-CSRF-Token`. */
async function send (server: RunningServer, room: string, page: RoomPage, text: string): Promise<void> {
  const answer = await post(server, room, page.pageId, text, { ...page.csrf })
  if (answer.status !== 200) throw new Error(`send on :${server.port} answered ${answer.status}: ${answer.body}\n${server.output()}`)
}

async function follow (t: Test, server: RunningServer, room: string, query = '', headers: Record<string, string> = {}): Promise<SseConnection> {
  const connection = await connectSse(`${baseOf(server)}/rooms/${room}?/stream${query}`, headers)
  t.teardown(() => connection.close())
  if (connection.status !== 200) throw new Error(`the stream on :${server.port} answered ${connection.status}`)
  return connection
}

function textOf (event: SseEvent): string {
  const text = /data-testid="chat-message-text">([^<]*)<\/span><\/li>$/.exec(event.data)?.[1]
  if (text === undefined) throw new Error(`not a chat message: ${event.data}`)
  return text
}

async function receivedUntil (connection: SseConnection, text: string): Promise<SseEvent[]> {
  return await connection.until(event => event.data.endsWith(`>${text}</span></li>`), 10_000)
}

function strictlyIncreasing (events: readonly SseEvent[]): boolean {
  const ids = events.map(event => Number(event.id))
  return ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id > (ids[i - 1] as number)))
}

t.test(`${MESSAGES} messages sent to both processes reach ${CLIENTS_PER_PROCESS} clients on each, exactly once, in one order`, async t => {
  const room = 'lobby'
  const [onA, onB] = await Promise.all([openRoom(a, room), openRoom(b, room)])
  const clients = await Promise.all([
    ...Array.from({ length: CLIENTS_PER_PROCESS }, () => follow(t, a, room, `&after=${onA.after}`)),
    ...Array.from({ length: CLIENTS_PER_PROCESS }, () => follow(t, b, room, `&after=${onB.after}`))
  ])

  const texts = Array.from({ length: MESSAGES }, (_, i) => `message ${i + 1}`)
  const serverOf = (i: number): RunningServer => i % 2 === 0 ? a : b
  // A page rendered by one process sends through both: its page id and CSRF token are signed with the
  // shared secret.
  const pageOf = (i: number): RoomPage => i % 4 < 2 ? onA : onB
  // The first third one after another, then the rest ten at a time, alternating between the processes.
  const sequential = MESSAGES / 3
  for (let i = 0; i < sequential; i++) await send(serverOf(i), room, pageOf(i), texts[i] as string)
  for (let start = sequential; start < MESSAGES; start += 10) {
    await Promise.all(texts.slice(start, start + 10).map((text, j) => send(serverOf(start + j), room, pageOf(start + j), text)))
  }
  await send(b, room, onB, 'end')

  const received = await Promise.all(clients.map(client => receivedUntil(client, 'end')))
  const [first] = received as [SseEvent[]]
  t.equal(first.length, MESSAGES + 1, 'every message and the end marker, nothing else')
  t.ok(strictlyIncreasing(first), 'ids strictly increasing')
  t.same(first.slice(0, sequential).map(textOf), texts.slice(0, sequential), 'messages sent one after another arrive in that order')
  t.same(first.slice(0, MESSAGES).map(textOf).sort(), [...texts].sort(), 'each message exactly once')
  received.forEach((events, i) => {
    t.same(events, first, `client ${i + 1} (on ${i < CLIENTS_PER_PROCESS ? 'A' : 'B'}): the same events, ids and order`)
  })
  await new Promise(resolve => setTimeout(resolve, 200))
  t.ok(clients.every(client => client.events.length === MESSAGES + 1), 'and no extra event afterwards')

  const later = await openRoom(a, room)
  const shown = [...later.body.matchAll(/data-testid="chat-message-text">([^<]*)</g)].map(match => match[1])
  t.same(shown, first.slice(-50).map(textOf), 'a page rendered later shows the newest 50 from Redis, in the same order')
  t.equal(later.after, Number(first.at(-1)?.id), 'and streams from the newest id')
})

t.test('a client that reconnects to the other process gets exactly what it missed', async t => {
  const room = 'reconnect'
  const page = await openRoom(a, room)
  const watcher = await follow(t, b, room)
  const leaving = await follow(t, a, room)
  await send(a, room, page, 'm1')
  await send(b, room, page, 'm2')
  const before = await receivedUntil(leaving, 'm2')
  leaving.close()

  await send(a, room, page, 'm3')
  await send(b, room, page, 'm4')
  const back = await follow(t, b, room, '', { 'last-event-id': before.at(-1)?.id as string })
  await send(a, room, page, 'm5')
  const replayed = await receivedUntil(back, 'm5')
  t.same(replayed.map(textOf), ['m3', 'm4', 'm5'], 'the two it missed from the Redis log, then the live one')
  const all = await receivedUntil(watcher, 'm5')
  t.same(replayed, all.slice(2), 'with the ids and markup the connected client got')
  t.ok(strictlyIncreasing([...before, ...replayed]), 'ids keep increasing across processes and the reconnect')
})

t.test('a send without the CSRF token of its page, or without its cookie, is refused by either process and reaches no client', async t => {
  const room = 'forgery'
  const page = await openRoom(a, room)
  const other = await openRoom(b, room)
  const watchers = await Promise.all([follow(t, a, room), follow(t, b, room)])
  for (const server of [a, b]) {
    const name = `process ${server === a ? 'A' : 'B'}`
    const noToken = await post(server, room, page.pageId, 'no token', { cookie: page.csrf.cookie })
    t.equal(noToken.status, 403, `${name}: no token: 403`)
    t.match(noToken.body, REFUSED.csrfMissing, `${name}: FST_NEX_SECURITY_CSRF_MISSING, shown in the page`)
    t.equal(noToken.headers['hx-retarget'], '#flash', `${name}: in the flash box, not in place of the form`)
    const noCookie = await post(server, room, page.pageId, 'no cookie', { 'x-csrf-token': page.csrf['x-csrf-token'] })
    t.equal(noCookie.status, 403, `${name}: the token without its cookie: 403`)
    t.match(noCookie.body, REFUSED.csrfInvalid, `${name}: FST_NEX_SECURITY_CSRF_INVALID`)
    const mixed = await post(server, room, page.pageId, 'another browser', { cookie: other.csrf.cookie, 'x-csrf-token': page.csrf['x-csrf-token'] })
    t.equal(mixed.status, 403, `${name}: a token with another browser's cookie: 403`)
  }
  await send(b, room, page, 'with token')
  for (const [i, watcher] of watchers.entries()) {
    t.same((await receivedUntil(watcher, 'with token')).map(textOf), ['with token'], `client on ${i === 0 ? 'A' : 'B'}: only the send with the token arrived`)
  }
})
