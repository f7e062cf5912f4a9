import { expect, test } from 'tstyche'
import Fastify from 'fastify'
import nexState, { createMemoryStore, type PageState, type PageStore, type JsonValue } from '@nex/state'

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexState, { secret: 'x'.repeat(32), ttl: 1000, maxPages: 10 })
  expect(app.register).type.toBeCallableWith(nexState, { secret: ['a'.repeat(32), 'b'.repeat(32)], store: createMemoryStore() })
  expect(app.register).type.not.toBeCallableWith(nexState, { ttl: '1h' })
  expect(app.register).type.not.toBeCallableWith(nexState, { store: {} })
})

test('decorators a dependent plugin sees', () => {
  const app = Fastify()
  expect(app.nexState.store).type.toBe<PageStore>()
  expect(app.nexState.issuePageId()).type.toBe<string>()
  app.get('/', async (request) => {
    expect(request.pageState).type.toBe<PageState>()
    expect(request.carriedPageId).type.toBe<string | null>()
    expect(request.startPage()).type.toBe<PageState>()
    return null
  })
})

test('state values are JSON, literal fallbacks widen', async () => {
  const state = {} as PageState
  expect(await state.get('n', 0)).type.toBe<number>()
  expect(await state.get('s')).type.toBe<JsonValue | undefined>()
  expect(await state.update('n', 0, n => n + 1)).type.toBe<number>()
  expect(await state.update('todos', [] as Array<{ id: number, text: string }>, list => [...list, { id: 1, text: 'a' }])).type.toBe<Array<{ id: number, text: string }>>()
  expect(state.set).type.not.toBeCallableWith('when', new Date())
  expect(state.set).type.not.toBeCallableWith('fn', () => 1)
  expect(state.set).type.toBeCallableWith('ok', { a: [1, 'b', null, true] })
})
