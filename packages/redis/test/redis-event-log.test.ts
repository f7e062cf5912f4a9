import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { createMemoryPubSub } from '@nex/pubsub'
import { createEventInbox, testEventLog } from '../../testing/src/event-log-contract.js'
import { createRedisEventLog, createRedisPubSub } from '../src/index.js'
import { redisTestKit, ready, recordErrors } from './helpers.js'

const server = await startRedisServer()
t.teardown(() => server.stop())
// Each log on its own prefix, so logs never see each other's topics.
const { connect, freshPrefix } = redisTestKit(t, server.url)

const shared = await ready(connect())

const urlPrefix = freshPrefix()
// Shared: every log makes its own client from the url, so two logs on one backend are two processes.
await testEventLog(t, 'createRedisEventLog from a url (a client per log)',
  ({ backend, ...options }) => createRedisEventLog({ url: server.url, prefix: `${urlPrefix}${backend}:`, ...options }),
  { shared: true })
const clientPrefix = freshPrefix()
await testEventLog(t, 'createRedisEventLog with a user client',
  ({ backend, ...options }) => createRedisEventLog({ client: shared, prefix: `${clientPrefix}${backend}:`, ...options }))

t.test('keys: a counter and a list of "<id> <json>" trimmed to maxEvents, both with a TTL', async (t) => {
  const prefix = freshPrefix()
  const ttl = 60_000
  const log = createRedisEventLog({ client: shared, prefix, maxEvents: 10, ttl })
  t.teardown(() => log.close())
  const appended: number[] = []
  for (let i = 0; i < 25; i++) appended.push(await log.append('trim', { i }))
  await log.append('other', 'x')

  t.same((await shared.keys(`${prefix}*`)).sort(),
    [`${prefix}events:other`, `${prefix}events:other:seq`, `${prefix}events:trim`, `${prefix}events:trim:seq`], 'two keys per topic')
  t.equal(await shared.llen(`${prefix}events:trim`), 10, 'the list is trimmed to maxEvents')
  t.same(await shared.lrange(`${prefix}events:trim`, 0, -1), appended.slice(15).map((id, i) => `${id} {"i":${i + 15}}`), 'the newest 10, oldest first')
  t.equal(await shared.get(`${prefix}events:trim:seq`), String(appended.at(-1)), 'the counter holds the last id')
  for (const key of await shared.keys(`${prefix}*`)) {
    const pttl = await shared.pttl(key)
    t.ok(pttl > ttl - 5000 && pttl <= ttl, `${key} expires in ${pttl} ms`)
  }
})

t.test('append publishes {"id":…,"message":…} on the bus channel, built in Lua', async (t) => {
  const prefix = freshPrefix()
  const log = createRedisEventLog({ client: shared, prefix })
  t.teardown(() => log.close())
  const listener = await ready(connect())
  const raw: string[] = []
  listener.on('message', (_channel: string, text: string) => raw.push(text))
  await listener.subscribe(`${prefix}topic:wire`)
  const message = { text: 'héllo "quoted" \u2028', list: [1.5, null, true] }
  const id = await log.append('wire', message)
  while (raw.length < 1) await sleep(10)
  t.equal(raw[0], `{"id":${id},"message":${JSON.stringify(message)}}`)
  t.ok(id > 1e15 && Number.isSafeInteger(id), `the id ${id} is microseconds, a safe integer`)
})

t.test('ids never go backwards: after the keys expire, are deleted, or the counter alone is lost', async (t) => {
  const prefix = freshPrefix()
  const log = createRedisEventLog({ client: shared, prefix, ttl: 200 })
  t.teardown(() => log.close())
  const first = await log.append('t', 'a')
  const second = await log.append('t', 'b')
  await sleep(400)
  t.same(await shared.keys(`${prefix}*`), [], 'the keys expired after ttl')
  t.strictSame(await log.since('t', first - 1), { events: [], complete: false }, 'an expired topic: nothing, and it cannot be complete')
  const afterExpiry = await log.append('t', 'c')
  t.ok(afterExpiry > second, `after expiry: ${afterExpiry} > ${second}`)
  t.strictSame(await log.since('t', second), { events: [{ id: afterExpiry, message: 'c' }], complete: false },
    'from an id of the expired life: the new events, but maybe not all')
  t.strictSame(await log.since('t', afterExpiry - 1), { events: [{ id: afterExpiry, message: 'c' }], complete: true },
    'from the start of the new life: complete')

  await shared.del(`${prefix}events:t`, `${prefix}events:t:seq`)
  const afterDel = await log.append('t', 'd')
  t.ok(afterDel > afterExpiry, `after DEL: ${afterDel} > ${afterExpiry}`)

  // The counter lost but the list kept (e.g. evicted under maxmemory), with ids ahead of the clock.
  const ahead = Date.now() * 1000 + 1e12
  await shared.del(`${prefix}events:t:seq`)
  await shared.rpush(`${prefix}events:t`, `${ahead} "from the future"`)
  const afterAhead = await log.append('t', 'e')
  t.equal(afterAhead, ahead + 1, 'a counter started anew continues above the newest kept id when that is ahead of the clock')
  t.strictSame(await log.since('t', 0), { events: [{ id: afterAhead, message: 'e' }], complete: false },
    'the list of the old life is dropped: the log does not mix lives')
})

t.test('completeness when only the list is lost: complete from the counter on', async (t) => {
  const prefix = freshPrefix()
  const log = createRedisEventLog({ client: shared, prefix })
  t.teardown(() => log.close())
  const first = await log.append('t', 1)
  const last = await log.append('t', 2)
  await shared.del(`${prefix}events:t`)
  t.strictSame(await log.since('t', last), { events: [], complete: true }, 'from the last id: nothing is missing')
  t.strictSame(await log.since('t', first), { events: [], complete: false }, 'from before it: the lost event is missing')
  const next = await log.append('t', 3)
  t.equal(next, last + 1, 'the counter carries on')
  t.strictSame(await log.since('t', last), { events: [{ id: next, message: 3 }], complete: true })
  t.equal((await log.since('t', first)).complete, false)
})

t.test('a reply error fails only its call, not every call (not an outage)', async (t) => {
  const prefix = freshPrefix()
  const log = createRedisEventLog({ client: shared, prefix })
  t.teardown(() => log.close())
  await shared.set(`${prefix}events:broken:seq`, 'not a number')
  await t.rejects(log.append('broken', 1), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 })
  const id = await log.append('fine', 1)
  t.ok(id > 0, 'the next call goes through at once')
  t.equal(await shared.get(`${prefix}events:broken:seq`), 'not a number', 'the failed script wrote nothing')
})

t.test('plain messages on a topic\'s channel are not events: reported, never delivered', async (t) => {
  const prefix = freshPrefix()
  const { onError, errors } = recordErrors()
  const log = createRedisEventLog({ client: shared, prefix, onError })
  t.teardown(() => log.close())
  const plain = createRedisPubSub({ client: shared, prefix })
  t.teardown(() => plain.close())
  const inbox = createEventInbox()
  await log.subscribe('mixed', inbox.handler)
  await plain.publish('mixed', { id: 'x', message: 1 })
  await plain.publish('mixed', 'text')
  const id = await log.append('mixed', 'event')
  await inbox.waitFor(1)
  t.strictSame(inbox.events, [{ id, message: 'event' }], 'only the event arrived')
  t.equal(errors.length, 2)
  t.ok(errors.every(({ error, topic }) => (error as { code?: string }).code === 'FST_NEX_PUBSUB_MALFORMED_MESSAGE' && topic === 'mixed'))
})

t.test('close(): a user client and a given bus stay open; the log\'s subscriptions on that bus end', async (t) => {
  const prefix = freshPrefix()
  const bus = createRedisPubSub({ client: shared, prefix })
  t.teardown(() => bus.close())
  const log = createRedisEventLog({ client: shared, prefix, pubsub: bus })
  const inbox = createEventInbox()
  await log.subscribe('a', inbox.handler)
  await log.subscribe('b', () => {})
  const id = await log.append('a', 1)
  await inbox.waitFor(1)
  t.strictSame(inbox.events, [{ id, message: 1 }], 'events travel on the given bus')
  t.same((await shared.pubsub('CHANNELS', `${prefix}*`) as string[]).sort(), [`${prefix}topic:a`, `${prefix}topic:b`])
  await log.close()
  t.same(await shared.pubsub('CHANNELS', `${prefix}*`), [], 'the log unsubscribed what it subscribed')
  t.equal(shared.status, 'ready', 'the user client is open')
  await t.resolves(bus.publish('a', 'bus still open'))
  await t.rejects(log.append('a', 2), { code: 'FST_NEX_PUBSUB_CLOSED' })

  const owned = createRedisEventLog({ url: server.url, prefix, clientOptions: { connectionName: 'owned-log' } })
  await owned.subscribe('a', () => {})
  await owned.append('a', 1)
  await owned.close()
  await retryUntil(5000, async () => {
    const list = await shared.client('LIST') as string
    if (list.includes(' name=owned-log ')) throw new Error('still connected')
  })
  t.pass('a log from a url closes its client and its bus\'s subscriber connection')
})

t.test('options are checked (FST_NEX_PUBSUB_INVALID_OPTION)', async (t) => {
  const invalid = { code: 'FST_NEX_PUBSUB_INVALID_OPTION' }
  t.throws(() => createRedisEventLog({}), invalid, 'neither client nor url')
  t.throws(() => createRedisEventLog({ client: shared, url: server.url }), invalid, 'both')
  t.throws(() => createRedisEventLog({ url: 42 as never }), invalid)
  t.throws(() => createRedisEventLog({ client: shared, prefix: 1 as never }), invalid)
  for (const name of ['maxEvents', 'ttl', 'timeout', 'probeInterval']) {
    for (const value of [0, -1, 1.5, '10']) {
      t.throws(() => createRedisEventLog({ client: shared, [name]: value }), { ...invalid, message: new RegExp(`"${name}"`) }, `${name}: ${String(value)}`)
    }
  }
  t.throws(() => createRedisEventLog({ client: shared, pubsub: {} as never }), { ...invalid, message: /"pubsub"/ })
  t.throws(() => createRedisEventLog({ client: shared, onError: 'log' as never }), { ...invalid, message: /"onError"/ })
  const log = createRedisEventLog({ client: shared, pubsub: createMemoryPubSub(), maxEvents: 1, ttl: 1 })
  await log.close()
  t.pass('any PubSub is accepted')
})

t.test('a killed redis-server: 503 FST_NEX_PUBSUB_UNAVAILABLE at once, then recovery after a restart', async (t) => {
  const down = await startRedisServer()
  t.teardown(() => down.stop())
  const client = await ready(connect({ commandTimeout: 300, retryStrategy: () => 100 }, down.url))
  const log = createRedisEventLog({ client, prefix: freshPrefix(), probeInterval: 50 })
  t.teardown(() => log.close())
  const inbox = createEventInbox()
  await log.subscribe('live', inbox.handler)
  const before = await log.append('live', 'before')
  await inbox.waitFor(1)

  await down.crash()
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['append', () => log.append('live', 'lost')],
    ['since', () => log.since('live', before)],
    ['append again', () => log.append('live', 'lost')],
    ['subscribe', () => log.subscribe('other', () => {})]
  ]
  for (const [label, call] of calls) {
    const started = Date.now()
    await t.rejects(call(), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 }, `${label} rejects`)
    const elapsed = Date.now() - started
    t.ok(elapsed < 1000, `${label} rejected after ${elapsed} ms`)
  }

  await down.restart()
  const after = await retryUntil(10_000, () => log.append('live', 'probe'))
  t.ok(after > before, `ids go on growing after a restart that lost every key (${after} > ${before})`)
  t.strictSame(await log.since('live', after - 1), { events: [{ id: after, message: 'probe' }], complete: true }, 'since works again')
  // The bus resubscribes after the reconnect; events appended before that are not delivered (at most once).
  await retryUntil(10_000, async () => {
    await log.append('live', 'after')
    while (!inbox.events.some((event) => event.message === 'after')) await inbox.waitFor(inbox.events.length + 1, 200)
  })
  t.ok(inbox.events.every((event, i) => i === 0 || event.id > (inbox.events[i - 1] as { id: number }).id), 'live delivery resumed, in id order')
})

t.test('a paused (SIGSTOP) redis-server: 503 within commandTimeout, then calls fail at once until it answers', async (t) => {
  const stalled = await startRedisServer()
  t.teardown(() => stalled.stop())
  const commandTimeout = 300
  const client = await ready(connect({ commandTimeout }, stalled.url))
  const log = createRedisEventLog({ client, prefix: freshPrefix(), probeInterval: 50 })
  t.teardown(() => log.close())
  const before = await log.append('t', 1)

  stalled.pause()
  let resumed = false
  const resume = (): void => {
    if (!resumed) stalled.resume()
    resumed = true
  }
  t.teardown(resume)
  const started = Date.now()
  await t.rejects(log.append('t', 2), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 })
  const elapsed = Date.now() - started
  t.ok(elapsed < commandTimeout + 400, `append rejected after ${elapsed} ms`)
  const quick = Date.now()
  await t.rejects(log.since('t', 0), { code: 'FST_NEX_PUBSUB_UNAVAILABLE' })
  t.ok(Date.now() - quick < 50, 'while Redis is known to be down, calls fail at once')
  resume()
  const after = await retryUntil(5000, () => log.append('t', 3))
  t.ok(after > before, 'works again after the stall')
})

// Last: it restarts the shared server.
t.test('ids stay monotonic after a redis-server restart without persistence', async (t) => {
  const prefix = freshPrefix()
  const log = createRedisEventLog({ client: shared, prefix })
  t.teardown(() => log.close())
  const before: number[] = []
  for (let i = 0; i < 10; i++) before.push(await log.append('t', i))
  await server.restart()
  const first = await retryUntil(10_000, () => log.append('t', 'after'), (err) => {
    t.match(err, { code: 'FST_NEX_PUBSUB_UNAVAILABLE' }, 'unavailable while reconnecting')
  })
  t.ok(first > (before.at(-1) as number), `${first} > ${before.at(-1)}`)
  t.strictSame(await log.since('t', before.at(-1) as number), { events: [{ id: first, message: 'after' }], complete: false },
    'a replay across the restart says events may be missing')
})

/** Calls `fn` every 50 ms until it resolves; rethrows its last error after `ms`. `onError` sees each failure. */
async function retryUntil<T> (ms: number, fn: () => Promise<T>, onError: (err: unknown) => void = () => {}): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      onError(err)
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
