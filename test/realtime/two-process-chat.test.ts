/**
 * The chat example as two processes (two ports) sharing one real Redis through `REDIS_URL`: the rooms'
 * topics live in Redis' event log (`redis.events`), so a message sent to either process reaches the
 * event streams of both, exactly once each, in one order (the log's ids) that every client sees alike;
 * a client that reconnects to the other process gets what it missed from Redis.
 */
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type RunningServer } from '../helpers/server-process.ts'
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

/** Renders the room on `server`: its page id and the id the stream replays after. */
async function openRoom (server: RunningServer, room: string): Promise<{ pageId: string, after: number, body: string }> {
  const page = await httpRequest(server.host, server.port, `/rooms/${room}`)
  if (page.status !== 200) throw new Error(`GET /rooms/${room} on :${server.port} answered ${page.status}`)
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  const after = /hx-sse:connect="\?\/stream&amp;after=(\d+)"/.exec(page.body)?.[1]
  if (pageId === undefined || after === undefined) throw new Error(`no page id or stream in: ${page.body.slice(0, 500)}`)
  return { pageId, after: Number(after), body: page.body }
}

/** Sends a message to `server` as the htmx form of page `pageId` does. */
async function send (server: RunningServer, room: string, pageId: string, text: string): Promise<void> {
  const answer = await httpRequest(server.host, server.port, `/rooms/${room}?/send`, {
    method: 'POST',
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ author: `via ${server.port}`, text }).toString()
  })
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
  // A page rendered by one process sends through both: the page id is signed with the shared secret.
  const pageOf = (i: number): string => i % 4 < 2 ? onA.pageId : onB.pageId
  // The first third one after another, then the rest ten at a time, alternating between the processes.
  const sequential = MESSAGES / 3
  for (let i = 0; i < sequential; i++) await send(serverOf(i), room, pageOf(i), texts[i] as string)
  for (let start = sequential; start < MESSAGES; start += 10) {
    await Promise.all(texts.slice(start, start + 10).map((text, j) => send(serverOf(start + j), room, pageOf(start + j), text)))
  }
  await send(b, room, onB.pageId, 'end')

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
  const { pageId } = await openRoom(a, room)
  const watcher = await follow(t, b, room)
  const leaving = await follow(t, a, room)
  await send(a, room, pageId, 'm1')
  await send(b, room, pageId, 'm2')
  const before = await receivedUntil(leaving, 'm2')
  leaving.close()

  await send(a, room, pageId, 'm3')
  await send(b, room, pageId, 'm4')
  const back = await follow(t, b, room, '', { 'last-event-id': before.at(-1)?.id as string })
  await send(a, room, pageId, 'm5')
  const replayed = await receivedUntil(back, 'm5')
  t.same(replayed.map(textOf), ['m3', 'm4', 'm5'], 'the two it missed from the Redis log, then the live one')
  const all = await receivedUntil(watcher, 'm5')
  t.same(replayed, all.slice(2), 'with the ids and markup the connected client got')
  t.ok(strictlyIncreasing([...before, ...replayed]), 'ids keep increasing across processes and the reconnect')
})
