// One stream on a real socket: headers, the source kinds, errors before and after the first write, what a
// client leaving releases, heartbeats (and the NET-03 regression: heartbeats keep a stream alive across
// Fastify's connectionTimeout), and option validation at register time.
import t from 'tap'
import Fastify from 'fastify'
import { html } from '@nex/html'
import { createMemoryEventLog, createMemoryPubSub } from '@nex/pubsub'
import nexSse, { STREAM_HANDLER, stream as streamHandler, type SseOptions, type SseStream } from '../src/index.js'
import { collectLogs, dataEvents, deferred, eventually, open, parseEvents, serve, sleep } from './helpers.js'

t.test('headers: an event stream nothing buffers or compresses; headers set before streaming are kept', async (t) => {
  let onSendRan = false
  const { base } = await serve(t, {}, {
    routes: (app) => {
      // What a compression plugin does: claims an encoding, then compresses in onSend.
      app.addHook('onRequest', async (_request, reply) => { reply.header('content-encoding', 'gzip') })
      app.addHook('onSend', async () => { onSendRan = true })
      app.get('/s', (_request, reply) => {
        reply.header('x-custom', 'kept')
        reply.header('content-length', '5')
        reply.header('etag', '"abc"')
        return reply.sse(async function * () { yield 'hello' })
      })
    }
  })
  const client = await open(base, '/s', { 'accept-encoding': 'gzip, deflate, br' })
  t.equal(client.status, 200)
  t.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.match(client.headers['cache-control'], /\bno-cache\b/)
  t.equal(client.headers['x-accel-buffering'], 'no')
  t.equal(client.headers['content-encoding'], undefined, 'never compressed (proxies and browsers would buffer)')
  t.equal(client.headers['content-length'], undefined)
  t.equal(client.headers.etag, undefined)
  t.equal(client.headers['transfer-encoding'], 'chunked')
  t.equal(client.headers['x-custom'], 'kept', 'headers set on the reply before streaming are sent')
  t.equal(await client.ended, true)
  t.equal(client.text, 'data: hello\n\n', 'the body is plain text')
  t.notOk(onSendRan, 'onSend hooks do not run for a stream (so they cannot set cookies either)')
})

t.test('an async generator source: each yield is one event, then the stream ends', async (t) => {
  const { app, base } = await serve(t, {}, {
    routes: (app) => {
      app.get('/gen', (_request, reply) => reply.sse(async function * () {
        yield 'one'
        yield { event: 'two', data: { n: 2 } }
        yield html`<li>${'<3'}</li>`
        yield { id: 9, data: 'a\nb' }
        yield { comment: 'just a comment' }
      }))
      // An async iterable passed as is, not a function.
      app.get('/iterable', (_request, reply) => reply.sse((async function * () {
        yield 'a'
        yield 'b'
      })()))
    }
  })
  const client = await open(base, '/gen')
  t.equal(await client.ended, true, 'the response ends cleanly')
  t.equal(client.text, 'data: one\n\nevent: two\ndata: {"n":2}\n\ndata: <li>&lt;3</li>\n\nid: 9\ndata: a\ndata: b\n\n: just a comment\n\n')
  const iterable = await open(base, '/iterable')
  t.equal(await iterable.ended, true)
  t.equal(iterable.text, 'data: a\n\ndata: b\n\n')
  t.equal(app.nexSse.streams, 0)
})

t.test('a function source that returns without subscriptions closes the stream', async (t) => {
  const { app, base } = await serve(t, {}, {
    routes: (app) => {
      app.get('/sync', (_request, reply) => reply.sse((stream) => { stream.send('only') }))
      app.get('/async', (_request, reply) => reply.sse(async (stream) => {
        await sleep(20)
        stream.send({ event: 'late', data: 'x' })
      }))
      app.get('/nothing', (_request, reply) => reply.sse(() => {}))
      app.get('/closes', (_request, reply) => reply.sse(async (stream) => {
        stream.send('first')
        stream.close()
        t.notOk(stream.send('after close'), 'send after close returns false')
        t.notOk(stream.comment('after close'))
        t.ok(stream.signal.aborted, 'the signal of a closed stream is aborted')
        await stream.whenClosed()
      }))
    }
  })
  for (const [path, body] of [['/sync', 'data: only\n\n'], ['/async', 'event: late\ndata: x\n\n'], ['/nothing', ''], ['/closes', 'data: first\n\n']]) {
    const client = await open(base, path as string)
    t.equal(client.status, 200, path as string)
    t.equal(await client.ended, true, `${path as string} ends cleanly`)
    t.equal(client.text, body, `${path as string} body`)
  }
  t.equal(app.nexSse.streams, 0)
})

t.test('a handler failing before the first write answers with the error status', async (t) => {
  const notFound = (): Error => Object.assign(new Error('No such feed'), { statusCode: 404 })
  const { app, base } = await serve(t, {}, {
    routes: (app) => {
      app.get('/async-throw', (_request, reply) => reply.sse(async () => { throw notFound() }))
      app.get('/sync-throw', (_request, reply) => reply.sse(() => { throw notFound() }))
      app.get('/generator-throw', (_request, reply) => reply.sse(async function * () {
        await sleep(5)
        throw notFound()
      }))
      app.get('/bad-event', (_request, reply) => reply.sse(async function * () { yield { event: 'a\nb', data: 'x' } }))
    }
  })
  for (const path of ['/async-throw', '/sync-throw', '/generator-throw']) {
    const response = await fetch(`${base}${path}`)
    t.equal(response.status, 404, path)
    t.match(response.headers.get('content-type'), /application\/json/)
    t.match(await response.json(), { statusCode: 404, message: 'No such feed' })
  }
  const bad = await fetch(`${base}/bad-event`)
  t.equal(bad.status, 500)
  t.match(await bad.json(), { code: 'FST_NEX_SSE_INVALID_FIELD' })
  t.equal(app.nexSse.streams, 0, 'nothing stays registered')
})

t.test('a handler failing after the first write ends the stream and logs the error', async (t) => {
  const logs = collectLogs()
  let finallyRan = false
  const { app, base } = await serve(t, {}, {
    logs,
    routes: (app) => {
      app.get('/late-throw', (_request, reply) => reply.sse(async (stream) => {
        stream.send('first')
        await sleep(20)
        throw new Error('database went away')
      }))
      app.get('/bad-yield', (_request, reply) => reply.sse(async function * () {
        try {
          yield 'fine'
          yield { event: 'bad\r\nname', data: 'x' }
          yield 'never'
        } finally {
          finallyRan = true
        }
      }))
    }
  })
  const client = await open(base, '/late-throw')
  t.equal(client.status, 200)
  t.equal(await client.ended, true, 'the stream ends (the browser reconnects)')
  t.equal(client.text, 'data: first\n\n')
  const logged = logs.lines.find(line => line.msg === '@nex/sse: the stream handler failed; ending the stream')
  t.ok(logged, 'the failure is logged')
  t.equal(logged?.level, 50, 'as an error')
  t.match(logged?.err, { message: 'database went away' })

  const bad = await open(base, '/bad-yield')
  t.equal(await bad.ended, true)
  t.equal(bad.text, 'data: fine\n\n', 'nothing of the refused event is written')
  t.ok(finallyRan, 'the generator was returned: its finally ran')
  t.match(logs.lines.filter(line => line.msg === '@nex/sse: the stream handler failed; ending the stream').at(-1)?.err, { code: 'FST_NEX_SSE_INVALID_FIELD' })
  t.equal(app.nexSse.streams, 0)
})

t.test('a client leaving aborts the signal, returns the generator and releases subscriptions', async (t) => {
  const bus = createMemoryPubSub()
  const topics = createMemoryEventLog({ pubsub: bus })
  t.teardown(async () => {
    await topics.close()
    await bus.close()
  })
  let generatorFinally = false
  let aborted: unknown = null
  let closedResolved = false
  const started = deferred()
  const { app, base } = await serve(t, { topics }, {
    routes: (app) => {
      app.get('/generator', (_request, reply) => reply.sse(async function * (stream: SseStream) {
        try {
          yield 'hello'
          // Waits on something that is not a yield: the signal wakes it.
          await new Promise(resolve => stream.signal.addEventListener('abort', resolve))
          aborted = stream.signal.reason
          yield 'never sent'
        } finally {
          generatorFinally = true
        }
      }))
      app.get('/subscriber', (_request, reply) => reply.sse(async (stream) => {
        await stream.subscribe('room:1')
        await stream.subscribe('room:2', { replay: true })
        started.resolve()
        stream.whenClosed().then(() => { closedResolved = true }, () => {})
      }))
    }
  })
  const generator = await open(base, '/generator')
  await generator.until(/hello/)
  t.equal(app.nexSse.streams, 1)
  generator.close()
  t.ok(await eventually(() => generatorFinally), 'the generator finally ran')
  t.equal(aborted, 'client', 'the signal says why')
  t.ok(await eventually(() => app.nexSse.streams === 0), 'the stream left the registry')

  const subscriber = await open(base, '/subscriber')
  await started.promise
  t.equal(bus.topicCount, 2, 'one bus subscription per topic')
  t.equal(app.nexSse.streams, 1, 'the stream stays open after its handler returned: subscriptions feed it')
  await app.nexSse.publish('room:1', 'still here')
  await subscriber.until(/still here/)
  subscriber.close()
  t.ok(await eventually(() => bus.topicCount === 0), 'the bus subscriptions are gone')
  t.ok(await eventually(() => app.nexSse.streams === 0))
  t.ok(closedResolved, 'whenClosed() resolved')
  await app.nexSse.publish('room:1', 'nobody listens')
  t.equal(bus.topicCount, 0)
})

t.test('unsubscribing the last subscription of a returned handler ends the stream', async (t) => {
  const { app, base } = await serve(t, {}, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => {
      const subscription = await stream.subscribe('t')
      t.equal(subscription.topic, 't')
      t.equal(subscription.replayed, 0)
      t.equal(subscription.complete, true)
      setTimeout(() => subscription.unsubscribe(), 50)
    }))
  })
  const client = await open(base, '/s')
  t.equal(await client.ended, true)
  t.equal(app.nexSse.streams, 0)
})

t.test('stream.lastEventId is the browser\'s Last-Event-ID as a number, or null', async (t) => {
  const seen: Array<number | null> = []
  const { base } = await serve(t, {}, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse((stream) => { seen.push(stream.lastEventId) }))
  })
  for (const header of [undefined, '42', 'abc', '-1']) {
    const client = await open(base, '/s', header === undefined ? {} : { 'last-event-id': header })
    await client.ended
  }
  t.same(seen, [null, 42, null, null])
})

t.test('heartbeats: a silent stream gets a comment about every heartbeat, a busy one gets none', async (t) => {
  const { base } = await serve(t, { heartbeat: 100 }, {
    routes: (app) => {
      app.get('/silent', (_request, reply) => reply.sse(async (stream) => {
        stream.comment('open')
        await stream.whenClosed()
      }))
      app.get('/busy', (_request, reply) => reply.sse(async function * (stream: SseStream) {
        while (!stream.closed) {
          yield 'tick'
          await sleep(10)
        }
      }))
    }
  })
  const silent = await open(base, '/silent')
  const busy = await open(base, '/busy')
  const arrivals: number[] = []
  let seen = 0
  const started = Date.now()
  while (Date.now() - started < 1500) {
    await sleep(5)
    const count = silent.text.split(':\n\n').length - 1
    for (; seen < count; seen++) arrivals.push(Date.now())
  }
  silent.close()
  busy.close()
  t.ok(arrivals.length >= 6 && arrivals.length <= 30, `about 15 heartbeats in 1.5 s (got ${arrivals.length}, at ${arrivals.map(at => at - started).join(', ')} ms)`)
  const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] as number))
  t.ok(Math.max(...gaps) < 500, `no long silence between heartbeats (${gaps.join(', ')} ms)`)
  t.equal(silent.text.split('\n\n').filter(frame => frame !== '' && frame !== ':' && frame !== ': open').length, 0, 'heartbeats are bare `:` comments')
  t.equal(busy.text.split(':\n\n').length - 1, 0, 'a stream that writes gets no heartbeats')
  t.ok(dataEvents(busy.text).length > 10)
})

t.test('NET-03: heartbeats keep a stream open across Fastify connectionTimeout (1 s), for 3.5 s', async (t) => {
  const { app, base } = await serve(t, { heartbeat: 300 }, {
    fastify: { connectionTimeout: 1000 },
    routes: (app) => {
      app.get('/s', (_request, reply) => reply.sse(async (stream) => {
        stream.send('open')
        await stream.whenClosed()
      }))
      // The control: a response that goes silent is cut by the same timeout.
      app.get('/silent', (_request, reply) => {
        reply.hijack()
        reply.raw.writeHead(200, { 'content-type': 'text/plain' })
        reply.raw.write('x')
      })
    }
  })
  const client = await open(base, '/s')
  const control = await open(base, '/silent')
  await sleep(3500)
  t.equal(control.done, true, 'the silent response was cut by connectionTimeout')
  t.equal(client.done, false, 'the event stream is still open')
  t.equal(app.nexSse.streams, 1)
  const heartbeats = client.text.split(':\n\n').length - 1
  t.ok(heartbeats >= 8, `heartbeats flowed (${heartbeats})`)
  t.equal(parseEvents(client.text)[0]?.data, 'open')
  client.close()
})

t.test('a heartbeat not below connectionTimeout is a startup error', async (t) => {
  for (const heartbeat of [1000, 5000]) {
    const app = Fastify({ connectionTimeout: 1000 })
    t.teardown(async () => await app.close())
    await t.rejects(async () => await app.register(nexSse, { heartbeat }).ready(), {
      code: 'FST_NEX_SSE_INVALID_OPTION',
      message: new RegExp(`"heartbeat" must be below the server's connectionTimeout \\(1000 ms\\).*got ${heartbeat}`)
    }, `heartbeat ${heartbeat}`)
  }
  const ok = Fastify({ connectionTimeout: 1000 })
  t.teardown(async () => await ok.close())
  await ok.register(nexSse, { heartbeat: 999 }).ready()
  t.pass('heartbeat below connectionTimeout starts')
  const noTimeout = Fastify()
  t.teardown(async () => await noTimeout.close())
  await noTimeout.register(nexSse, { heartbeat: 60_000 }).ready()
  t.pass('without connectionTimeout any heartbeat starts')
  const defaults = Fastify({ connectionTimeout: 10_000 })
  t.teardown(async () => await defaults.close())
  await t.rejects(async () => await defaults.register(nexSse).ready(), { code: 'FST_NEX_SSE_INVALID_OPTION' }, 'the default heartbeat (15 s) against a 10 s timeout')
})

t.test('options are validated at register time, naming the option, what is allowed and the value', async (t) => {
  const bad: Array<[SseOptions, RegExp]> = [
    [{ heartbeat: 0 }, /"heartbeat" must be an integer ≥ 10, got 0/],
    [{ heartbeat: 9 }, /"heartbeat".*got 9/],
    [{ heartbeat: 1.5 }, /"heartbeat".*got 1.5/],
    [{ heartbeat: true as unknown as number }, /"heartbeat".*got true/],
    [{ heartbeat: '100' as unknown as number }, /"heartbeat".*got "100"/],
    [{ heartbeat: null as unknown as number }, /"heartbeat".*got null/],
    [{ maxBufferedBytes: 100 }, /"maxBufferedBytes" must be an integer ≥ 1024, got 100/],
    [{ maxStreams: 0 }, /"maxStreams" must be an integer ≥ 1/],
    [{ maxStreamsPerIp: -1 }, /"maxStreamsPerIp"/],
    [{ shutdownRetry: -1 }, /"shutdownRetry" must be an integer ≥ 0/],
    [{ retryAfter: Infinity }, /"retryAfter" must be an integer ≥ 0, got Infinity/],
    [{ allowedOrigins: 'any' as never }, /"allowedOrigins" must be "same", an array of origins/],
    [{ allowedOrigins: ['https://example.com/path'] }, /"allowedOrigins".*got an array/],
    [{ allowedOrigins: ['example.com'] }, /"allowedOrigins"/],
    [{ allowedOrigins: [1] as never }, /"allowedOrigins"/],
    [{ topics: {} as never }, /"topics" must be an EventLog/],
    [{ topics: 'redis' as never }, /"topics".*got "redis"/]
  ]
  for (const [options, message] of bad) {
    const app = Fastify()
    t.teardown(async () => await app.close())
    await t.rejects(async () => await app.register(nexSse, options).ready(), { code: 'FST_NEX_SSE_INVALID_OPTION', message }, JSON.stringify(options))
  }
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(nexSse, {
    heartbeat: 10,
    maxBufferedBytes: 1024,
    maxStreams: 1,
    maxStreamsPerIp: 1,
    shutdownRetry: 0,
    retryAfter: 0,
    allowedOrigins: ['https://app.example.com', 'http://localhost:3000']
  }).ready()
  t.pass('the smallest allowed values and an origin list are accepted')
  const fn = Fastify()
  t.teardown(async () => await fn.close())
  await fn.register(nexSse, { allowedOrigins: (origin) => origin.endsWith('.example.com') }).ready()
  t.pass('an origin function is accepted')
})

t.test('stream() marks a handler for file routes; the plugin decorates once', async (t) => {
  const handler = async (_ctx: unknown, stream: SseStream): Promise<void> => { stream.send('x') }
  t.equal(streamHandler(handler), handler, 'the same function')
  t.equal(STREAM_HANDLER, Symbol.for('@nex/sse.handler'), 'a registered symbol (@nex/routes reads it without importing)')
  t.equal((handler as unknown as Record<symbol, unknown>)[STREAM_HANDLER], true)
  t.notOk(Object.keys(handler).length, 'the mark is not enumerable')

  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(nexSse)
  await app.ready()
  t.ok(app.hasReplyDecorator('sse'))
  t.ok(app.hasDecorator('nexSse'))
  t.equal(app.nexTopics, app.nexSse.topics, 'the shared topics log is the app\'s nexTopics')
})

t.test('POST streams work too (htmx streams any request answered with text/event-stream)', async (t) => {
  const { base } = await serve(t, {}, {
    routes: (app) => app.post('/chat', (request, reply) => reply.sse(async function * () {
      const { prompt } = request.body as { prompt: string }
      for (const word of prompt.split(' ')) yield { event: 'token', data: word }
    }))
  })
  const response = await fetch(`${base}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi there' }) })
  t.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(await response.text(), 'event: token\ndata: hi\n\nevent: token\ndata: there\n\n')
})

t.test('a client gone before the first event settles reply.sse(); HEAD gets the headers and no stream', async (t) => {
  const app = Fastify({ forceCloseConnections: true })
  t.teardown(async () => await app.close())
  await app.register(nexSse)
  const state = { settled: false }
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  app.get('/late', async (request, reply) => {
    const answered = reply.sse(async function * () {
      await gate
      yield 'too late'
    }())
    await answered
    state.settled = true
    return answered
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const controller = new AbortController()
  const pending = fetch(`${base}/late`, { signal: controller.signal }).catch(() => null)
  for (let i = 0; i < 100 && app.nexSse.streams === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
  controller.abort()
  await pending
  for (let i = 0; i < 100 && !state.settled; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.ok(state.settled, 'reply.sse() resolved although no header was ever sent')
  t.equal(app.nexSse.streams, 0)
  release()

  const head = await fetch(`${base}/late`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(app.nexSse.streams, 0, 'HEAD opened no stream')
})
