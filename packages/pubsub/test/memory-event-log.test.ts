import t from 'tap'
import { createMemoryEventLog, createMemoryPubSub, isTopicMessage, sharedTopics, TOPICS_DECORATOR, type EventLog, type TopicsHost } from '../src/index.js'
// The contract suite from source: @nex/testing's build depends on this package's.
import { createEventInbox, testEventLog } from '../../testing/src/event-log-contract.js'

await testEventLog(t, 'createMemoryEventLog', (options) => createMemoryEventLog(options))

t.test('maxTopics: the least recently appended topic is evicted, and its replay says it may miss events', async (t) => {
  const log = createMemoryEventLog({ maxTopics: 3 })
  t.teardown(() => log.close())
  const one = await log.append('one', 1)
  const two = await log.append('two', 2)
  await log.append('three', 3)
  await log.append('one', 'again')
  t.equal(log.topicCount, 3)

  await log.append('four', 4)
  t.equal(log.topicCount, 3, 'still 3 topics')
  t.strictSame(await log.since('two', two - 1), { events: [], complete: false }, '"two" (least recently appended) was evicted')
  t.strictSame(await log.since('two', two), { events: [], complete: true }, 'from its newest id nothing was lost')
  t.strictSame((await log.since('one', one - 1)).events.map((event) => event.message), [1, 'again'], '"one" was appended since: kept')

  for (let i = 0; i < 100; i++) {
    await log.append(`topic-${i}`, i)
    if (log.topicCount > 3) t.fail(`${log.topicCount} topics after ${i + 1} more`)
  }
  t.equal(log.topicCount, 3, 'bounded through 100 more topics')
  t.strictSame((await log.since('topic-99', 0)).events.map((event) => event.message), [99], 'the newest topic is kept')
  t.equal((await log.since('one', one - 1)).complete, false, 'an evicted topic with events is incomplete from before them')

  const inbox = createEventInbox()
  await log.subscribe('one', inbox.handler)
  await log.append('one', 'live')
  await inbox.waitFor(1)
  t.strictSame(inbox.events.map((event) => event.message), ['live'], 'eviction only affects replay, not live delivery')
})

t.test('an evicted topic appended to again still says its replay from before the eviction is incomplete', async (t) => {
  const log = createMemoryEventLog({ maxTopics: 1 })
  t.teardown(() => log.close())
  const lost = await log.append('a', 'lost')
  await log.append('b', 'evicts a')
  const kept = await log.append('a', 'kept')
  const replay = await log.since('a', lost - 1)
  t.strictSame(replay.events, [{ id: kept, message: 'kept' }])
  t.equal(replay.complete, false, `"${lost}" was evicted with the topic: the replay from before it cannot be complete`)
})

t.test('maxBytes: the kept message JSON never exceeds it', async (t) => {
  const maxBytes = 1000
  const log = createMemoryEventLog({ maxBytes, maxEvents: 1000 })
  t.teardown(() => log.close())
  let most = 0
  for (let i = 0; i < 300; i++) {
    await log.append(`t${i % 7}`, 'x'.repeat((i * 37) % 150))
    most = Math.max(most, log.bytes)
    if (log.bytes > maxBytes) t.fail(`${log.bytes} bytes after append ${i + 1}`)
  }
  t.ok(most > maxBytes / 2, `the budget was used (${most} bytes at most)`)
  t.ok(log.bytes <= maxBytes, `${log.bytes} bytes kept`)

  t.strictSame((await log.since('t5', 0)).events.at(-1)?.message, 'x'.repeat((299 * 37) % 150), 'the newest event (append 300, on t5) is kept')

  const solo = createMemoryEventLog({ maxBytes: 100, maxEvents: 1000 })
  t.teardown(() => solo.close())
  const first = await solo.append('solo', 'a'.repeat(40))
  await solo.append('solo', 'b'.repeat(40))
  const third = await solo.append('solo', 'c'.repeat(40))
  t.ok(solo.bytes <= 100, `${solo.bytes} bytes kept`)
  t.strictSame(await solo.since('solo', first - 1), { events: [{ id: third - 1, message: 'b'.repeat(40) }, { id: third, message: 'c'.repeat(40) }], complete: false },
    'one topic over the budget drops its oldest events, and replay from before them says so')
  t.equal((await solo.since('solo', first)).complete, true, 'from the dropped id on: complete')

  const huge = await log.append('huge', 'y'.repeat(2 * maxBytes))
  t.ok(log.bytes <= maxBytes, `a message over the budget is not kept (${log.bytes} bytes)`)
  t.strictSame(await log.since('huge', huge - 1), { events: [], complete: false }, 'its replay says it is missing')
  t.strictSame(await log.since('huge', huge), { events: [], complete: true }, 'nothing is missing after it')
})

t.test('close() empties the buffers', async (t) => {
  const log = createMemoryEventLog()
  await log.append('a', 'x')
  t.equal(log.topicCount, 1)
  t.ok(log.bytes > 0)
  await log.close()
  t.equal(log.topicCount, 0)
  t.equal(log.bytes, 0)
})

t.test('a given bus delivers the events and is not closed with the log', async (t) => {
  const bus = createMemoryPubSub()
  t.teardown(() => bus.close())
  const log = createMemoryEventLog({ pubsub: bus })
  const inbox = createEventInbox()
  await log.subscribe('t', inbox.handler)
  const id = await log.append('t', 'via the bus')
  await inbox.waitFor(1)
  t.strictSame(inbox.events, [{ id, message: 'via the bus' }])
  t.equal(bus.topicCount, 1, 'the subscription is on the given bus')
  await log.close()
  await t.resolves(bus.publish('t', 'still open'), 'the bus outlives the log')
})

t.test('options are checked (FST_NEX_PUBSUB_INVALID_OPTION naming the option)', async (t) => {
  for (const name of ['maxEvents', 'maxTopics', 'maxBytes']) {
    for (const value of [0, -1, 1.5, '10', null, Number.NaN, Number.POSITIVE_INFINITY]) {
      t.throws(() => createMemoryEventLog({ [name]: value }), { code: 'FST_NEX_PUBSUB_INVALID_OPTION', message: new RegExp(`"${name}"`) },
        `${name}: ${String(value)}`)
    }
  }
  t.throws(() => createMemoryEventLog({ onError: 'log' as never }), { code: 'FST_NEX_PUBSUB_INVALID_OPTION', message: /"onError"/ })
  const log = createMemoryEventLog({ maxEvents: 1, maxTopics: 1, maxBytes: 1 })
  t.teardown(() => log.close())
  t.pass('1 is allowed everywhere')
})

/** The part of a Fastify instance `sharedTopics` uses, as a plain object: decorators as properties, hooks in a list. */
function createHost (): TopicsHost & { hooks: Array<() => Promise<void>>, decorated: string[], nexTopics?: EventLog } {
  const host = {
    hooks: [] as Array<() => Promise<void>>,
    decorated: [] as string[],
    hasDecorator (name: string) {
      return host.decorated.includes(name)
    },
    decorate (name: string, value: unknown) {
      if (host.decorated.includes(name)) throw new Error(`"${name}" decorated twice`)
      host.decorated.push(name)
      Object.assign(host, { [name]: value })
      return host
    },
    addHook (name: 'onClose', hook: () => Promise<void>) {
      if (name !== 'onClose') throw new Error(`unexpected hook ${name}`)
      host.hooks.push(hook)
      return host
    }
  }
  return host
}

t.test('sharedTopics: the first plugin creates the app\'s log and closes it on onClose; later ones share it', async (t) => {
  const host = createHost()
  const first = sharedTopics(host)
  t.same(host.decorated, [TOPICS_DECORATOR], 'decorated as nexTopics')
  t.equal(host.nexTopics, first)
  t.equal(host.hooks.length, 1, 'an onClose hook for the log it created')
  t.equal(sharedTopics(host), first, 'the second plugin gets the same log')
  t.equal(host.hooks.length, 1, 'and adds no hook')

  const inbox = createEventInbox()
  await first.subscribe('t', inbox.handler)
  await sharedTopics(host).append('t', 'shared')
  await inbox.waitFor(1)
  t.equal(inbox.events[0]?.message, 'shared', 'one log: an append through one plugin reaches the other\'s subscribers')

  await host.hooks[0]?.()
  await t.rejects(first.append('t', 'late'), { code: 'FST_NEX_PUBSUB_CLOSED' }, 'onClose closed it')
})

t.test('sharedTopics: a given log becomes the app\'s when there is none, and is never closed by the app', async (t) => {
  const host = createHost()
  const given = createMemoryEventLog()
  t.teardown(() => given.close())
  t.equal(sharedTopics(host, given), given)
  t.equal(host.nexTopics, given, 'the given log is the app\'s')
  t.same(host.hooks, [], 'no onClose hook: the caller owns it')
  t.equal(sharedTopics(host), given, 'a later plugin without a log shares it')

  const other = createMemoryEventLog()
  t.teardown(() => other.close())
  t.equal(sharedTopics(host, other), other, 'a plugin with its own log uses it')
  t.equal(host.nexTopics, given, 'and the app\'s log stays')
})

t.test('isTopicMessage: { event?, data } objects only', async (t) => {
  t.ok(isTopicMessage({ data: 1 }))
  t.ok(isTopicMessage({ data: null }))
  t.ok(isTopicMessage({ event: 'update', data: { a: 1 } }))
  t.ok(isTopicMessage({ event: 'x', data: 'y', extra: true }), 'other keys are allowed')
  t.notOk(isTopicMessage({ event: 1, data: 1 }), 'event must be a string')
  t.notOk(isTopicMessage({ event: 'x' }), 'data is required')
  t.notOk(isTopicMessage({}))
  t.notOk(isTopicMessage([1]), 'arrays are data as a whole')
  t.notOk(isTopicMessage(null))
  t.notOk(isTopicMessage('data'))
  t.notOk(isTopicMessage(3))
  t.notOk(isTopicMessage(Object.create({ data: 1 }) as { data: number }), 'an inherited data does not count')
  t.ok(isTopicMessage(JSON.parse('{"data":1,"__proto__":{"x":1}}') as { data: number }))
})
