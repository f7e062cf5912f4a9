// Limits: stream caps in total and per client IP (503 + Retry-After), the Origin check (403), and clients
// that stop reading (RELIABILITY MEM-05): dropped past maxBufferedBytes, or when nothing drains for two
// heartbeats, with server memory bounded; clients that read keep their streams through it all.
import http from 'node:http'
import net from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { SseOptions, SseStream } from '../src/index.js'
import { collectLogs, dataEvents, eventually, open, serve, sleep, type RawStream } from './helpers.js'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** `/s` keeps a stream open (after one comment) until the client leaves; `opened` counts handler runs. */
async function serveOpen (t: Test, options: SseOptions, fastify = {}): Promise<{ app: FastifyInstance, base: string, port: number, opened: () => number }> {
  let opened = 0
  const served = await serve(t, options, {
    fastify,
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => {
      opened++
      stream.comment('open')
      await stream.whenClosed()
    }))
  })
  return { ...served, opened: () => opened }
}

async function refusal (client: RawStream): Promise<Record<string, unknown>> {
  await client.ended
  return JSON.parse(client.text) as Record<string, unknown>
}

t.test('maxStreams: 503 with Retry-After past the cap, admitted again once a stream closes', async (t) => {
  const { app, base } = await serveOpen(t, { maxStreams: 2, retryAfter: 7 })
  const a = await open(base, '/s')
  const b = await open(base, '/s')
  t.teardown(() => { a.close(); b.close() })
  t.equal(a.status, 200)
  t.equal(b.status, 200)
  const refused = await open(base, '/s')
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '7')
  t.match(await refusal(refused), { code: 'FST_NEX_SSE_TOO_MANY_STREAMS', message: /too many open event streams \(server limit 2\)/ })
  t.equal(app.nexSse.streams, 2, 'a refused request holds no stream')
  a.close()
  t.ok(await eventually(() => app.nexSse.streams === 1))
  const again = await open(base, '/s')
  t.teardown(() => again.close())
  t.equal(again.status, 200, 'admitted once another stream closed')
  await again.until(/: open/)
})

t.test('maxStreamsPerIp: 503 for one client IP, others still admitted', async (t) => {
  const { app, base } = await serveOpen(t, { maxStreamsPerIp: 2 })
  const clients = [await open(base, '/s'), await open(base, '/s')]
  t.teardown(() => { for (const client of clients) client.close() })
  const refused = await open(base, '/s')
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5', 'the default retryAfter')
  t.match(await refusal(refused), { code: 'FST_NEX_SSE_TOO_MANY_STREAMS', message: /per-client limit 2/ })
  // Another loopback address is another client.
  const other = await open(base, '/s', {}, { localAddress: '127.0.0.2' })
  clients.push(other)
  t.equal(other.status, 200, 'another IP is admitted')
  clients[0]?.close()
  t.ok(await eventually(() => app.nexSse.streams === 2))
  const again = await open(base, '/s')
  clients.push(again)
  t.equal(again.status, 200, 'the first IP is admitted again after one of its streams closed')
})

t.test('maxStreamsPerIp counts request.ip: behind a proxy (trustProxy), each forwarded client', async (t) => {
  const { base } = await serveOpen(t, { maxStreamsPerIp: 1 }, { trustProxy: true })
  const a = await open(base, '/s', { 'x-forwarded-for': '203.0.113.1' })
  const b = await open(base, '/s', { 'x-forwarded-for': '203.0.113.2' })
  const c = await open(base, '/s', { 'x-forwarded-for': '203.0.113.1' })
  t.teardown(() => { a.close(); b.close(); c.close() })
  t.same([a.status, b.status, c.status], [200, 200, 503])
})

t.test('origin check: cross-site requests get 403, same-origin and non-browser clients are served', async (t) => {
  const { app, base, port, opened } = await serveOpen(t, {})
  const self = `http://127.0.0.1:${port}`
  const cases: Array<[string, Record<string, string>, number]> = [
    ['another origin', { origin: 'http://evil.example' }, 403],
    ['another port of this host', { origin: 'http://127.0.0.1:1' }, 403],
    ['an opaque origin', { origin: 'null' }, 403],
    ['cross-site without Origin', { 'sec-fetch-site': 'cross-site' }, 403],
    ['this origin', { origin: self }, 200],
    ['this origin with Sec-Fetch-Site', { origin: self, 'sec-fetch-site': 'same-origin' }, 200],
    ['same-origin without Origin', { 'sec-fetch-site': 'same-origin' }, 200],
    ['a non-browser client (no Origin, no Sec-Fetch-Site)', {}, 200]
  ]
  for (const [name, headers, status] of cases) {
    const client = await open(base, '/s', headers)
    t.equal(client.status, status, name)
    if (status === 403) t.match(await refusal(client), { code: 'FST_NEX_SSE_FORBIDDEN_ORIGIN', statusCode: 403, message: /allowedOrigins/ }, name)
    client.close()
  }
  t.equal(opened(), 4, 'refused requests never ran the stream handler')
  t.ok(await eventually(() => app.nexSse.streams === 0))
})

t.test('allowedOrigins: a list or a function adds origins; the page\'s own stays allowed', async (t) => {
  for (const allowedOrigins of [['http://app.example', 'https://admin.example'], (origin: string) => origin.endsWith('.example') && !origin.includes('evil')]) {
    const { base, port } = await serveOpen(t, { allowedOrigins })
    for (const [origin, status] of [['http://app.example', 200], ['https://admin.example', 200], ['http://evil.example', 403], [`http://127.0.0.1:${port}`, 200]] as const) {
      const client = await open(base, '/s', { origin })
      t.equal(client.status, status, `${typeof allowedOrigins === 'function' ? 'function' : 'list'}: ${origin}`)
      client.close()
    }
  }
})

/** A client that sends the request and never reads a byte of the answer (its socket is paused). */
async function pausedClient (port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise(resolve => socket.once('connect', resolve))
  socket.pause()
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`)
  return socket
}

/**
 * A client that reads `/flood` and keeps only what it checks (events `<n> xxx…` arrive as 0, 1, 2, …), so
 * the test process does not hold what was broadcast.
 */
async function countingReader (base: string): Promise<{ count: () => number, inOrder: () => boolean, connected: () => boolean, close: () => void }> {
  let count = 0
  let inOrder = true
  let rest = ''
  const request = http.get(`${base}/flood`, { agent: false })
  let connected = true
  await new Promise<void>((resolve, reject) => {
    request.once('error', reject)
    request.once('response', (res) => {
      res.setEncoding('latin1')
      res.on('data', (chunk: string) => {
        const frames = (rest + chunk).split('\n\n')
        rest = frames.pop() as string
        for (const frame of frames) {
          if (!frame.startsWith('data: ')) continue
          if (Number(frame.slice(6, frame.indexOf(' ', 6))) !== count) inOrder = false
          count++
        }
      })
      res.once('close', () => { connected = false })
      resolve()
    })
  })
  return { count: () => count, inOrder: () => inOrder, connected: () => connected, close: () => request.destroy() }
}

/** Heap and buffers still reachable after a full collection (the GC is exposed at runtime for this). */
function liveMemory (): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

t.test('MEM-05: a client that stops reading is dropped past maxBufferedBytes; memory stays bounded', async (t) => {
  const logs = collectLogs()
  const streams: SseStream[] = []
  const maxBufferedBytes = 64 * 1024
  const { app, base, port } = await serve(t, { maxBufferedBytes }, {
    logs,
    routes: (app) => app.get('/flood', (_request, reply) => reply.sse(async (stream) => {
      streams.push(stream)
      await stream.subscribe('flood')
    }))
  })
  const reader = await countingReader(base)
  t.teardown(() => reader.close())
  t.ok(await eventually(() => app.nexSse.streams === 1))
  const slow = await pausedClient(port, '/flood')
  t.teardown(() => slow.destroy())
  t.ok(await eventually(() => app.nexSse.streams === 2), 'both streams are open')
  const slowStream = streams.at(-1) as SseStream

  const memoryBefore = liveMemory()
  const event = 'x'.repeat(1000)
  let published = 0
  let publishedBytes = 0
  let droppedAt = -1
  let maxWaiting = 0
  // 1 KB events, 32 every 2 ms: a buffer without a cap would grow by all of it.
  const flood = setInterval(() => {
    if (!slowStream.closed) maxWaiting = Math.max(maxWaiting, slowStream.reply.raw.writableLength)
    else if (droppedAt === -1) droppedAt = publishedBytes
    for (let i = 0; i < 32; i++) {
      app.nexSse.publish('flood', `${published++} ${event}`).catch(() => {})
      publishedBytes += 1000
    }
  }, 2)
  t.teardown(() => clearInterval(flood))
  t.ok(await eventually(() => droppedAt !== -1, 15_000), 'the slow client was dropped')
  // Keep broadcasting well past the drop: what the slow client would have held without the cap.
  await eventually(() => publishedBytes - droppedAt > 64 * 1024 * 1024, 20_000)
  clearInterval(flood)
  await sleep(50)
  // Live memory after a full GC (RSS of this busy process mostly measures garbage not yet collected): an
  // uncapped buffer would still hold the 64 MB broadcast after the drop.
  const growth = liveMemory() - memoryBefore
  t.ok(growth < 16 * 1024 * 1024, `live memory grew ${(growth / 1048576).toFixed(1)} MB while ${(publishedBytes / 1048576).toFixed(0)} MB were broadcast, ${((publishedBytes - droppedAt) / 1048576).toFixed(0)} MB after the drop`)
  // What waited for the slow client: the cap plus at most one round of events (sent before it is measured).
  t.ok(maxWaiting < maxBufferedBytes + 64 * 1024, `the slow client's backlog stayed near the cap (at most ${maxWaiting} bytes seen)`)

  const dropped = logs.lines.filter(line => line.msg === '@nex/sse: dropped an event stream')
  t.equal(dropped.length, 1, 'only the slow client was dropped')
  t.equal(dropped[0]?.reason, 'slow client: more than maxBufferedBytes waiting to be sent')
  t.equal(app.nexSse.streams, 1, 'server side: the slow stream left the registry')
  const connections = async (): Promise<number> => await new Promise(resolve => app.server.getConnections((_error, count) => resolve(count)))
  let remaining = -1
  for (let i = 0; i < 200 && (remaining = await connections()) !== 1; i++) await sleep(10)
  t.equal(remaining, 1, 'server side: the slow client\'s socket is closed, only the reader\'s remains')

  // The reading client kept up and got everything, in order.
  t.ok(await eventually(() => reader.count() === published, 10_000), `the reader got every event (${reader.count()} of ${published})`)
  t.ok(reader.inOrder(), 'in order')
  t.ok(reader.connected(), 'and is still connected')
})

t.test('a client whose backlog does not drain for two heartbeats is dropped, even under maxBufferedBytes', async (t) => {
  const logs = collectLogs()
  const streams = new Map<string, SseStream>()
  const { app, base, port } = await serve(t, { heartbeat: 40 }, {
    logs,
    routes: (app) => app.get('/s', (request, reply) => reply.sse(async (stream) => {
      streams.set((request.query as { who: string }).who, stream)
      stream.comment('open')
      await stream.whenClosed()
    }))
  })
  const idle = await open(base, '/s?who=idle')
  t.teardown(() => idle.close())
  const slow = await pausedClient(port, '/s?who=slow')
  t.teardown(() => slow.destroy())
  t.ok(await eventually(() => streams.size === 2))
  const stream = streams.get('slow') as SseStream
  // Fill the kernel's buffers until bytes start waiting in the process: far below the 1 MiB cap.
  const chunk = 'y'.repeat(16 * 1024)
  for (let i = 0; i < 2000 && !stream.closed; i++) {
    stream.send(chunk)
    await new Promise(resolve => setImmediate(resolve))
    if (stream.reply.raw.writableLength > 0) break
  }
  const waiting = stream.reply.raw.writableLength
  t.ok(waiting > 0 && waiting < 1024 * 1024, `bytes are waiting (${waiting}), under maxBufferedBytes`)
  t.ok(await eventually(() => stream.closed, 5000), 'dropped')
  t.match(logs.lines.find(line => line.msg === '@nex/sse: dropped an event stream'), { reason: 'slow client: nothing it was sent drained for two heartbeats' })
  await sleep(200)
  t.notOk(streams.get('idle')?.closed, 'an idle client that reads is never dropped')
  t.equal(app.nexSse.streams, 1)
  t.ok(idle.text.split(':\n\n').length > 3, 'it got heartbeats meanwhile')
})

t.test('a burst larger than maxBufferedBytes does not drop a client that reads', async (t) => {
  const logs = collectLogs()
  const { app, base } = await serve(t, { maxBufferedBytes: 64 * 1024 }, {
    logs,
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => { await stream.subscribe('burst') }))
  })
  const client = await open(base, '/s')
  t.teardown(() => client.close())
  // 200 KB in one delivery round: Node holds it corked until the next tick, then the socket takes it.
  const event = 'z'.repeat(1024)
  await Promise.all(Array.from({ length: 200 }, (_, i) => app.nexSse.publish('burst', `${i} ${event}`)))
  await client.until(text => text.includes('data: 199 '))
  t.equal(dataEvents(client.text).length, 200)
  t.equal(app.nexSse.streams, 1)
  t.notOk(logs.lines.some(line => line.msg === '@nex/sse: dropped an event stream'))
})
