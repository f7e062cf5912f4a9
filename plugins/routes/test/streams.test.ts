// Stream handlers in route files, served through @nex/sse on a real socket: API async generators,
// stream()-marked handlers, a page's `stream` export at `?/stream`, and the startup error without @nex/sse.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import nexSse from '@nex/sse'
import nexRoutes from '../src/index.js'
import { fixture } from './helpers.js'

async function listen (t: Test): Promise<{ app: import('fastify').FastifyInstance, base: string }> {
  // fetch (undici) may keep a spare connection that never sends a request; Node's close() waits for such
  // a socket until headersTimeout. Not what these tests are about: destroy every socket at close.
  const app = Fastify({ forceCloseConnections: true })
  t.teardown(async () => await app.close())
  await app.register(nexSse)
  await app.register(nexRoutes, { dir: fixture('streams') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return { app, base: `http://127.0.0.1:${address.port}` }
}

/** Reads a stream until `until` matches what arrived (or it ends). */
async function readUntil (response: Response, until: RegExp): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!until.test(text)) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  await reader.cancel()
  return text
}

t.test('an async generator API method is an event stream; its other methods stay plain', async (t) => {
  const { base } = await listen(t)
  const response = await fetch(`${base}/api/ticks`)
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(await response.text(), 'data: one\n\nevent: named\ndata: {"n":2}\n\n', 'each yield is one event, then the stream ends')
  const post = await fetch(`${base}/api/ticks`, { method: 'POST' })
  t.same(await post.json(), { ok: true })
})

t.test('a stream that fails before its first event answers with the error, as JSON for an API route', async (t) => {
  const { base } = await listen(t)
  const response = await fetch(`${base}/api/ticks?fail=1`)
  t.equal(response.status, 404)
  t.match(response.headers.get('content-type'), /application\/json/)
  t.match(await response.json(), { statusCode: 404, message: 'No such feed' })
})

t.test('a stream()-marked handler gets ctx and the stream, and follows a topic until the client leaves', async (t) => {
  const { app, base } = await listen(t)
  const controller = new AbortController()
  const response = await fetch(`${base}/api/topic/news`, { signal: controller.signal })
  t.equal(response.status, 200)
  t.equal(app.nexSse.streams, 1)
  await app.nexSse.publish('topic:other', 'not for this stream')
  await app.nexSse.publish('topic:news', { event: 'headline', data: 'Nex ships SSE' })
  const text = await readUntil(response, /headline/)
  t.equal(text, 'event: headline\ndata: Nex ships SSE\n\n')
  controller.abort()
  for (let i = 0; i < 100 && app.nexSse.streams > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(app.nexSse.streams, 0, 'the stream is released when the client leaves')
})

t.test('a page stream export is served at <page url>?/stream with the page params; the page itself is unchanged', async (t) => {
  const { base } = await listen(t)
  const stream = await fetch(`${base}/rooms/lobby?/stream`)
  t.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(await stream.text(), 'data: <p>welcome to lobby</p>\n\n')
  const page = await fetch(`${base}/rooms/lobby`)
  t.match(page.headers.get('content-type'), /text\/html/)
  t.match(await page.text(), '<h1>Room lobby</h1>')
  const other = await fetch(`${base}/rooms/lobby?/streamed`)
  t.match(other.headers.get('content-type'), /text\/html/, 'only ?/stream exactly selects the stream')
  const home = await fetch(`${base}/?/stream`)
  t.match(home.headers.get('content-type'), /text\/html/, 'a page without a stream export renders as usual')
})

t.test('stream handlers without @nex/sse fail at startup, naming the file', async (t) => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  app.register(nexRoutes, { dir: fixture('streams-no-sse') })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_NEX_ROUTES_NO_SSE', message: /api\/feed\.ts/ })
})
