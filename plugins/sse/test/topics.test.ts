// Topics: `app.nexSse.publish` reaches every stream following a topic exactly once and in order, ids on
// the replayed topic only, replay after a reconnect (raw client and the `eventsource` client's own
// reconnect) with no duplicates and no gaps, the `after` option, incomplete replays, one log subscription
// per topic, and the refusals.
import t, { type Test } from 'tap'
import { EventSource } from 'eventsource'
import type { FastifyInstance } from 'fastify'
import { html } from '@nex/html'
import { createMemoryEventLog, type EventLog } from '@nex/pubsub'
import type { SseStream, TopicSubscription } from '../src/index.js'
import { collectLogs, dataEvents, eventually, open, serve, sleep, type RawStream, type ServeOptions } from './helpers.js'

interface Feed {
  /** Subscriptions made by `/feed/:topic`, newest last. */
  subscriptions: TopicSubscription[]
  streams: SseStream[]
}

/**
 * `/feed/:topic` follows a topic: `?replay=1` with replay, `?after=<id>` for a first connection, and
 * `?also=<topic>` to follow a second topic without replay.
 */
function feedRoutes (feed: Feed): NonNullable<ServeOptions['routes']> {
  return (app: FastifyInstance) => {
    app.get('/feed/:topic', (request, reply) => reply.sse(async (stream) => {
      const { topic } = request.params as { topic: string }
      const query = request.query as { replay?: string, after?: string, also?: string }
      feed.streams.push(stream)
      const after = query.after === undefined ? undefined : Number(query.after)
      feed.subscriptions.push(await stream.subscribe(topic, { replay: query.replay === '1', after }))
      if (query.also !== undefined) await stream.subscribe(query.also)
    }))
  }
}

async function serveFeed (t: Test, topics?: EventLog): Promise<{ app: FastifyInstance, base: string, feed: Feed }> {
  const feed: Feed = { subscriptions: [], streams: [] }
  const { app, base } = await serve(t, topics === undefined ? {} : { topics }, { routes: feedRoutes(feed) })
  return { app, base, feed }
}

const datas = (client: RawStream): string[] => dataEvents(client.text).map(event => event.data as string)

t.test('publish reaches every stream following the topic exactly once, in order', async (t) => {
  const { app, base } = await serveFeed(t)
  const clients = await Promise.all([open(base, '/feed/news'), open(base, '/feed/news'), open(base, '/feed/news')])
  const other = await open(base, '/feed/other')
  t.teardown(() => { for (const client of [...clients, other]) client.close() })
  const sent = Array.from({ length: 200 }, (_, i) => `event ${i}`)
  // Not awaited one by one: ids and order come from the call order.
  const ids = await Promise.all(sent.map(data => app.nexSse.publish('news', data)))
  t.same(ids, [...ids].sort((a, b) => a - b), 'ids grow in publish order')
  t.equal(new Set(ids).size, ids.length)
  await app.nexSse.publish('other', 'for the other topic')
  for (const client of clients) {
    await client.until(() => datas(client).length >= sent.length)
    await sleep(20)
    t.same(datas(client), sent, 'every event, once, in order')
    t.notOk(/\nid:|^id:/.test(client.text), 'no ids on a topic followed without replay')
  }
  await other.until(/for the other topic/)
  t.same(datas(other), ['for the other topic'], 'a stream gets only its topics')
})

t.test('framing of published events: unnamed messages, named events, markup, JSON; refusals', async (t) => {
  const { app, base } = await serveFeed(t)
  const client = await open(base, '/feed/t')
  t.teardown(() => client.close())
  await app.nexSse.publish('t', 'plain text')
  await app.nexSse.publish('t', { event: 'update', data: { n: 1 } })
  await app.nexSse.publish('t', html`<p>${'<b>'}</p>`)
  await app.nexSse.publish('t', { data: 'two\nlines' })
  await app.nexSse.publish('t', { event: 'ping' })
  await app.nexSse.publish('t', { data: html`<li>x</li>`, event: 'item' })
  await app.nexSse.publish('t', { data: [1, 'a', null] })
  await client.until(/event: item\ndata: <li>x<\/li>\n\ndata: \[1,"a",null\]\n\n$/)
  t.equal(client.text, [
    'data: plain text\n\n',
    'event: update\ndata: {"n":1}\n\n',
    'data: <p>&lt;b&gt;</p>\n\n',
    'data: two\ndata: lines\n\n',
    'event: ping\ndata: \n\n',
    'event: item\ndata: <li>x</li>\n\n',
    'data: [1,"a",null]\n\n'
  ].join(''))

  await t.rejects(app.nexSse.publish('t', { event: 'bad\nname', data: 'x' }), { code: 'FST_NEX_SSE_INVALID_FIELD' }, 'a name that would break the framing')
  await t.rejects(app.nexSse.publish('t', { event: 'nul\0', data: 'x' }), { code: 'FST_NEX_SSE_INVALID_FIELD' })
  await t.rejects(app.nexSse.publish('t', { data: 10n } as never), { code: 'FST_NEX_PUBSUB_NOT_JSON' }, 'data that is not JSON')
  await t.rejects(app.nexSse.publish('t', 42 as never), { code: 'FST_NEX_SSE_INVALID_DATA' })
  await t.rejects(app.nexSse.publish('t', null as never), { code: 'FST_NEX_SSE_INVALID_DATA' })
  await app.nexSse.publish('t', 'after the refusals')
  await client.until(/after the refusals/)
  t.notOk(client.text.includes('bad'), 'nothing refused reached the stream')
})

t.test('ids only on the replayed topic', async (t) => {
  const { app, base } = await serveFeed(t)
  const client = await open(base, '/feed/main?replay=1&also=side')
  t.teardown(() => client.close())
  const mainId = await app.nexSse.publish('main', 'on main')
  await app.nexSse.publish('side', 'on side')
  await client.until(/on side/)
  t.same(dataEvents(client.text), [{ id: String(mainId), data: 'on main' }, { data: 'on side' }])
})

t.test('replay after a reconnect: exactly the missed events, then live ones, no duplicates, no gaps', async (t) => {
  const { app, base, feed } = await serveFeed(t)
  const first = await open(base, '/feed/room?replay=1')
  t.equal(feed.subscriptions[0]?.replayed, 0, 'a first connection replays nothing')
  const ids: number[] = []
  for (let i = 1; i <= 5; i++) ids.push(await app.nexSse.publish('room', `m${i}`))
  await first.until(/m5/)
  first.close()
  await eventually(() => app.nexSse.streams === 0)
  for (let i = 6; i <= 10; i++) ids.push(await app.nexSse.publish('room', `m${i}`))
  const lastSeen = dataEvents(first.text).at(-1)?.id as string
  t.equal(lastSeen, String(ids[4]), 'the client saw the id of m5')

  const second = await open(base, '/feed/room?replay=1', { 'last-event-id': lastSeen })
  t.teardown(() => second.close())
  for (let i = 11; i <= 15; i++) ids.push(await app.nexSse.publish('room', `m${i}`))
  await second.until(/m15/)
  t.same(dataEvents(second.text), ids.slice(5).map((id, i) => ({ id: String(id), data: `m${i + 6}` })), 'm6…m15 with their ids')
  t.match(feed.subscriptions[1], { topic: 'room', replayed: 5, complete: true })
})

// Live events that arrive while the replay is read are held and sent after it, skipping the ones the
// replay already had: a log answering `since` late (with or without the newest events) opens that window.
const slowSince: Array<[string, (log: EventLog) => EventLog['since']]> = [
  ['an in-process log', (log) => log.since],
  ['a log that reads late', (log) => async (topic, after) => {
    await sleep(20)
    return await log.since(topic, after)
  }],
  ['a log that answers late with what it read early', (log) => async (topic, after) => {
    const found = await log.since(topic, after)
    await sleep(20)
    return found
  }]
]
for (const [name, since] of slowSince) {
  t.test(`replay while events keep coming (${name}): both connections together got every event once, in order`, async (t) => {
    const log = createMemoryEventLog({ maxEvents: 1000 })
    t.teardown(async () => await log.close())
    const { app, base } = await serveFeed(t, { append: log.append, subscribe: log.subscribe, close: log.close, since: since(log) })
    const state = { publishing: true }
    const published: string[] = []
    const publisher = (async () => {
      for (let i = 0; state.publishing; i++) {
        published.push(`n${i}`)
        await app.nexSse.publish('busy', `n${i}`)
        if (i % 5 === 0) await sleep(1)
      }
    })()
    const first = await open(base, '/feed/busy?replay=1&after=0')
    await first.until(() => datas(first).length >= 100)
    first.close()
    await sleep(5)
    const lastSeen = dataEvents(first.text).at(-1)?.id as string
    const second = await open(base, '/feed/busy?replay=1', { 'last-event-id': lastSeen })
    t.teardown(() => second.close())
    await second.until(() => datas(second).length >= 100)
    state.publishing = false
    await publisher
    const last = published.at(-1) as string
    await second.until(text => text.includes(`data: ${last}\n`))
    const seen = [...dataEvents(first.text), ...dataEvents(second.text)]
    const seenIds = seen.map(event => Number(event.id))
    t.same(seenIds, [...new Set(seenIds)].sort((a, b) => a - b), 'ids strictly increase across the reconnect')
    t.same(seen.map(event => event.data), published, 'nothing missed, nothing twice')
  })
}

t.test('the eventsource client reconnects with Last-Event-ID and misses nothing', async (t) => {
  const { app, base, feed } = await serveFeed(t)
  const source = new EventSource(`${base}/feed/auto?replay=1`)
  t.teardown(() => source.close())
  const received: Array<{ data: string, id: string }> = []
  source.addEventListener('message', (event) => { received.push({ data: event.data, id: event.lastEventId }) })
  let opens = 0
  source.addEventListener('open', () => { opens++ })
  await eventually(() => feed.streams.length === 1 && feed.subscriptions.length === 1)
  feed.streams[0]?.send({ retry: 50 })
  const ids: number[] = []
  for (let i = 1; i <= 3; i++) ids.push(await app.nexSse.publish('auto', `e${i}`))
  t.ok(await eventually(() => received.length === 3))
  // The server ends the stream (a deploy, a proxy timeout): the client comes back by itself.
  feed.streams[0]?.close()
  for (let i = 4; i <= 6; i++) ids.push(await app.nexSse.publish('auto', `e${i}`))
  t.ok(await eventually(() => feed.subscriptions.length === 2), 'the client reconnected')
  for (let i = 7; i <= 9; i++) ids.push(await app.nexSse.publish('auto', `e${i}`))
  t.ok(await eventually(() => received.length >= 9))
  await sleep(50)
  t.same(received, ids.map((id, i) => ({ data: `e${i + 1}`, id: String(id) })), 'e1…e9, once each, with their ids')
  t.equal(opens, 2)
  t.match(feed.subscriptions[1], { replayed: 3, complete: true })
  t.equal(feed.streams[1]?.lastEventId, ids[2], 'it sent the id of e3')
})

t.test('`after` replays on a first connection; Last-Event-ID wins over it; bad values replay nothing', async (t) => {
  const { app, base, feed } = await serveFeed(t)
  const ids: number[] = []
  for (let i = 1; i <= 4; i++) ids.push(await app.nexSse.publish('page', `p${i}`))
  // The page was rendered with p2 as the newest event.
  const first = await open(base, `/feed/page?replay=1&after=${ids[1] as number}`)
  t.teardown(() => first.close())
  await first.until(/p4/)
  t.same(datas(first), ['p3', 'p4'])
  const both = await open(base, `/feed/page?replay=1&after=${ids[0] as number}`, { 'last-event-id': String(ids[2]) })
  t.teardown(() => both.close())
  await both.until(/p4/)
  t.same(datas(both), ['p4'], 'the browser\'s position is newer than the render')
  for (const after of ['-1', '1.5', 'NaN']) {
    const client = await open(base, `/feed/page?replay=1&after=${after}`)
    t.teardown(() => client.close())
    await app.nexSse.publish('page', `live after ${after}`)
    await client.until(new RegExp(`live after ${after.replace('.', '\\.')}`))
    t.same(datas(client), [`live after ${after}`], `after=${after} replays nothing`)
  }
  const noReplay = await open(base, `/feed/page?after=${ids[0] as number}`)
  t.teardown(() => noReplay.close())
  await app.nexSse.publish('page', 'x')
  await noReplay.until(/data: x/)
  t.same(dataEvents(noReplay.text), [{ data: 'x' }], '`after` without `replay` is ignored')
  t.equal(feed.subscriptions.filter(s => s.replayed > 0).length, 2)
})

t.test('a replay of more than the buffer holds says it is incomplete', async (t) => {
  const topics = createMemoryEventLog({ maxEvents: 5 })
  t.teardown(async () => await topics.close())
  const { app, base, feed } = await serveFeed(t, topics)
  const ids: number[] = []
  for (let i = 1; i <= 10; i++) ids.push(await app.nexSse.publish('long', `l${i}`))
  const client = await open(base, '/feed/long?replay=1', { 'last-event-id': String(ids[0]) })
  t.teardown(() => client.close())
  await client.until(/l10/)
  t.same(datas(client), ['l6', 'l7', 'l8', 'l9', 'l10'], 'what the buffer still holds')
  t.match(feed.subscriptions[0], { replayed: 5, complete: false })
  const recent = await open(base, '/feed/long?replay=1', { 'last-event-id': String(ids[6]) })
  t.teardown(() => recent.close())
  await recent.until(/l10/)
  t.match(feed.subscriptions[1], { replayed: 3, complete: true })
})

t.test('streams on one topic share one log subscription, dropped with the last of them', async (t) => {
  const log = createMemoryEventLog()
  t.teardown(async () => await log.close())
  let subscribes = 0
  let unsubscribes = 0
  const counting: EventLog = {
    append: log.append,
    since: log.since,
    close: log.close,
    subscribe: async (topic, handler) => {
      subscribes++
      const unsubscribe = await log.subscribe(topic, handler)
      return async () => {
        unsubscribes++
        await unsubscribe()
      }
    }
  }
  const { app, base } = await serveFeed(t, counting)
  const a = await open(base, '/feed/shared')
  const b = await open(base, '/feed/shared?replay=1')
  const c = await open(base, '/feed/shared')
  t.equal(subscribes, 1, 'three streams, one subscription')
  await app.nexSse.publish('shared', 'to all')
  for (const client of [a, b, c]) await client.until(/to all/)
  a.close()
  b.close()
  t.ok(await eventually(() => app.nexSse.streams === 1))
  t.equal(unsubscribes, 0, 'kept while a stream follows the topic')
  c.close()
  t.ok(await eventually(() => unsubscribes === 1), 'the last one out unsubscribes')
  const d = await open(base, '/feed/shared')
  t.teardown(() => d.close())
  t.equal(subscribes, 2, 'a new stream subscribes again')
  await app.nexSse.publish('shared', 'again')
  await d.until(/again/)
})

t.test('one replayed topic per stream: FST_NEX_SSE_REPLAY_TWICE', async (t) => {
  const logs = collectLogs()
  const { base } = await serve(t, {}, {
    logs,
    routes: (app) => {
      app.get('/caught', (_request, reply) => reply.sse(async (stream) => {
        await stream.subscribe('one', { replay: true })
        try {
          await stream.subscribe('two', { replay: true })
        } catch (error) {
          stream.send({ event: 'refused', data: { code: (error as { code: string }).code, message: (error as Error).message } })
        }
        await stream.subscribe('two')
        stream.send({ event: 'still', data: 'open' })
        stream.close()
      }))
      app.get('/uncaught', (_request, reply) => reply.sse(async (stream) => {
        await stream.subscribe('one', { replay: true })
        await stream.subscribe('one', { replay: true })
      }))
    }
  })
  const caught = await open(base, '/caught')
  t.equal(await caught.ended, true)
  const refused = dataEvents(caught.text)[0]
  t.equal(refused?.event, 'refused')
  t.match(JSON.parse(refused?.data as string), { code: 'FST_NEX_SSE_REPLAY_TWICE', message: /replay one topic \("one"\); "two" was also subscribed with replay/ })
  t.equal(dataEvents(caught.text)[1]?.event, 'still', 'the stream carries on')
  const uncaught = await open(base, '/uncaught')
  t.equal(uncaught.status, 200, 'the first subscription had sent the headers')
  t.equal(await uncaught.ended, true, 'the stream ends')
  t.ok(logs.lines.some(line => (line.err as { code?: string } | undefined)?.code === 'FST_NEX_SSE_REPLAY_TWICE'), 'and the error is logged')
})

t.test('log failures: subscribe failing answers with its error; replay failing keeps live events', async (t) => {
  const log = createMemoryEventLog()
  t.teardown(async () => await log.close())
  let failSubscribe = true
  const flaky: EventLog = {
    append: log.append,
    close: log.close,
    since: async () => { throw Object.assign(new Error('redis down'), { statusCode: 503 }) },
    subscribe: async (topic, handler) => {
      if (failSubscribe) throw Object.assign(new Error('redis down'), { statusCode: 503, code: 'FST_TEST_DOWN' })
      return await log.subscribe(topic, handler)
    }
  }
  const logs = collectLogs()
  const feed: Feed = { subscriptions: [], streams: [] }
  const { app, base } = await serve(t, { topics: flaky }, { logs, routes: feedRoutes(feed) })
  const refused = await fetch(`${base}/feed/x`)
  t.equal(refused.status, 503, 'the log\'s error status')
  t.match(await refused.json(), { code: 'FST_TEST_DOWN' })
  t.equal(app.nexSse.streams, 0)

  failSubscribe = false
  const client = await open(base, '/feed/x?replay=1', { 'last-event-id': '1' })
  t.teardown(() => client.close())
  t.equal(client.status, 200, 'the hub retried the subscription')
  t.match(feed.subscriptions[0], { replayed: 0, complete: false }, 'the replay is reported incomplete')
  t.ok(logs.lines.some(line => line.msg === '@nex/sse: replay failed; continuing with live events' && line.level === 40))
  await app.nexSse.publish('x', 'live')
  await client.until(/live/)
  t.same(datas(client), ['live'])
})

t.test('an event nobody can frame (published around the plugin) is logged and skipped', async (t) => {
  const logs = collectLogs()
  const feed: Feed = { subscriptions: [], streams: [] }
  const { app, base } = await serve(t, {}, { logs, routes: feedRoutes(feed) })
  const client = await open(base, '/feed/raw')
  t.teardown(() => client.close())
  await app.nexTopics.append('raw', { event: 'forged\ndata: x', data: 'y' })
  await app.nexSse.publish('raw', 'next')
  await client.until(/next/)
  t.equal(client.text, 'data: next\n\n')
  t.ok(logs.lines.some(line => line.msg === '@nex/sse: topic delivery failed' && line.topic === 'raw'))
})
