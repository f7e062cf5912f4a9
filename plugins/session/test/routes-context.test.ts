// `ctx.session` in @nex/routes' Context: the request's session, or a coded error without this plugin.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Context } from '../../routes/src/context.js'
import nexSession from '../src/index.js'
import { SECRET } from './helpers.js'

const ENV = { prefix: '', assets: null }

function routes (app: FastifyInstance): void {
  app.post('/', async (request, reply) => {
    const ctx = new Context(request, reply, {}, ENV)
    await ctx.session.set('n', 1)
    return { same: ctx.session === request.session, id: ctx.session.id }
  })
}

t.test('ctx.session is request.session', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexSession, { secret: SECRET })
  routes(app)
  const response = await app.inject({ method: 'POST', url: '/' })
  t.equal(response.statusCode, 200)
  const body = JSON.parse(response.body)
  t.equal(body.same, true)
  t.type(body.id, 'string')
})

t.test('without @nex/session: FST_NEX_ROUTES_NO_SESSION', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  routes(app)
  const response = await app.inject({ method: 'POST', url: '/' })
  t.equal(response.statusCode, 500)
  t.equal(JSON.parse(response.body).code, 'FST_NEX_ROUTES_NO_SESSION')
  t.match(JSON.parse(response.body).message, /register it before @nex\/routes: app.register\(nexSession\)/)
})
