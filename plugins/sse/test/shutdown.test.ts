// Shutdown (RELIABILITY SHU-02 and §5): `app.close()` ends every open stream with `event: shutdown` and a
// `retry:`, then EOF, and resolves quickly; new streams are refused while closing; a client that stopped
// reading cannot hold close() up.
import net from 'node:net'
import t from 'tap'
import { EventSource } from 'eventsource'
import type { SseStream } from '../src/index.js'
import { deferred, eventually, open, serve, settlesWithin, type RawStream } from './helpers.js'

const SHUTDOWN = 'event: shutdown\nretry: 1000\ndata: \n\n'

t.test('SHU-02: 100 open streams; close() ends each with event: shutdown and EOF, quickly', async (t) => {
  let finallies = 0
  const reasons: unknown[] = []
  const { app, base } = await serve(t, {}, {
    routes: (app) => {
      app.get('/topic', (_request, reply) => reply.sse(async (stream) => {
        await stream.subscribe('news', { replay: true })
      }))
      app.get('/generator', (_request, reply) => reply.sse(async function * (stream: SseStream) {
        try {
          yield 'hello'
          await new Promise(resolve => stream.signal.addEventListener('abort', resolve))
          reasons.push(stream.signal.reason)
        } finally {
          finallies++
        }
      }))
      app.get('/waiting', (_request, reply) => reply.sse(async (stream) => {
        stream.comment('open')
        await stream.whenClosed()
      }))
    }
  })
  const clients: RawStream[] = []
  const paths = ['/topic', '/generator', '/waiting']
  for (let i = 0; i < 100; i++) clients.push(await open(base, paths[i % 3] as string))
  t.equal(app.nexSse.streams, 100)
  await app.nexSse.publish('news', 'before shutdown')
  await Promise.all(clients.filter((_, i) => i % 3 === 0).map(async client => await client.until(/before shutdown/)))

  const started = Date.now()
  t.ok(await settlesWithin(app.close(), 2000), `close() resolved (in ${Date.now() - started} ms)`)
  const ends = await Promise.all(clients.map(async client => await client.ended))
  t.ok(ends.every(clean => clean), 'every response ended cleanly (EOF, not a reset)')
  t.equal(clients.filter(client => client.text.endsWith(SHUTDOWN)).length, 100, 'every client got the shutdown event last')
  t.equal(clients.filter(client => client.text.split('event: shutdown').length === 2).length, 100, 'once')
  t.equal(app.nexSse.streams, 0)
  t.ok(await eventually(() => finallies === 33), 'every generator was returned')
  t.same([...new Set(reasons)], ['closed'], 'their signal said why')
})

t.test('the eventsource client sees the shutdown as a named event and takes the retry', async (t) => {
  const { app, base } = await serve(t, { shutdownRetry: 250 }, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => {
      stream.send('hi')
      await stream.whenClosed()
    }))
  })
  const source = new EventSource(`${base}/s`)
  t.teardown(() => source.close())
  const got = deferred<string>()
  source.addEventListener('shutdown', (event) => got.resolve(event.data))
  const hi = deferred()
  source.addEventListener('message', () => hi.resolve())
  await hi.promise
  await app.close()
  t.equal(await got.promise, '', 'event: shutdown with empty data')
})

t.test('shutdownRetry sets the retry of the shutdown event', async (t) => {
  const { app, base } = await serve(t, { shutdownRetry: 0 }, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => { await stream.subscribe('x') }))
  })
  const client = await open(base, '/s')
  await app.close()
  await client.ended
  t.equal(client.text, 'event: shutdown\nretry: 0\ndata: \n\n')
})

t.test('close() with no stream open is immediate', async (t) => {
  const { app, base } = await serve(t, {}, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse((stream) => { stream.send('x') }))
  })
  const client = await open(base, '/s')
  await client.ended
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 500, `close() took ${Date.now() - started} ms`)
})

t.test('while closing, new streams are refused with 503', async (t) => {
  const handlerWaits = deferred()
  const entered = deferred()
  const preCloseRuns = deferred()
  const releasePreClose = deferred()
  const { app, base } = await serve(t, {}, {
    routes: (app) => {
      // Started before the close, asks for a stream after it began.
      app.get('/late', async (_request, reply) => {
        entered.resolve()
        await handlerWaits.promise
        return await reply.sse((stream) => { stream.send('never') })
      })
      app.get('/s', (_request, reply) => reply.sse((stream) => { stream.send('x') }))
      // Another plugin's slow preClose (after @nex/sse's): the server still accepts during it.
      app.addHook('preClose', async () => {
        preCloseRuns.resolve()
        await releasePreClose.promise
      })
    }
  })
  const late = open(base, '/late')
  await entered.promise
  const closing = app.close()
  await preCloseRuns.promise
  const during = await open(base, '/s')
  t.equal(during.status, 503, 'a new request during close')
  handlerWaits.resolve()
  const lateClient = await late
  t.equal(lateClient.status, 503, 'a handler that reaches reply.sse after shutdown began')
  t.equal(lateClient.headers['retry-after'], '5')
  await lateClient.ended
  t.match(JSON.parse(lateClient.text), { code: 'FST_NEX_SSE_CLOSING', message: /shutting down/ })
  releasePreClose.resolve()
  await closing
  t.equal(app.nexSse.streams, 0)
})

t.test('a client that stopped reading does not hold close() up', async (t) => {
  const streams: SseStream[] = []
  const { app, base, port } = await serve(t, {}, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => {
      streams.push(stream)
      stream.comment('open')
      await stream.whenClosed()
    }))
  })
  const reader = await open(base, '/s')
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  await new Promise(resolve => socket.once('connect', resolve))
  socket.pause()
  socket.write(`GET /s HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  t.ok(await eventually(() => streams.length === 2))
  const slow = streams[1] as SseStream
  // Fill the kernel's buffers until bytes wait in the process (under the 1 MiB cap, so it is not dropped).
  const chunk = 'y'.repeat(16 * 1024)
  for (let i = 0; i < 2000 && slow.reply.raw.writableLength === 0; i++) {
    slow.send(chunk)
    await new Promise(resolve => setImmediate(resolve))
  }
  t.ok(slow.reply.raw.writableLength > 0, 'bytes are waiting for the paused client')
  const started = Date.now()
  const closed = await settlesWithin(app.close(), 5000)
  t.ok(closed, `close() resolved (in ${Date.now() - started} ms)`)
  t.ok(Date.now() - started < 3000, 'within the flush grace and a margin')
  // Node's server.close() destroys connections whose request was read and whose response has ended,
  // unsent bytes or not: ending every stream in preClose is what lets it.
  t.ok(slow.reply.raw.socket === null || slow.reply.raw.socket.destroyed, 'the paused client\'s socket was destroyed')
  t.equal(await reader.ended, true, 'the reading client still got a clean end')
  t.ok(reader.text.endsWith(SHUTDOWN))
})
