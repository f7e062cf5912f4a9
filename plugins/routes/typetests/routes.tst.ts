import { expect, test } from 'tstyche'
import Fastify from 'fastify'
import type { PageState } from '@nex/state'
import nexRoutes, { type Context, type NexResponse, type RouteListing } from '@nex/routes'

test('plugin options', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(nexRoutes, { dir: '/abs/src' })
  expect(app.register).type.toBeCallableWith(nexRoutes, { dir: '/abs/src', prefix: '/app', dev: false, actionBodyLimit: 1024, htmx: 'htmx2', notFound: false })
  expect(app.register).type.not.toBeCallableWith(nexRoutes, {})
  expect(app.register).type.not.toBeCallableWith(nexRoutes, { dir: '/abs/src', prefix: 1 })
})

test('the route table decorator', () => {
  const app = Fastify()
  expect(app.nexRoutes.routes).type.toBe<RouteListing[]>()
  expect(app.nexRoutes.reload('/abs/src/pages/index.ts')).type.toBe<Promise<boolean>>()
})

test('context: typed params, state, helpers', () => {
  const ctx = {} as Context<{ id: string, slug: string[] }>
  expect(ctx.params.id).type.toBe<string>()
  expect(ctx.params.slug).type.toBe<string[]>()
  expect(ctx.state).type.toBe<PageState>()
  expect(ctx.redirect('/x')).type.toBe<NexResponse>()
  expect(ctx.redirect).type.toBeCallableWith('/x', { status: 303, htmx: 'location' })
  expect(ctx.redirect).type.not.toBeCallableWith('/x', { status: 200 })
  expect(ctx.trigger('saved').reswap('outerHTML').retarget('#x')).type.toBe<Context<{ id: string, slug: string[] }>>()
  expect(ctx.pushUrl).type.toBeCallableWith(false)
})
