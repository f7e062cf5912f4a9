import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { createInbox, testPubSub } from '../../testing/src/pubsub-contract.js'
import { createRedisPubSub } from '../src/index.js'
import { redisTestKit, ready, recordErrors } from './helpers.js'

const server = await startRedisServer()
t.teardown(() => server.stop())
// Each bus on its own prefix, so buses never see each other's channels.
const { connect, freshPrefix } = redisTestKit(t, server.url)

const shared = await ready(connect())

/** Channels of `prefix` the server has subscribers for. */
async function channels (prefix: string): Promise<string[]> {
  return (await shared.pubsub('CHANNELS', `${prefix}*`) as string[]).sort()
}

/** Connections the server lists under `name` (a duplicate inherits its client's connectionName). */
async function clientsNamed (name: string): Promise<number> {
  const list = await shared.client('LIST') as string
  return list.split('\n').filter((line) => line.includes(` name=${name} `)).length
}

await testPubSub(t, 'createRedisPubSub with a user client', (options) => createRedisPubSub({ client: shared, prefix: freshPrefix(), ...options }))
await testPubSub(t, 'createRedisPubSub from a url', (options) => createRedisPubSub({ url: server.url, prefix: freshPrefix(), ...options }))

t.test('two buses with their own clients (two processes) see each other\'s messages, in order', async (t) => {
  const prefix = freshPrefix()
  const a = createRedisPubSub({ client: await ready(connect()), prefix })
  const b = createRedisPubSub({ url: server.url, prefix })
  const other = createRedisPubSub({ client: shared, prefix: freshPrefix() })
  t.teardown(() => Promise.all([a.close(), b.close(), other.close()]))
  const inA = createInbox('a')
  const inB = createInbox('b')
  const inOther = createInbox('other prefix')
  await a.subscribe('chat', inA.handler)
  await b.subscribe('chat', inB.handler)
  await other.subscribe('chat', inOther.handler)

  await a.publish('chat', 'from a')
  await Promise.all([inA.waitFor(1), inB.waitFor(1)])
  await b.publish('chat', 'from b')
  await Promise.all([inA.waitFor(2), inB.waitFor(2)])
  t.same(inA.messages, ['from a', 'from b'])
  t.same(inB.messages, ['from a', 'from b'])

  await Promise.all(Array.from({ length: 500 }, (_, i) => a.publish('chat', i)))
  await inB.waitFor(502)
  t.strictSame(inB.messages.slice(2), Array.from({ length: 500 }, (_, i) => i), 'another process gets one publisher\'s messages in order')

  await other.publish('chat', 'sentinel')
  await inOther.waitFor(1)
  t.same(inOther.messages, ['sentinel'], 'a bus with another prefix saw none of them')
})

t.test('the subscriber connection follows the handlers: one SUBSCRIBE per topic, UNSUBSCRIBE when the last leaves', async (t) => {
  const prefix = freshPrefix()
  const bus = createRedisPubSub({ client: shared, prefix })
  t.teardown(() => bus.close())
  const a1 = await bus.subscribe('a', () => {})
  const a2 = await bus.subscribe('a', () => {})
  const b = await bus.subscribe('b', () => {})
  t.same(await channels(prefix), [`${prefix}topic:a`, `${prefix}topic:b`], 'one channel per topic, named <prefix>topic:<topic>')
  t.same(await shared.pubsub('NUMSUB', `${prefix}topic:a`), [`${prefix}topic:a`, 1], 'two handlers, one subscription')

  await a1()
  t.same(await channels(prefix), [`${prefix}topic:a`, `${prefix}topic:b`], 'a still has a handler')
  await a2()
  await a2()
  t.same(await channels(prefix), [`${prefix}topic:b`], 'a unsubscribed once its last handler left')
  await b()
  t.same(await channels(prefix), [], 'nothing left')

  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => bus.subscribe(`t${i}`, () => {})))
  t.equal((await channels(prefix)).length, 200)
  await Promise.all(many.map((unsubscribe) => unsubscribe()))
  t.same(await channels(prefix), [], '200 topics subscribed and left: no channel left')

  // Subscribe and unsubscribe racing on one topic end as the handlers say.
  const racing = await Promise.all(Array.from({ length: 20 }, () => bus.subscribe('race', () => {})))
  await Promise.all([...racing.map((unsubscribe) => unsubscribe()), bus.subscribe('race', () => {})])
  t.same(await channels(prefix), [`${prefix}topic:race`], 'the one remaining handler keeps its channel')
})

t.test('close() leaves a user client open and closes every connection the bus created', async (t) => {
  const client = await ready(connect({ connectionName: 'user-client' }))
  const fromClient = createRedisPubSub({ client, prefix: freshPrefix() })
  await fromClient.subscribe('t', () => {})
  await fromClient.publish('t', 1)
  t.equal(await clientsNamed('user-client'), 2, 'the user client and the bus\'s subscriber connection')
  await fromClient.close()
  t.equal(client.status, 'ready', 'the user client is still open')
  t.equal(await client.ping(), 'PONG')
  await retryUntil(5000, async () => {
    const count = await clientsNamed('user-client')
    if (count !== 1) throw new Error(`${count} connections`)
  })
  t.pass('only the user client is left')

  const fromUrl = createRedisPubSub({ url: server.url, clientOptions: { connectionName: 'url-bus' }, prefix: freshPrefix() })
  await fromUrl.subscribe('t', () => {})
  await fromUrl.publish('t', 1)
  t.equal(await clientsNamed('url-bus'), 2, 'the bus\'s publisher and subscriber connections')
  await fromUrl.close()
  await retryUntil(5000, async () => {
    const count = await clientsNamed('url-bus')
    if (count !== 0) throw new Error(`${count} connections`)
  })
  t.pass('both connections of the url bus are closed')
  await t.rejects(fromUrl.publish('t', 1), { code: 'FST_NEX_PUBSUB_CLOSED' })
})

t.test('messages on a channel that are not JSON are dropped and reported, never thrown', async (t) => {
  const prefix = freshPrefix()
  const { onError, errors } = recordErrors()
  const bus = createRedisPubSub({ client: shared, prefix, onError })
  t.teardown(() => bus.close())
  const inbox = createInbox()
  await bus.subscribe('t', inbox.handler)
  await shared.publish(`${prefix}topic:t`, 'not json {')
  await shared.publish(`${prefix}topic:t`, '')
  await bus.publish('t', 'ok')
  await inbox.waitFor(1)
  t.same(inbox.messages, ['ok'], 'only the JSON message reached the handler')
  t.equal(errors.length, 2)
  for (const { error, topic } of errors) {
    t.match(error, { code: 'FST_NEX_PUBSUB_MALFORMED_MESSAGE' })
    t.equal(topic, 't')
  }
})

t.test('options are checked', async (t) => {
  const invalid = { code: 'FST_NEX_PUBSUB_INVALID_OPTION' }
  t.throws(() => createRedisPubSub({}), invalid)
  t.throws(() => createRedisPubSub({ client: shared, url: server.url }), invalid)
  t.throws(() => createRedisPubSub({ client: shared, prefix: 1 as never }), invalid)
  t.throws(() => createRedisPubSub({ client: shared, onError: 'log' as never }), invalid)
})

t.test('with the server stopped, publish and subscribe fail fast with FST_NEX_PUBSUB_UNAVAILABLE and close() does not hang', async (t) => {
  const down = await startRedisServer()
  t.teardown(() => down.stop())
  const commandTimeout = 300
  const margin = 400
  const client = await ready(connect({ commandTimeout }, down.url))
  const bus = createRedisPubSub({ client, prefix: freshPrefix() })
  await bus.subscribe('t', () => {})
  await down.stop()

  const calls: Array<[string, () => Promise<unknown>]> = [
    ['publish', () => bus.publish('t', 1)],
    ['subscribe', () => bus.subscribe('other', () => {})]
  ]
  for (const [label, call] of calls) {
    const started = Date.now()
    await t.rejects(call(), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 }, `${label} rejects`)
    const elapsed = Date.now() - started
    t.ok(elapsed < commandTimeout + margin, `${label} rejected after ${elapsed} ms`)
  }
  const started = Date.now()
  await bus.close()
  t.ok(Date.now() - started < 1500, `close() took ${Date.now() - started} ms`)

  // A bus created while Redis is down waits for the first connection, bounded by connectTimeout + 0.5 s.
  const connectTimeout = 300
  const late = createRedisPubSub({ url: down.url, clientOptions: { connectTimeout }, prefix: freshPrefix() })
  t.teardown(() => late.close())
  const lateStart = Date.now()
  await t.rejects(late.publish('t', 1), { code: 'FST_NEX_PUBSUB_UNAVAILABLE' })
  const lateElapsed = Date.now() - lateStart
  t.ok(lateElapsed < connectTimeout + 500 + margin, `a never-connected bus rejected after ${lateElapsed} ms`)
})

// Last two: they stall and restart the shared server.
t.test('a paused (SIGSTOP) server: FST_NEX_PUBSUB_UNAVAILABLE within commandTimeout, deliveries resume after', async (t) => {
  const commandTimeout = 300
  const margin = 400
  const prefix = freshPrefix()
  const client = await ready(connect({ commandTimeout }))
  const bus = createRedisPubSub({ client, prefix })
  t.teardown(() => bus.close())
  const inbox = createInbox('live')
  await bus.subscribe('live', inbox.handler)

  server.pause()
  let resumed = false
  const resume = (): void => {
    if (!resumed) server.resume()
    resumed = true
  }
  t.teardown(resume)
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['publish', () => bus.publish('live', 'lost')],
    ['subscribe', () => bus.subscribe('stalled', () => {})]
  ]
  for (const [label, call] of calls) {
    const started = Date.now()
    await t.rejects(call(), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 }, `${label} rejects`)
    const elapsed = Date.now() - started
    t.ok(elapsed < commandTimeout + margin, `${label} rejected after ${elapsed} ms`)
  }
  resume()

  await retryUntil(5000, () => bus.publish('live', 'after'))
  while (!inbox.messages.includes('after')) await inbox.waitFor(inbox.messages.length + 1)
  t.pass('the subscription survived the stall')
  // A publish that timed out was not acknowledged, but the stalled server may still run it once resumed.
  t.ok(inbox.messages.every((m) => m === 'lost' || m === 'after'), `got ${JSON.stringify(inbox.messages)}`)
  // The timed-out SUBSCRIBE of "stalled" reached the server after the resume: the bus must drop it again.
  await retryUntil(5000, async () => {
    const names = await channels(prefix)
    if (names.includes(`${prefix}topic:stalled`)) throw new Error('still subscribed')
  })
  t.same(await channels(prefix), [`${prefix}topic:live`], 'no channel left behind by the failed subscribe')
})

t.test('after a server restart the bus resubscribes every topic with handlers, and only those', async (t) => {
  const prefix = freshPrefix()
  const publisher = createRedisPubSub({ url: server.url, prefix })
  const { onError, errors } = recordErrors()
  // Reconnects come 500 ms apart (the subscriber connection inherits the client's retryStrategy), which
  // leaves a window where the bus knows it is disconnected.
  const client = await ready(connect({ retryStrategy: () => 500 }))
  const bus = createRedisPubSub({ client, prefix, onError })
  t.teardown(() => Promise.all([publisher.close(), bus.close()]))
  const kept1 = createInbox('kept-1')
  const kept2 = createInbox('kept-2')
  const dropped = createInbox('dropped')
  await bus.subscribe('kept-1', kept1.handler)
  await bus.subscribe('kept-2', kept2.handler)
  const dropUnsubscribe = await bus.subscribe('dropped', dropped.handler)
  t.equal((await channels(prefix)).length, 3)

  const pid = server.pid
  const disconnected = once(client, 'close')
  const restarting = server.restart()
  await disconnected
  // The subscriber connection saw the same server die; give its close event a moment to land.
  await sleep(100)
  // During the outage, the last handler of "dropped" leaves: its UNSUBSCRIBE cannot be sent.
  await dropUnsubscribe()
  await restarting
  t.not(server.pid, pid, 'a new redis-server process, with no subscriptions')

  // Messages published before the bus is subscribed again are lost (pub/sub is at most once): probe.
  await retryUntil(10_000, async () => {
    await publisher.publish('kept-1', 'probe')
    await kept1.waitFor(1, 200)
  })
  t.pass('kept-1 receives again')
  await retryUntil(5000, async () => {
    await publisher.publish('kept-2', 'probe')
    await kept2.waitFor(1, 200)
  })
  t.pass('kept-2 receives again')

  // (ioredis's autoResubscribe would have brought "dropped" back here.)
  t.same(await channels(prefix), [`${prefix}topic:kept-1`, `${prefix}topic:kept-2`], 'resubscribed exactly the topics with handlers')

  await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish('kept-1', i)))
  await publisher.publish('dropped', 'nobody')
  await publisher.publish('kept-1', 'end')
  while (!kept1.messages.includes('end')) await kept1.waitFor(kept1.messages.length + 1)
  t.strictSame(kept1.messages.filter((m) => typeof m === 'number'), Array.from({ length: 100 }, (_, i) => i), '100 messages after the restart, in order')
  t.same(dropped.messages, [], 'the topic left during the outage gets nothing')

  const fresh = createInbox('fresh')
  await bus.subscribe('fresh', fresh.handler)
  await publisher.publish('fresh', 'hello')
  await fresh.waitFor(1)
  t.same(fresh.messages, ['hello'], 'new subscriptions work')
  t.ok(errors.every(({ error }) => (error as { code?: string }).code === 'FST_NEX_PUBSUB_UNAVAILABLE'), 'only resubscribe failures were reported, if any')
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
