// Routes whose context was created before @nex/session (a plugin with its own routes registered first,
// like health or metrics routes) lack its request decorators: Fastify copies value decorators into a
// child context when the context is created. The plugin's hooks still run for them and must not crash
// (they did: "Cannot read properties of undefined (reading 'id')", a 500 on every such route).
import t from 'tap'
import Fastify from 'fastify'
import nexSession from '../src/index.js'
import { SECRET } from './helpers.js'

for (const backend of ['store', 'cookie'] as const) {
  t.test(`${backend} backend: a route registered before the plugin answers, with and without a session cookie`, async t => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(async function early (child) {
      child.get('/early', async () => 'early')
    })
    await app.register(nexSession, { secret: SECRET, backend })
    app.get('/login', async (request) => {
      await request.session.set('user', 'ada')
      return 'in'
    })
    const login = await app.inject('/login')
    t.equal(login.statusCode, 200)
    const cookie = [login.headers['set-cookie'] ?? []].flat().map(line => String(line).split(';')[0]).join('; ')
    t.ok(cookie.length > 0, 'a session cookie')
    t.equal((await app.inject('/early')).statusCode, 200, 'without a cookie')
    const early = await app.inject({ url: '/early', headers: { cookie } })
    t.equal(early.statusCode, 200, 'with the session cookie')
    t.equal(early.body, 'early')
  })
}
