import { expect, test } from 'tstyche'
import Fastify from 'fastify'
import { html } from '@nex/html'
import { createMemoryEventLog, type EventLog } from '@nex/pubsub'
import nexSse, { stream, type NexSseApi, type SseStream, type TopicSubscription } from '@nex/sse'

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexSse, {})
  expect(app.register).type.toBeCallableWith(nexSse, {
    topics: createMemoryEventLog(),
    heartbeat: 10_000,
    maxBufferedBytes: 65_536,
    maxStreams: 100,
    maxStreamsPerIp: 10,
    allowedOrigins: ['https://example.com'],
    shutdownRetry: 500,
    retryAfter: 2
  })
  expect(app.register).type.toBeCallableWith(nexSse, { allowedOrigins: (origin: string) => origin.endsWith('.example.com') })
  expect(app.register).type.not.toBeCallableWith(nexSse, { heartbeat: '15s' })
  expect(app.register).type.not.toBeCallableWith(nexSse, { allowedOrigins: 'https://example.com' })
})

test('decorators', () => {
  const app = Fastify()
  expect(app.nexSse).type.toBe<NexSseApi>()
  expect(app.nexTopics).type.toBe<EventLog>()
  expect(app.nexSse.publish('news', 'text')).type.toBe<Promise<number>>()
  expect(app.nexSse.publish('news', html`<b>markup</b>`)).type.toBe<Promise<number>>()
  expect(app.nexSse.publish('news', { event: 'tick', data: { n: 1 } })).type.toBe<Promise<number>>()
  expect(app.nexSse.publish).type.not.toBeCallableWith('news', 42)
})

test('reply.sse sources', () => {
  const app = Fastify()
  app.get('/a', (request, reply) => {
    expect(reply.sse(async (events) => {
      expect(events).type.toBe<SseStream>()
      expect(events.subscribe('news', { replay: true, after: 0 })).type.toBe<Promise<TopicSubscription>>()
      expect(events.send({ event: 'x', data: { n: 1 }, id: 1, retry: 1000 })).type.toBe<boolean>()
      expect(events.send(html`<p>hi</p>`)).type.toBe<boolean>()
      expect(events.signal).type.toBe<AbortSignal>()
    })).type.toBe<Promise<void>>()
    return reply.sse(async function * () { yield 'one' }())
  })
})

test('stream() keeps the handler type', () => {
  const handler = stream(async (ctx: { params: Record<string, string> }, events: SseStream) => { await events.subscribe(ctx.params.room ?? 'lobby') })
  expect(handler).type.toBe<(ctx: { params: Record<string, string> }, events: SseStream) => Promise<void>>()
})
