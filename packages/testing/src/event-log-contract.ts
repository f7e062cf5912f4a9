/**
 * The event-log contract suite: the behaviour every `EventLog` (in-process, Redis, yours) must show, as tap
 * subtests. Run it from your own test file with your log factory:
 *
 *   import t from 'tap'
 *   import { testEventLog } from '@nex/testing'
 *   await testEventLog(t, 'my log', (options) => createMyEventLog(options))
 *
 * A log shared by several processes (Redis) also runs the shared tests: pass `{ shared: true }`, and the
 * suite creates two logs with the same `backend` (two processes on one Redis) and checks that ids stay
 * monotonic across them and that events appended on one reach the other, live and in `since`.
 *
 * Every log the suite creates is closed when its subtest ends. Each subtest gets a fresh `backend` name,
 * so a factory can map it to a fresh key prefix and subtests never see each other's topics.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { EventLog, JsonValue, LoggedEvent, LoggedEventHandler, PubSubErrorHandler } from '@nex/pubsub'
import { createInbox, invalidTopics, notJsonValues } from './pubsub-contract.js'

/** What the suite asks the factory for; a log must honour it. */
export interface EventLogFactoryOptions {
  /** Events kept per topic for replay. */
  maxEvents: number
  /** Where the log reports handler errors (the suite checks them). */
  onError: PubSubErrorHandler
  /**
   * Names the store behind the log: logs created with the same `backend` must share their topics (same
   * Redis and prefix), logs with different ones must not. Only the shared tests create two logs per backend.
   */
  backend: string
}

export type EventLogFactory = (options: EventLogFactoryOptions) => EventLog | Promise<EventLog>

export interface EventLogSuiteOptions {
  /** Whether logs created with the same `backend` share one log (several processes); runs the shared tests. */
  shared: boolean
}

/** A handler that records the events it gets, and a way to wait for them. */
export interface EventInbox {
  /** Subscribe this. */
  readonly handler: LoggedEventHandler
  /** Events received, in order. */
  readonly events: LoggedEvent[]
  /** The topic of each received event. */
  readonly topics: string[]
  /** Resolves once `count` events arrived in all; rejects after `timeout` ms (default 10 000) saying what did. */
  waitFor (count: number, timeout?: number): Promise<void>
}

/** A recording handler for tests of event logs (or of code that subscribes to one). `label` names it in failures. */
export function createEventInbox (label = 'inbox'): EventInbox {
  const inbox = createInbox(label)
  return {
    handler: (event, topic) => inbox.handler(event as unknown as JsonValue, topic),
    events: inbox.messages as unknown as LoggedEvent[],
    topics: inbox.topics,
    waitFor: inbox.waitFor
  }
}

const MAX_EVENTS = 5

interface Opened {
  readonly log: EventLog
  /** What the log reported to `onError`, and the topic of each. */
  readonly errors: unknown[]
  readonly errorTopics: string[]
}

const ids = (events: readonly LoggedEvent[]): number[] => events.map((event) => event.id)

/** True when every id is a safe integer above the one before it. */
function strictlyIncreasing (list: readonly number[]): boolean {
  return list.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id > (list[i - 1] as number)))
}

export async function testEventLog (t: Test, name: string, create: EventLogFactory, suite: EventLogSuiteOptions = { shared: false }): Promise<void> {
  let backends = 0
  /** A backend name no other subtest uses. */
  const freshBackend = (): string => `b${backends++}`

  /** A new log on `backend` (a fresh one by default), closed at the end of the test, with the errors it reports. */
  async function open (t: Test, backend = freshBackend()): Promise<Opened> {
    const errors: unknown[] = []
    const errorTopics: string[] = []
    const log = await create({ maxEvents: MAX_EVENTS, backend, onError: (error, topic) => { errors.push(error); errorTopics.push(topic) } })
    t.teardown(() => log.close())
    return { log, errors, errorTopics }
  }

  /** Two logs sharing one backend: two processes. */
  async function openPair (t: Test): Promise<[EventLog, EventLog]> {
    const backend = freshBackend()
    return [(await open(t, backend)).log, (await open(t, backend)).log]
  }

  /** Subscribes a fresh inbox to `topic`. */
  async function listen (log: EventLog, topic: string): Promise<EventInbox & { unsubscribe: () => Promise<void> }> {
    const inbox = createEventInbox(topic)
    const unsubscribe = await log.subscribe(topic, inbox.handler)
    return Object.assign(inbox, { unsubscribe })
  }

  await t.test(`${name}: event log contract`, async (t) => {
    t.test('ids start from the clock in microseconds and strictly increase per topic', async (t) => {
      const before = Date.now() * 1000
      const { log } = await open(t)
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < 20; i++) {
        a.push(await log.append('a', i))
        if (i % 3 === 0) b.push(await log.append('b', i))
      }
      t.ok(a.every((id) => Number.isSafeInteger(id)), 'ids are safe integers')
      t.ok((a[0] as number) >= before, `the first id ${a[0]} is at least the clock (${before} µs) before the log was created`)
      t.ok((b[0] as number) >= before, 'so is the first id of another topic')
      t.ok(strictlyIncreasing(a), `topic a: ${a.join(', ')}`)
      t.ok(strictlyIncreasing(b), `topic b: ${b.join(', ')}`)
    })

    t.test('one appender\'s ids follow its call order, also for calls not awaited one by one', async (t) => {
      const { log } = await open(t)
      const inbox = await listen(log, 'burst')
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append('burst', i)))
      t.ok(strictlyIncreasing(got), 'ids increase in call order')
      t.equal(new Set(got).size, 200, 'all different')
      await inbox.waitFor(200)
      t.strictSame(ids(inbox.events), got, 'delivered in id order')
      t.strictSame(inbox.events.map((event) => event.message), Array.from({ length: 200 }, (_, i) => i), 'each id with its message')
    })

    t.test('subscribers get { id, message } of their topic only, in id order, each its own copy', async (t) => {
      const { log, errors } = await open(t)
      const first = await listen(log, 'news')
      const second = await listen(log, 'news')
      const other = await listen(log, 'other')
      const sent: JsonValue[] = ['héllo ✓', 0, -1e300, true, null, [], {}, [1, 'two', [3]], { nested: { deep: ['x'] } },
        JSON.parse('{"__proto__":"own key"}') as JsonValue, '\u2028 \uD83C\uDF89']
      const original = { list: [1, 2] }
      const appended: number[] = []
      for (const message of sent) appended.push(await log.append('news', message))
      const mutable = log.append('news', original)
      original.list.push(3)
      appended.push(await mutable)
      const otherId = await log.append('other', 'elsewhere')
      await Promise.all([first.waitFor(sent.length + 1), second.waitFor(sent.length + 1), other.waitFor(1)])

      t.strictSame(ids(first.events), appended, 'the ids append resolved to, in order')
      t.strictSame(first.events.map((event) => event.message), [...sent, { list: [1, 2] }], 'the messages as they were at append')
      t.strictSame(first.events.map((event) => Object.keys(event).sort()), appended.map(() => ['id', 'message']), 'events are { id, message }')
      t.same(first.topics, appended.map(() => 'news'), 'the handler is told the topic')
      t.strictSame(second.events, first.events, 'the second subscriber got the same events')
      t.not(first.events[0], second.events[0], 'but not the same event objects')
      t.not(first.events.at(-1)?.message, second.events.at(-1)?.message, 'nor the same message objects')
      const own = first.events[9]?.message as Record<string, unknown>
      t.ok(Object.hasOwn(own, '__proto__') && Object.getPrototypeOf(own) === Object.prototype, '"__proto__" arrives as an own key')
      t.strictSame(other.events, [{ id: otherId, message: 'elsewhere' }], 'the other topic got only its own event')
      t.same(errors, [], 'nothing reported')
    })

    t.test('append resolves before any handler runs; a subscriber gets only what is appended after it subscribed', async (t) => {
      const { log } = await open(t)
      await log.append('late', 'before')
      let calls = 0
      const inbox = createEventInbox('late')
      await log.subscribe('late', (event, topic) => {
        calls++
        return inbox.handler(event, topic)
      })
      const appending = log.append('late', 'after')
      t.equal(calls, 0, 'no handler ran inside append')
      const id = await appending
      await inbox.waitFor(1)
      await log.append('late', 'sentinel')
      await inbox.waitFor(2)
      t.strictSame(inbox.events.map((event) => event.message), ['after', 'sentinel'], 'nothing from before the subscription')
      t.equal(inbox.events[0]?.id, id)
    })

    t.test('since returns the kept events after the id asked for, oldest first, as copies', async (t) => {
      const { log } = await open(t)
      const messages = ['a', { b: [1] }, null, 3]
      const appended: number[] = []
      for (const message of messages) appended.push(await log.append('replay', message))
      const first = appended[0] as number

      const all = await log.since('replay', first - 1)
      t.strictSame(all, { events: appended.map((id, i) => ({ id, message: messages[i] })), complete: true },
        'from just before the first id: every event, complete')
      const tail = await log.since('replay', appended[1] as number)
      t.strictSame(tail, { events: appended.slice(2).map((id, i) => ({ id, message: messages[i + 2] })), complete: true },
        'from the second id: the events after it')
      t.strictSame(await log.since('replay', appended[3] as number), { events: [], complete: true }, 'from the newest id: nothing, complete')
      t.strictSame(await log.since('replay', (appended[3] as number) + 1000), { events: [], complete: true }, 'from beyond the newest id: nothing, complete')

      ;(all.events[1]?.message as { b: number[] }).b.push(2)
      const again = await log.since('replay', first - 1)
      t.strictSame(again.events[1]?.message, { b: [1] }, 'changing a replayed message changes nothing kept')
      t.not(again.events[1], all.events[1], 'each replay gets its own objects')

      await log.append('neighbour', 'x')
      t.strictSame(ids((await log.since('replay', first - 1)).events), appended, 'another topic adds nothing to this one')
    })

    t.test(`the buffer keeps the last maxEvents (${MAX_EVENTS}) events; since says complete: false only from before a dropped one`, async (t) => {
      const { log } = await open(t)
      const appended: number[] = []
      for (let i = 0; i < MAX_EVENTS + 3; i++) appended.push(await log.append('bounded', i))
      const kept = appended.slice(3)
      const newestDropped = appended[2] as number

      const fromStart = await log.since('bounded', (appended[0] as number) - 1)
      t.strictSame(ids(fromStart.events), kept, `only the last ${MAX_EVENTS} are kept`)
      t.strictSame(fromStart.events.map((event) => event.message), [3, 4, 5, 6, 7])
      t.equal(fromStart.complete, false, 'from before the dropped events: incomplete')
      t.equal((await log.since('bounded', appended[1] as number)).complete, false, 'from before the newest dropped one: incomplete')
      t.strictSame(await log.since('bounded', newestDropped), { events: kept.map((id, i) => ({ id, message: i + 3 })), complete: true },
        'from the newest dropped id: complete (nothing after it is missing)')
      t.strictSame(ids((await log.since('bounded', kept[2] as number)).events), kept.slice(3), 'from a kept id: the ones after it')
      t.equal((await log.since('bounded', kept[2] as number)).complete, true)

      for (let i = 0; i < 3 * MAX_EVENTS; i++) await log.append('bounded', i)
      t.equal((await log.since('bounded', 0)).events.length, MAX_EVENTS, `still ${MAX_EVENTS} after ${4 * MAX_EVENTS + 3} appends`)

      const small = await log.append('small', 'only')
      t.strictSame(await log.since('small', small - 1), { events: [{ id: small, message: 'only' }], complete: true }, 'buffers are per topic')
    })

    t.test('an unknown topic has no events', async (t) => {
      const { log } = await open(t)
      await log.append('known', 1)
      const unknown = await log.since('never-appended', 0)
      t.strictSame(unknown.events, [], 'no events')
      t.type(unknown.complete, 'boolean', 'complete says whether the log can tell (implementation-defined for a topic it never saw)')
      t.strictSame((await log.since('never-appended', Date.now() * 1000)).events, [])
    })

    t.test('topics must be strings of 1 to 256 well-formed characters (FST_NEX_PUBSUB_INVALID_TOPIC)', async (t) => {
      const { log } = await open(t)
      const invalid = { code: 'FST_NEX_PUBSUB_INVALID_TOPIC' }
      for (const [label, topic] of invalidTopics()) {
        const appending = log.append(topic as string, 'x')
        await t.rejects(appending, invalid, `append refuses ${label}`)
        await appending.catch((err: unknown) => t.type(err, TypeError, 'a TypeError'))
        await t.rejects(log.since(topic as string, 0), invalid, `since refuses ${label}`)
        await t.rejects(log.subscribe(topic as string, () => {}), invalid, `subscribe refuses ${label}`)
      }
      const longest = 'x'.repeat(256)
      const id = await log.append(longest, 'ok')
      t.strictSame((await log.since(longest, id - 1)).events, [{ id, message: 'ok' }], '256 characters are fine')
      await t.rejects(log.subscribe('t', 'handler' as never), { code: 'FST_NEX_PUBSUB_INVALID_HANDLER' }, 'a handler must be a function')
    })

    t.test('messages must be JSON (FST_NEX_PUBSUB_NOT_JSON) and a refused one is not appended', async (t) => {
      const { log } = await open(t)
      const inbox = await listen(log, 'strict')
      const first = await log.append('strict', 'first')
      for (const [label, message] of notJsonValues()) {
        const appending = log.append('strict', message as JsonValue)
        await t.rejects(appending, { code: 'FST_NEX_PUBSUB_NOT_JSON', message: /topic "strict"/ }, `refuses ${label}`)
        await appending.catch((err: unknown) => t.type(err, TypeError, 'a TypeError'))
      }
      const last = await log.append('strict', 'last')
      await inbox.waitFor(2)
      t.strictSame(inbox.events.map((event) => event.message), ['first', 'last'], 'subscribers got only the valid ones')
      t.strictSame((await log.since('strict', first - 1)).events, [{ id: first, message: 'first' }, { id: last, message: 'last' }],
        'since has only the valid ones')
    })

    t.test('unsubscribe: idempotent, the other subscribers of the topic keep receiving', async (t) => {
      const { log } = await open(t)
      const leaving = await listen(log, 'room')
      const staying = await listen(log, 'room')
      await log.append('room', 1)
      await Promise.all([leaving.waitFor(1), staying.waitFor(1)])
      await leaving.unsubscribe()
      await t.resolves(leaving.unsubscribe(), 'unsubscribing twice is fine')
      // Deliveries of one event to the handlers of its topic happen together: the staying one is the sentinel.
      await log.append('room', 2)
      await log.append('room', 3)
      await staying.waitFor(3)
      t.strictSame(leaving.events.map((event) => event.message), [1], 'the unsubscribed handler got nothing more')
      t.strictSame(staying.events.map((event) => event.message), [1, 2, 3], 'the other one still receives')
    })

    t.test('handler failures go to onError; the other handlers still get the event', async (t) => {
      const { log, errors, errorTopics } = await open(t)
      await log.subscribe('fragile', () => { throw new Error('sync boom') })
      await log.subscribe('fragile', async () => { throw new Error('async boom') })
      const after = await listen(log, 'fragile')
      await log.append('fragile', 1)
      await after.waitFor(1)
      for (let i = 0; i < 100 && errors.length < 2; i++) await sleep(10)
      t.same((errors as Error[]).map((error) => error.message).sort(), ['async boom', 'sync boom'], 'both failures reported')
      t.same(errorTopics, ['fragile', 'fragile'], 'with their topic')
      await log.append('fragile', 2)
      await after.waitFor(2)
      t.pass('the log still delivers')
    })

    t.test('close: no delivery after it, idempotent, later calls reject with FST_NEX_PUBSUB_CLOSED', async (t) => {
      const { log } = await open(t)
      const inbox = await listen(log, 'last')
      const id = await log.append('last', 'before')
      await inbox.waitFor(1)
      const appends = Array.from({ length: 20 }, (_, i) => log.append('last', i))
      await log.close()
      await t.resolves(log.close(), 'closing twice is fine')
      for (const result of await Promise.allSettled(appends)) {
        if (result.status === 'rejected') t.match(result.reason, { code: 'FST_NEX_PUBSUB_CLOSED' }, 'an append caught by close rejects as closed')
      }
      const closed = { code: 'FST_NEX_PUBSUB_CLOSED', statusCode: 503 }
      await t.rejects(log.append('last', 'after'), closed, 'append')
      await t.rejects(log.since('last', id), closed, 'since')
      await t.rejects(log.subscribe('last', () => {}), closed, 'subscribe')
      await t.resolves(inbox.unsubscribe(), 'unsubscribe after close resolves')
      // Nothing can carry a sentinel through a closed log: give a late delivery a while to show.
      await sleep(200)
      t.strictSame(inbox.events, [{ id, message: 'before' }], 'nothing delivered after close()')
    })

    if (!suite.shared) return

    t.test('shared: appends alternating between two logs get strictly increasing ids', async (t) => {
      const [a, b] = await openPair(t)
      const got: number[] = []
      for (let i = 0; i < 20; i++) got.push(await (i % 2 === 0 ? a : b).append('shared', i))
      t.ok(strictlyIncreasing(got), `ids: ${got.join(', ')}`)
      const concurrent = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).append('shared', i)))
      t.equal(new Set([...got, ...concurrent]).size, 120, 'concurrent appends from both: every id different')
      t.ok(Math.min(...concurrent) > (got.at(-1) as number), 'and above the ones before')
    })

    t.test('shared: a subscriber on one log gets the events appended on the other, in id order', async (t) => {
      const [a, b] = await openPair(t)
      const onB = await listen(b, 'relay')
      const onA = await listen(a, 'relay')
      const got = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? b : a).append('relay', i)))
      await Promise.all([onA.waitFor(100), onB.waitFor(100)])
      const sorted = [...got].sort((x, y) => x - y)
      t.strictSame(ids(onB.events), sorted, 'the subscriber on b saw every event, in id order')
      t.strictSame(ids(onA.events), sorted, 'so did the one on a')
      const byId = new Map(got.map((id, i) => [id, i]))
      t.ok(onB.events.every((event) => byId.get(event.id) === event.message), 'each id with its message')
    })

    t.test('shared: since on one log returns the events appended on the other', async (t) => {
      const [a, b] = await openPair(t)
      const first = await a.append('history', 'from a')
      const second = await b.append('history', 'from b')
      const third = await a.append('history', { from: 'a' })
      const expected = { events: [{ id: first, message: 'from a' }, { id: second, message: 'from b' }, { id: third, message: { from: 'a' } }], complete: true }
      t.strictSame(await b.since('history', first - 1), expected, 'b replays what a appended')
      t.strictSame(await a.since('history', first - 1), expected, 'and a what b appended')
      for (let i = 0; i < MAX_EVENTS; i++) await b.append('history', i)
      const trimmed = await a.since('history', first - 1)
      t.equal(trimmed.events.length, MAX_EVENTS, 'appends on b trimmed the buffer a reads')
      t.equal(trimmed.complete, false, 'and a knows events were dropped')
    })
  })
}
