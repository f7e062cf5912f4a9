// The reference of bench/overhead.js: a Fastify app with a page-like route and an API route.
import Fastify from 'fastify'

export function routes (app) {
  app.get('/users/:id', async (request, reply) => {
    reply.type('text/html; charset=utf-8')
    return `<!doctype html><html><body><h1>User ${Number(request.params.id)}</h1></body></html>`
  })
}

export async function create () {
  const app = Fastify({ logger: false })
  routes(app)
  return app
}
