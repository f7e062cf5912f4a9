/**
 * The pub/sub contract suite: the behaviour every `PubSub` (in-process, Redis, yours) must show, as tap
 * subtests. Run it from your own test file with your bus factory:
 *
 *   import t from 'tap'
 *   import { testPubSub } from '@nex/testing'
 *   await testPubSub(t, 'my bus', (options) => createMyPubSub(options))
 *
 * Every bus the suite creates is closed when its subtest ends. Tests wait for deliveries with an inbox
 * that resolves once N messages arrived; "nothing arrived" is proven by a sentinel published afterwards
 * on another topic (one publisher's messages arrive in order), except after `close()`, where nothing can
 * carry a sentinel and the suite gives late deliveries a short while to show up.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { JsonValue, MessageHandler, PubSub, PubSubErrorHandler } from '@nex/pubsub'

/** What the suite asks the factory for; a bus must honour it. */
export interface PubSubFactoryOptions {
  /** Where the bus reports handler errors (the suite checks them). */
  onError: PubSubErrorHandler
}

export type PubSubFactory = (options: PubSubFactoryOptions) => PubSub | Promise<PubSub>

/** A handler that records what it gets, and a way to wait for it. */
export interface Inbox {
  /** Subscribe this. */
  readonly handler: MessageHandler
  /** Messages received, in order. */
  readonly messages: JsonValue[]
  /** The topic of each received message. */
  readonly topics: string[]
  /** Resolves once `count` messages arrived in all; rejects after `timeout` ms (default 10 000) saying what did. */
  waitFor (count: number, timeout?: number): Promise<void>
}

/** A recording handler for tests of buses (or of code that subscribes). `label` names it in failures. */
export function createInbox (label = 'inbox'): Inbox {
  const recorder = createRecorder<JsonValue>(label)
  return {
    handler: recorder.push,
    messages: recorder.items,
    topics: recorder.topics,
    waitFor: recorder.waitFor
  }
}

interface Recorder<T> {
  push (item: T, topic: string): void
  readonly items: T[]
  readonly topics: string[]
  waitFor (count: number, timeout?: number): Promise<void>
}

function createRecorder<T> (label: string): Recorder<T> {
  const items: T[] = []
  const topics: string[] = []
  const waiters = new Set<{ count: number, resolve: () => void }>()
  return {
    items,
    topics,
    push (item, topic) {
      items.push(item)
      topics.push(topic)
      for (const waiter of waiters) {
        if (items.length >= waiter.count) waiter.resolve()
      }
    },
    waitFor (count, timeout = 10_000) {
      if (items.length >= count) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const waiter = {
          count,
          resolve () {
            clearTimeout(timer)
            waiters.delete(waiter)
            resolve()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`${label}: expected ${count} within ${timeout} ms, got ${items.length}: ` +
            JSON.stringify(items.slice(-5), (_, value: unknown) => value instanceof Error ? value.message : value)))
        }, timeout)
        waiters.add(waiter)
      })
    }
  }
}

/** Topics every bus and log must refuse (FST_NEX_PUBSUB_INVALID_TOPIC), each with a label. */
export function invalidTopics (): Array<[string, unknown]> {
  return [
    ['an empty string', ''],
    ['257 characters', 'x'.repeat(257)],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['a']],
    ['a lone surrogate', 'a\uD800b']
  ]
}

/** Values every bus and log must refuse as messages (FST_NEX_PUBSUB_NOT_JSON), each with a label. */
export function notJsonValues (): Array<[string, unknown]> {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const sparse: number[] = [1]
  sparse[2] = 3
  class Point { x = 1 }
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  return [
    ['a function', () => 1],
    ['undefined', undefined],
    ['a symbol', Symbol('s')],
    ['a BigInt', 10n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a Date', new Date()],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Point()],
    ['a boxed string', Object('s')],
    ['an object with toJSON', { toJSON: () => 'x' }],
    ['a symbol-keyed property', { [Symbol('k')]: 1 }],
    ['a cycle', cyclic],
    ['a nested function', { a: [1, { b: () => 1 }] }],
    ['an undefined property', { a: undefined }],
    ['a sparse array', sparse],
    ['a value nested 100 000 deep', deep]
  ]
}

export async function testPubSub (t: Test, name: string, create: PubSubFactory): Promise<void> {
  /** A new bus, closed at the end of the test, with the errors it reports. */
  async function open (t: Test): Promise<{ bus: PubSub, errors: Recorder<unknown> }> {
    const errors = createRecorder<unknown>('onError')
    const bus = await create({ onError: errors.push })
    t.teardown(() => bus.close())
    return { bus, errors }
  }

  /** Subscribes a fresh inbox to `topic`. */
  async function listen (bus: PubSub, topic: string): Promise<Inbox & { unsubscribe: () => Promise<void> }> {
    const inbox = createInbox(topic)
    const unsubscribe = await bus.subscribe(topic, inbox.handler)
    return Object.assign(inbox, { unsubscribe })
  }

  await t.test(`${name}: pub/sub contract`, async (t) => {
    t.test('a subscriber gets every message with its topic, in a fresh parse', async (t) => {
      const { bus, errors } = await open(t)
      const inbox = await listen(bus, 'greetings')
      const sent: JsonValue[] = ['héllo ✓', 0, 4.5, -1e300, true, false, null, [], {}, [1, 'two', [3], { four: 4 }],
        { nested: { deep: ['x'] }, empty: {} }, JSON.parse('{"__proto__":"own key"}') as JsonValue, '\u2028 \uD83C\uDF89']
      for (const message of sent) await bus.publish('greetings', message)
      await inbox.waitFor(sent.length)
      t.strictSame(inbox.messages, sent)
      t.same(inbox.topics, sent.map(() => 'greetings'), 'the handler is told the topic')
      const own = inbox.messages[11] as Record<string, unknown>
      t.ok(Object.hasOwn(own, '__proto__') && Object.getPrototypeOf(own) === Object.prototype, '"__proto__" arrives as an own key')
      t.same(errors.items, [], 'nothing reported')
    })

    t.test('every subscription of a topic gets every message, also the same function twice', async (t) => {
      const { bus } = await open(t)
      const a = await listen(bus, 'news')
      const b = await listen(bus, 'news')
      const twice = createInbox('twice')
      await bus.subscribe('news', twice.handler)
      await bus.subscribe('news', twice.handler)
      const many = await Promise.all(Array.from({ length: 50 }, () => listen(bus, 'news')))
      await bus.publish('news', 1)
      await bus.publish('news', 2)
      await Promise.all([a.waitFor(2), b.waitFor(2), twice.waitFor(4), ...many.map((inbox) => inbox.waitFor(2))])
      t.same(a.messages, [1, 2])
      t.same(b.messages, [1, 2])
      t.same(twice.messages.slice().sort(), [1, 1, 2, 2], 'two subscriptions of one function: each message twice')
      t.ok(many.every((inbox) => inbox.messages.length === 2 && inbox.messages[0] === 1 && inbox.messages[1] === 2), '50 more handlers each got both')
    })

    t.test('publish resolves before any handler runs, and handlers may publish', async (t) => {
      const { bus } = await open(t)
      const echo = await listen(bus, 'echo')
      let calls = 0
      await bus.subscribe('ping', async (message) => {
        calls++
        await bus.publish('echo', { echo: message })
      })
      const published = bus.publish('ping', 'x')
      t.equal(calls, 0, 'no handler ran inside publish')
      await published
      await echo.waitFor(1)
      t.same(echo.messages, [{ echo: 'x' }], 'a handler published a reply')
      await t.resolves(bus.publish('nobody-listens', 'into the void'), 'publishing to a topic without subscribers resolves')
    })

    t.test('100 topics are isolated from each other; topics are names, not patterns', async (t) => {
      const { bus } = await open(t)
      const names = Array.from({ length: 100 }, (_, i) => `topic-${i}`)
      names.push('*', 'news.*', 'news.sport', 'a:b', '__proto__', 'constructor', 'with space', 'ключ 🎉', 'x'.repeat(256), 'X'.repeat(256))
      const inboxes = await Promise.all(names.map((name) => listen(bus, name)))
      for (let i = names.length - 1; i >= 0; i--) await bus.publish(names[i] as string, { to: names[i] as string })
      for (const name of names) await bus.publish(name, 'end')
      await Promise.all(inboxes.map((inbox) => inbox.waitFor(2)))
      for (const [i, inbox] of inboxes.entries()) {
        if (inbox.messages.length !== 2 || (inbox.messages[0] as { to: string }).to !== names[i] || inbox.messages[1] !== 'end') {
          t.fail(`topic ${JSON.stringify(names[i])} got ${JSON.stringify(inbox.messages)}`)
        }
        if (inbox.topics.some((topic) => topic !== names[i])) t.fail(`topic ${JSON.stringify(names[i])} was told another topic`)
      }
      t.pass(`each of ${names.length} topics got exactly its own message, then the sentinel`)
    })

    t.test('unsubscribe: idempotent, the other handlers of the topic keep receiving', async (t) => {
      const { bus } = await open(t)
      const leaving = await listen(bus, 'room')
      const staying = await listen(bus, 'room')
      const sentinel = await listen(bus, 'sentinel')
      await bus.publish('room', 1)
      await Promise.all([leaving.waitFor(1), staying.waitFor(1)])

      await leaving.unsubscribe()
      await t.resolves(leaving.unsubscribe(), 'unsubscribing twice is fine')
      await bus.publish('room', 2)
      await bus.publish('sentinel', 'after 2')
      await Promise.all([staying.waitFor(2), sentinel.waitFor(1)])
      t.same(leaving.messages, [1], 'the unsubscribed handler got nothing more')
      t.same(staying.messages, [1, 2], 'the other handler still receives')

      await Promise.all([staying.unsubscribe(), staying.unsubscribe()])
      await bus.publish('room', 3)
      await bus.publish('sentinel', 'after 3')
      await sentinel.waitFor(2)
      t.same(staying.messages, [1, 2], 'nothing after the last handler left')

      const back = await listen(bus, 'room')
      await bus.publish('room', 4)
      await back.waitFor(1)
      t.same(back.messages, [4], 'the topic can be subscribed again')
      t.same(leaving.messages, [1], 'old subscriptions stay gone')
    })

    t.test('a handler gets nothing once unsubscribe() was called, even from inside a delivery', async (t) => {
      const { bus } = await open(t)
      const got: JsonValue[] = []
      const unsubscribe = await bus.subscribe('burst', (message) => {
        got.push(message)
        unsubscribe().catch(() => {})
      })
      const sentinel = await listen(bus, 'sentinel')
      for (let i = 0; i < 5; i++) await bus.publish('burst', i)
      await bus.publish('sentinel', 'done')
      await sentinel.waitFor(1)
      t.same(got, [0], 'only the first message')
    })

    t.test('one publisher\'s messages arrive in order: 1000 on one topic, interleaved with another', async (t) => {
      const { bus } = await open(t)
      const first = await listen(bus, 'seq')
      const second = await listen(bus, 'seq')
      const other = await listen(bus, 'other')
      // Not awaited one by one: the calls are made in order, the bus must keep it.
      await Promise.all(Array.from({ length: 1000 }, (_, i) => i % 10 === 9
        ? Promise.all([bus.publish('seq', i), bus.publish('other', i)])
        : bus.publish('seq', i)))
      await Promise.all([first.waitFor(1000), second.waitFor(1000), other.waitFor(100)])
      const expected = Array.from({ length: 1000 }, (_, i) => i)
      t.strictSame(first.messages, expected, 'first handler: in order')
      t.strictSame(second.messages, expected, 'second handler: in order')
      t.strictSame(other.messages, expected.filter((i) => i % 10 === 9), 'other topic: in order')
    })

    t.test('every handler gets its own copy; changing the published object later changes nothing', async (t) => {
      const { bus } = await open(t)
      const a = await listen(bus, 'copy')
      const b = await listen(bus, 'copy')
      const original = { list: [1, 2], inner: { a: 1 } }
      const published = bus.publish('copy', original)
      original.list.push(3)
      original.inner.a = 99
      await published
      await Promise.all([a.waitFor(1), b.waitFor(1)])
      t.same(a.messages[0], { list: [1, 2], inner: { a: 1 } }, 'the message as it was at publish')
      t.not(a.messages[0], original, 'not the published object')
      t.not(a.messages[0], b.messages[0], 'not the same object for two handlers')
      t.not((a.messages[0] as { list: number[] }).list, (b.messages[0] as { list: number[] }).list, 'nor the same nested objects')
    })

    t.test('topics must be strings of 1 to 256 well-formed characters (FST_NEX_PUBSUB_INVALID_TOPIC)', async (t) => {
      const { bus } = await open(t)
      const invalid = { code: 'FST_NEX_PUBSUB_INVALID_TOPIC' }
      for (const [label, topic] of invalidTopics()) {
        const publish = bus.publish(topic as string, 'x')
        await t.rejects(publish, invalid, `publish refuses ${label}`)
        await publish.catch((err: unknown) => t.type(err, TypeError, 'a TypeError'))
        await t.rejects(bus.subscribe(topic as string, () => {}), invalid, `subscribe refuses ${label}`)
      }
      await t.rejects(bus.subscribe('ok', 'not a function' as unknown as MessageHandler), { code: 'FST_NEX_PUBSUB_INVALID_HANDLER' }, 'a handler must be a function')
      const longest = await listen(bus, 'y'.repeat(256))
      await bus.publish('y'.repeat(256), 'fits')
      await longest.waitFor(1)
      t.same(longest.messages, ['fits'], '256 characters is fine')
    })

    t.test('non-JSON messages are refused with FST_NEX_PUBSUB_NOT_JSON and nothing is sent', async (t) => {
      const { bus } = await open(t)
      const inbox = await listen(bus, 'strict')
      for (const [label, value] of notJsonValues()) {
        const publish = bus.publish('strict', value as JsonValue)
        await t.rejects(publish, { code: 'FST_NEX_PUBSUB_NOT_JSON' }, `refuses ${label}`)
        await publish.catch((err: unknown) => t.type(err, TypeError, 'a TypeError'))
      }
      await bus.publish('strict', 'sentinel')
      await inbox.waitFor(1)
      t.same(inbox.messages, ['sentinel'], 'none of the refused messages arrived')
    })

    t.test('a handler that throws or rejects is reported to onError and the others still receive', async (t) => {
      const { bus, errors } = await open(t)
      const before = await listen(bus, 'fragile')
      await bus.subscribe('fragile', (message) => { throw new Error(`sync ${String(message)}`) })
      await bus.subscribe('fragile', async (message) => { throw new Error(`async ${String(message)}`) })
      const after = await listen(bus, 'fragile')
      for (let i = 0; i < 3; i++) await bus.publish('fragile', i)
      await Promise.all([before.waitFor(3), after.waitFor(3)])
      t.same(before.messages, [0, 1, 2])
      t.same(after.messages, [0, 1, 2], 'handlers subscribed after the throwing ones receive too')
      // Rejections of async handlers may be reported a turn later.
      await errors.waitFor(6)
      const messages = errors.items.map((error) => (error as Error).message).sort()
      t.same(messages, ['async 0', 'async 1', 'async 2', 'sync 0', 'sync 1', 'sync 2'], 'each failure reported with its error')
      t.ok(errors.topics.every((topic) => topic === 'fragile'), 'and its topic')
      await bus.publish('fragile', 3)
      await after.waitFor(4)
      t.pass('the bus still delivers')
    })

    t.test('close: no delivery after it, idempotent, later calls reject with FST_NEX_PUBSUB_CLOSED', async (t) => {
      const { bus } = await open(t)
      const inbox = await listen(bus, 'last')
      await bus.publish('last', 'before')
      await inbox.waitFor(1)

      const publishes = Array.from({ length: 20 }, (_, i) => bus.publish('last', i))
      await bus.close()
      await t.resolves(bus.close(), 'closing twice is fine')
      for (const result of await Promise.allSettled(publishes)) {
        if (result.status === 'rejected') t.match(result.reason, { code: 'FST_NEX_PUBSUB_CLOSED' }, 'a publish caught by close rejects as closed')
      }
      const closed = { code: 'FST_NEX_PUBSUB_CLOSED', statusCode: 503 }
      await t.rejects(bus.publish('last', 'after'), closed)
      await t.rejects(bus.subscribe('last', () => {}), closed)
      await t.resolves(inbox.unsubscribe(), 'unsubscribe after close resolves')
      // Nothing can carry a sentinel through a closed bus: give a late delivery a while to show.
      await sleep(200)
      t.same(inbox.messages, ['before'], 'nothing delivered after close()')
    })

    t.test('a handler that closes the bus stops the delivery at once', async (t) => {
      const { bus } = await open(t)
      const got: JsonValue[] = []
      let closed = (): void => {}
      const closing = new Promise<void>((resolve) => { closed = resolve })
      await bus.subscribe('stop', (message) => {
        got.push(message)
        bus.close().then(closed, closed)
      })
      await Promise.allSettled(Array.from({ length: 5 }, (_, i) => bus.publish('stop', i)))
      await closing
      await sleep(200)
      t.same(got, [0], 'one message, then nothing')
    })
  })
}
