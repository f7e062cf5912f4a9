import t from 'tap'
import { createMemoryPubSub, encodeMessage } from '../src/index.js'
// The contract suite from source: @nex/testing's build depends on this package's.
import { createInbox, testPubSub } from '../../testing/src/pubsub-contract.js'

await testPubSub(t, 'createMemoryPubSub', (options) => createMemoryPubSub(options))

t.test('the registry holds only live subscriptions: 1000 topics subscribed and left end at 0', async (t) => {
  const bus = createMemoryPubSub()
  t.teardown(() => bus.close())
  const unsubscribes = await Promise.all(Array.from({ length: 1000 }, (_, i) => bus.subscribe(`t${i}`, () => {})))
  const second = await bus.subscribe('t0', () => {})
  t.equal(bus.topicCount, 1000)
  await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()))
  t.equal(bus.topicCount, 1, 't0 stays while it has a handler')
  await second()
  t.equal(bus.topicCount, 0, 'nothing left')
  for (let i = 0; i < 1000; i++) await bus.publish(`unheard-${i}`, i)
  t.equal(bus.pendingMessages, 0, 'messages to topics without subscribers are not kept')
})

t.test('pending messages are delivered in one round and dropped by close()', async (t) => {
  const bus = createMemoryPubSub()
  const inbox = createInbox()
  await bus.subscribe('t', inbox.handler)
  for (let i = 0; i < 10; i++) await bus.publish('t', i)
  t.equal(bus.pendingMessages, 10, 'queued until the next setImmediate')
  await inbox.waitFor(10)
  t.equal(bus.pendingMessages, 0)
  await bus.publish('t', 'never')
  await bus.close()
  t.equal(bus.pendingMessages, 0, 'close() dropped the queue')
})

t.test('a handler that keeps publishing does not starve I/O', async (t) => {
  const bus = createMemoryPubSub()
  t.teardown(() => bus.close())
  let rounds = 0
  await bus.subscribe('loop', async () => {
    rounds++
    await bus.publish('loop', rounds)
  })
  await bus.publish('loop', 0)
  // A timer fires although the handler republishes forever: deliveries yield to the event loop.
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(rounds > 0, `the loop ran ${rounds} rounds and a timer still fired`)
  await bus.close()
})

t.test('without onError, handler failures become process warnings', async (t) => {
  const bus = createMemoryPubSub()
  t.teardown(() => bus.close())
  const warning = new Promise<Error>((resolve) => process.once('warning', resolve))
  await bus.subscribe('t', () => { throw new Error('boom') })
  await bus.publish('t', 1)
  const emitted = await warning
  t.equal(emitted.name, 'NexPubSubWarning')
  t.match(emitted.message, /topic "t": boom/)
})

t.test('an onError that throws is ignored', async (t) => {
  const bus = createMemoryPubSub({ onError: () => { throw new Error('onError broke') } })
  t.teardown(() => bus.close())
  const inbox = createInbox()
  await bus.subscribe('t', () => { throw new Error('boom') })
  await bus.subscribe('t', inbox.handler)
  await bus.publish('t', 1)
  await bus.publish('t', 2)
  await inbox.waitFor(2)
  t.same(inbox.messages, [1, 2])
})

t.test('options are checked', async (t) => {
  t.throws(() => createMemoryPubSub({ onError: 'log' as never }), { code: 'FST_NEX_PUBSUB_INVALID_OPTION' })
})

t.test('encodeMessage names the offending key', async (t) => {
  t.throws(() => encodeMessage('t', { items: [{ added: new Date() }] }), { message: /a Date at "added"/ })
  t.throws(() => encodeMessage('t', [1, () => 1]), { message: /a function at \[1\]/ })
  t.equal(encodeMessage('t', { a: [1, 'x', null] }), '{"a":[1,"x",null]}')
  t.equal(encodeMessage('t', Object.assign(Object.create(null) as object, { a: 1 })), '{"a":1}', 'null-prototype objects are plain')
})
