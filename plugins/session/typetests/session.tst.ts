import { expect, test } from 'tstyche'
import Fastify from 'fastify'
import type { JsonValue, PageStore } from '@nex/state'
import { createMemoryStore } from '@nex/state'
import nexSession, { nexSession as named, type Flashes, type Session, type SessionBackend } from '@nex/session'
import type { Context } from '@nex/routes'

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexSession, { secret: 'x'.repeat(32) })
  expect(app.register).type.toBeCallableWith(named, { store: createMemoryStore(), cookieName: 'sid', secure: true, maxAge: 3_600_000 })
  expect(app.register).type.toBeCallableWith(nexSession, { backend: 'cookie', ttl: 60_000, secret: ['a'.repeat(32), 'b'.repeat(32)] })
  expect(app.register).type.not.toBeCallableWith(nexSession, { backend: 'memory' })
  expect(app.register).type.not.toBeCallableWith(nexSession, { secure: 'yes' })
  expect(app.register).type.not.toBeCallableWith(nexSession, { store: {} })
})

test('decorators a dependent plugin sees', () => {
  const app = Fastify()
  expect(app.nexSession.store).type.toBe<PageStore | null>()
  expect(app.nexSession.backend).type.toBe<SessionBackend>()
  app.get('/', async (request) => {
    expect(request.session).type.toBe<Session>()
    expect(request.session.id).type.toBe<string | null>()
    return null
  })
})

test('session values are JSON, literal fallbacks widen; flashes', async () => {
  const session = {} as Session
  expect(await session.get('visits', 0)).type.toBe<number>()
  expect(await session.get('user')).type.toBe<JsonValue | undefined>()
  expect(await session.update('visits', 0, n => n + 1)).type.toBe<number>()
  expect(session.set).type.not.toBeCallableWith('when', new Date())
  expect(await session.takeFlashes()).type.toBe<Flashes>()
  expect(session.flash).type.toBeCallableWith('info', 'Saved.')
  expect(session.regenerate()).type.toBe<Promise<void>>()
})

test('ctx.session in @nex/routes', () => {
  const ctx = {} as Context
  expect(ctx.session).type.toBe<Session>()
})
