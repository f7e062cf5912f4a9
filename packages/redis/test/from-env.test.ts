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

t.test('with REDIS_URL: page store, session store and pub/sub on one client, closed together', async (t) => {
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

  await backends.close()
  await backends.close()
  t.equal(backends.client.status, 'end', 'the client is closed')
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
})
