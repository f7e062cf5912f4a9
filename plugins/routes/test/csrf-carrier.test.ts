// The CSRF token travels like the page id: `ctx.scripts()` puts it in <meta name="csrf-token"> (with the
// header name when it is not the default), `ctx.formFields()` in a hidden field, one token per response.
// The token source is whatever decorates `reply.csrfToken()` and `fastify.nexSecurity.csrf` (@nex/security
// in an app; a stand-in here, so @nex/routes is tested alone).
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import nexState from '@nex/state'
import nexRoutes from '../src/index.js'
import { fixture, SECRET } from './helpers.js'

async function appWithCsrf (t: Test, header: string): Promise<{ app: FastifyInstance, generated: () => number }> {
  const app = Fastify()
  t.teardown(async () => await app.close())
  let generated = 0
  app.decorate('nexSecurity' as never, { csrf: { field: '_csrf', header } } as never)
  app.decorateReply('csrfToken' as never, function csrfToken (this: { tokenOfReply?: string }) {
    this.tokenOfReply ??= `token-${++generated}`
    return this.tokenOfReply
  } as never)
  await app.register(nexState, { secret: SECRET })
  await app.register(nexRoutes, { dir: fixture('app/src') })
  return { app, generated: () => generated }
}

t.test('the meta tag and the hidden field carry the same token', async t => {
  const { app, generated } = await appWithCsrf(t, 'x-csrf-token')
  const page = await app.inject('/counter')
  t.equal(page.statusCode, 200)
  const meta = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1]
  t.equal(meta, 'token-1')
  t.match(page.body, '<input type="hidden" name="_csrf" value="token-1">')
  t.equal(generated(), 1, 'one token per response')
  t.notMatch(page.body, 'data-header', 'the default header is not named')
})

t.test('another header name is named on the meta tag for the client', async t => {
  const { app } = await appWithCsrf(t, 'X-XSRF-Token')
  const page = await app.inject('/counter')
  t.match(page.body, /<meta name="csrf-token" content="token-1" data-header="X-XSRF-Token">/)
})

t.test('without a CSRF source: no meta tag, no field', async t => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(nexState, { secret: SECRET })
  await app.register(nexRoutes, { dir: fixture('app/src') })
  const page = await app.inject('/counter')
  t.notMatch(page.body, 'csrf')
})
