import { expect, test } from 'tstyche'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Buffer } from 'node:buffer'
import type { WebSocket } from 'ws'
import { createMemoryEventLog, type EventLog, type Unsubscribe } from '@nex/pubsub'
import nexWebSocket, { nexWebSocket as named, type NexSocket, type NexWebSocketApi, type WebSocketDefinition } from '@nex/websocket'

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexWebSocket, {})
  expect(app.register).type.toBeCallableWith(named, {
    maxPayload: 1024,
    rateLimit: { messages: 10 },
    allowedOrigins: ['https://example.com'],
    maxConnections: 100,
    maxConnectionsPerIp: 10,
    maxBufferedBytes: 65_536,
    heartbeat: 0,
    closeTimeout: 500,
    topics: createMemoryEventLog()
  })
  expect(app.register).type.toBeCallableWith(nexWebSocket, { rateLimit: false, allowedOrigins: async (origin: string) => origin.endsWith('.example.com') })
  expect(app.register).type.not.toBeCallableWith(nexWebSocket, { allowedOrigins: 'https://example.com' })
  expect(app.register).type.not.toBeCallableWith(nexWebSocket, { rateLimit: true })
  expect(app.register).type.not.toBeCallableWith(nexWebSocket, { topics: {} })
})

test('decorators a dependent plugin sees', () => {
  const app = Fastify()
  expect(app.nexWebSocket).type.toBe<NexWebSocketApi>()
  expect(app.nexTopics).type.toBe<EventLog>()
  expect(app.nexWebSocket.connections).type.toBe<number>()
  expect(app.nexWebSocket.publish('news', { event: 'x', data: { a: 1 } })).type.toBe<Promise<number>>()
  expect(app.nexWebSocket.publish).type.not.toBeCallableWith('news', new Date())
  // What a file-routes plugin writes.
  expect(app.route).type.toBeCallableWith({
    method: 'GET',
    url: '/live',
    websocket: true,
    preValidation: app.nexWebSocket.checkOrigin,
    handler: app.nexWebSocket.handler((socket) => { socket.send('hi') })
  })
  expect(app.nexWebSocket.route('/ws', () => {})).type.toBe<FastifyInstance>()
})

test('definitions and sockets', () => {
  const app = Fastify()
  app.nexWebSocket.route<{ user: string }>('/chat/:room', {
    async open (socket) {
      expect(socket).type.toBe<NexSocket<{ user: string }>>()
      expect(socket.raw).type.toBe<WebSocket>()
      expect(socket.params).type.toBe<Record<string, string>>()
      expect(socket.signal).type.toBe<AbortSignal>()
      expect(await socket.subscribe('room')).type.toBe<Unsubscribe>()
      socket.context = { user: 'ann' }
    },
    message (socket, data, isBinary) {
      expect(data).type.toBe<string | Buffer>()
      expect(isBinary).type.toBe<boolean>()
      expect(socket.context).type.toBe<{ user: string } | undefined>()
      expect(socket.send({ ok: true })).type.toBe<boolean>()
    },
    close (_socket, code, reason) {
      expect(code).type.toBe<number>()
      expect(reason).type.toBe<string>()
    },
    error (_socket, err) {
      expect(err).type.toBe<Error>()
    }
  })
  expect(app.nexWebSocket.route).type.not.toBeCallableWith('/x', { onMessage () {} })
  expect<WebSocketDefinition>().type.toBeAssignableFrom((socket: NexSocket) => { socket.close(1000) })
})
