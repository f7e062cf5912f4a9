import t from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { redisFromEnv } from '../src/index.js'

const server = await startRedisServer()
t.teardown(() => server.stop())

t.test('without REDIS_URL: null, so the plugins keep their memory defaults', async (t) => {
  t.equal(await redisFromEnv({ env: {} }), null)
  t.equal(await redisFromEnv({ env: { REDIS_URL: '' } }), null)
})

t.test('with REDIS_URL: page store, session store, pub/sub and the event log on one client, closed together', async (t) => {
  const backends = await redisFromEnv({ env: { REDIS_URL: server.url, REDIS_PREFIX: 'env-test:' } })
  if (backends === null) throw new Error('expected backends')
  t.equal(backends.client.status, 'ready', 'connected before it returns')
  await backends.pageStore.set('p1', 'a', 1)
  await backends.sessionStore.set('s1', 'user', 'ada')
  const inspector = new Redis(server.url)
  t.teardown(() => { inspector.disconnect() })
  t.same((await inspector.keys('env-test:*')).sort(), ['env-test:page:{p1}', 'env-test:session:{s1}'])
  t.ok(await inspector.pttl('env-test:session:{s1}') > 3_600_000, 'sessions live longer than pages (24 h default)')

  const received: unknown[] = []
  const arrived = new Promise<void>((resolve) => {
    backends.pubsub.subscribe('news', (message) => {
      received.push(message)
      resolve()
    }).then(() => backends.pubsub.publish('news', { hello: 'world' }), resolve)
  })
  await arrived
  t.same(received, [{ hello: 'world' }])

  const id = await backends.events.append('feed', 'first')
  t.strictSame(await backends.events.since('feed', id - 1), { events: [{ id, message: 'first' }], complete: true })
  t.same((await inspector.keys('env-test:events:*')).sort(), ['env-test:events:feed', 'env-test:events:feed:seq'], 'event keys share the prefix')

  await backends.close()
  await backends.close()
  t.equal(backends.client.status, 'end', 'the client is closed')
  await t.rejects(backends.events.append('feed', 'late'), { code: 'FST_NEX_PUBSUB_CLOSED' }, 'the event log is closed')
})

t.test('two apps on one REDIS_URL: an append in one reaches a subscriber of the other, through the shared bus', async (t) => {
  const env = { REDIS_URL: server.url, REDIS_PREFIX: 'env-pair:' }
  const [one, two] = await Promise.all([redisFromEnv({ env }), redisFromEnv({ env })])
  if (one === null || two === null) throw new Error('expected backends')
  t.teardown(() => Promise.all([one.close(), two.close()]))
  const got: Array<{ id: number, message: unknown }> = []
  const arrived = new Promise<void>((resolve) => {
    two.events.subscribe('room', (event) => {
      got.push(event)
      if (got.length === 2) resolve()
    }).then(async () => {
      await one.events.append('room', 'hello')
      await one.events.append('room', { from: 'one' })
    }, resolve)
  })
  await arrived
  t.same(got.map((event) => event.message), ['hello', { from: 'one' }], 'in order')
  t.ok((got[1]?.id ?? 0) > (got[0]?.id ?? 0), 'with increasing ids')
  t.strictSame((await two.events.since('room', (got[0]?.id ?? 0) - 1)).events, got, 'and replayable from the other app')
  const plain: unknown[] = []
  const unsubscribe = await two.pubsub.subscribe('room', (message) => { plain.push(message) })
  await one.events.append('room', 'via the bus')
  while (plain.length < 1) await new Promise((resolve) => setTimeout(resolve, 10))
  await unsubscribe()
  t.same(plain, [{ id: (got[1]?.id ?? 0) + 1, message: 'via the bus' }], 'events travel on the app\'s pub/sub bus as { id, message }')
})

t.test('Redis down at startup is not fatal: onNotReady is told, calls fail fast, then recover', async (t) => {
  await server.crash()
  t.teardown(() => server.restart())
  let warning: Error | null = null
  const backends = await redisFromEnv({ env: { REDIS_URL: server.url }, readyTimeout: 300, onNotReady: (err) => { warning = err } })
  if (backends === null) throw new Error('expected backends')
  t.teardown(() => backends.close())
  t.match(warning, { message: /not ready/ })
  const started = Date.now()
  await t.rejects(backends.pageStore.get('p', 'k'), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
  t.ok(Date.now() - started < 200, 'fails fast')
  const appendStarted = Date.now()
  await t.rejects(backends.events.append('t', 1), { code: 'FST_NEX_PUBSUB_UNAVAILABLE', statusCode: 503 })
  t.ok(Date.now() - appendStarted < 200, 'the event log fails fast too')
  await server.restart()
  const deadline = Date.now() + 8000
  for (;;) {
    try {
      await backends.pageStore.set('p', 'k', 1)
      break
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  t.equal(await backends.pageStore.get('p', 'k'), 1, 'works once Redis is up, without a new client')
  // The event log tracks availability on its own: its probe may answer a moment after the store's.
  let id: number
  for (const eventsDeadline = Date.now() + 3000; ;) {
    try {
      id = await backends.events.append('t', 'up')
      break
    } catch (err) {
      if (Date.now() > eventsDeadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  t.strictSame((await backends.events.since('t', id - 1)).events, [{ id, message: 'up' }], 'so does the event log')
})
