// Compression (nexCompression): large HTML compressed (br when accepted, gzip otherwise) with
// `Vary: Accept-Encoding`; small bodies, event streams (raw and through @nex/sse), already-encoded
// bodies, `no-transform`, 304s and routes with `compress: false` left alone; static files by their
// Content-Length; options checked at register.
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import nexSse from '@nex/sse'
import { nexCompression } from '../src/compression.js'
import { nexStatic } from '../src/static-files.js'
import type { CompressionOptions } from '../src/compression-options.js'

const LARGE = `<!doctype html><html><body><ul>${Array.from({ length: 200 }, (_, i) => `<li id="todo-${i}">item ${i}</li>`).join('')}</ul></body></html>`
const SMALL = '<!doctype html><html><body><div id="count">1</div></body></html>'
const EVENTS = Array.from({ length: 200 }, (_, i) => `data: event ${i}\n\n`).join('')

async function buildApp (t: Test, options: CompressionOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/before', async (_request, reply) => reply.type('text/html').send(LARGE)) // added before the plugin
  await app.register(nexCompression, options)
  app.get('/large', async (_request, reply) => reply.type('text/html; charset=utf-8').send(LARGE))
  app.get('/small', async (_request, reply) => reply.type('text/html; charset=utf-8').send(SMALL))
  app.get('/json', async () => ({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, title: `item ${i}` })) }))
  app.get('/events', async (_request, reply) => reply.type('text/event-stream').send(EVENTS))
  app.get('/encoded', async (_request, reply) => reply.type('text/html').header('content-encoding', 'gzip').send(gzipSync(LARGE)))
  app.get('/no-transform', async (_request, reply) => reply.type('text/html').header('cache-control', 'no-transform').send(LARGE))
  app.get('/binary', async (_request, reply) => reply.type('application/octet-stream').send(Buffer.alloc(5000, 1)))
  app.get('/off', { compress: false }, async (_request, reply) => reply.type('text/html').send(LARGE))
  app.get('/not-modified', async (_request, reply) => reply.code(304).send())
  app.get('/buffer', async (_request, reply) => reply.type('text/plain').send(Buffer.from(LARGE)))
  app.get('/low', { compress: { threshold: 10 } }, async (_request, reply) => reply.type('text/html').send(SMALL))
  return app
}

const BR = { 'accept-encoding': 'gzip, deflate, br' }
const GZIP = { 'accept-encoding': 'gzip' }

t.test('large HTML: br when accepted, gzip otherwise, identity without Accept-Encoding; Vary: Accept-Encoding', async (t) => {
  const app = await buildApp(t)
  const br = await app.inject({ url: '/large', headers: BR })
  t.equal(br.statusCode, 200)
  t.equal(br.headers['content-encoding'], 'br')
  t.match(br.headers.vary, /accept-encoding/i)
  t.equal(brotliDecompressSync(br.rawPayload).toString(), LARGE)
  t.ok(br.rawPayload.length < LARGE.length / 4, `br: ${LARGE.length} → ${br.rawPayload.length} bytes`)
  t.equal(Number(br.headers['content-length']), br.rawPayload.length)

  const gzip = await app.inject({ url: '/large', headers: GZIP })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.match(gzip.headers.vary, /accept-encoding/i)
  t.equal(gunzipSync(gzip.rawPayload).toString(), LARGE)

  const none = await app.inject({ url: '/large' })
  t.equal(none.headers['content-encoding'], undefined)
  t.equal(none.body, LARGE)
  const identity = await app.inject({ url: '/large', headers: { 'accept-encoding': 'identity' } })
  t.equal(identity.headers['content-encoding'], undefined)

  const json = await app.inject({ url: '/json', headers: BR })
  t.equal(json.headers['content-encoding'], 'br', 'JSON too')
  const buffer = await app.inject({ url: '/buffer', headers: GZIP })
  t.equal(buffer.headers['content-encoding'], 'gzip', 'a Buffer body too')
})

t.test('left alone: small bodies, event streams, encoded bodies, no-transform, binary, 304, compress: false', async (t) => {
  const app = await buildApp(t)
  const small = await app.inject({ url: '/small', headers: BR })
  t.equal(small.headers['content-encoding'], undefined, 'under the threshold')
  t.equal(small.headers.vary, undefined)
  t.equal(small.body, SMALL)

  const events = await app.inject({ url: '/events', headers: BR })
  t.equal(events.headers['content-encoding'], undefined, 'text/event-stream')
  t.equal(events.body, EVENTS)

  const encoded = await app.inject({ url: '/encoded', headers: BR })
  t.equal(encoded.headers['content-encoding'], 'gzip', 'already encoded: kept as sent')
  t.equal(gunzipSync(encoded.rawPayload).toString(), LARGE)

  const noTransform = await app.inject({ url: '/no-transform', headers: BR })
  t.equal(noTransform.headers['content-encoding'], undefined, 'Cache-Control: no-transform')
  t.equal(noTransform.body, LARGE)

  t.equal((await app.inject({ url: '/binary', headers: BR })).headers['content-encoding'], undefined, 'application/octet-stream')
  t.equal((await app.inject({ url: '/off', headers: BR })).headers['content-encoding'], undefined, 'route option compress: false')
  t.equal((await app.inject({ url: '/before', headers: BR })).headers['content-encoding'], undefined, 'a route added before the plugin')
  const notModified = await app.inject({ url: '/not-modified', headers: BR })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.headers['content-encoding'], undefined)

  t.equal((await app.inject({ url: '/low', headers: BR })).headers['content-encoding'], 'br', "a route's own threshold is honoured")
  const raised = await buildApp(t, { threshold: 100_000 })
  t.equal((await raised.inject({ url: '/large', headers: BR })).headers['content-encoding'], undefined, 'threshold option')
  const gzipOnly = await buildApp(t, { encodings: ['gzip'] })
  t.equal((await gzipOnly.inject({ url: '/large', headers: BR })).headers['content-encoding'], 'gzip', 'encodings option')
})

t.test('an SSE stream from @nex/sse is never compressed', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexCompression)
  await app.register(nexSse)
  app.get('/stream', async (_request, reply) => {
    await (reply as unknown as { sse: (source: () => AsyncGenerator<string>) => Promise<void> }).sse(async function * () {
      yield 'x'.repeat(4000)
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path: '/stream', headers: BR }, resolve).on('error', reject)
  })
  let body = ''
  res.setEncoding('utf8')
  for await (const chunk of res) {
    body += chunk as string
    if (body.includes('x'.repeat(4000))) break
  }
  res.destroy()
  t.match(res.headers['content-type'], /^text\/event-stream/)
  t.equal(res.headers['content-encoding'], undefined)
  t.match(body, /data: x{4000}/)
})

t.test('static files: compressed by Content-Length over the threshold; 304s untouched', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'nex-compress-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  writeFileSync(join(root, 'big.js'), 'console.log(1);\n'.repeat(500))
  writeFileSync(join(root, 'tiny.js'), 'console.log(1)\n')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexCompression)
  await app.register(nexStatic, { root })
  const big = await app.inject({ url: '/big.js', headers: BR })
  t.equal(big.headers['content-encoding'], 'br')
  t.equal(brotliDecompressSync(big.rawPayload).toString(), 'console.log(1);\n'.repeat(500))
  const tiny = await app.inject({ url: '/tiny.js', headers: BR })
  t.equal(tiny.headers['content-encoding'], undefined)
  t.equal(tiny.body, 'console.log(1)\n')
  const again = await app.inject({ url: '/big.js', headers: { ...BR, 'if-none-match': big.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal(again.headers['content-encoding'], undefined)
})

t.test('options are checked at register', async (t) => {
  const cases: Array<[CompressionOptions, RegExp]> = [
    [{ threshold: -1 }, /"threshold" must be a whole number from 0/],
    [{ threshold: 1.5 }, /"threshold"/],
    [{ encodings: [] }, /"encodings" must be a non-empty array of "br" and "gzip"/],
    [{ encodings: ['deflate' as 'gzip'] }, /"encodings"/],
    [{ brotliQuality: 12 }, /"brotliQuality" must be a whole number from 0 to 11/],
    [{ gzipLevel: 0 }, /"gzipLevel" must be a whole number from 1 to 9/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(nexCompression, options) }, { code: 'FST_NEX_COMPRESS_INVALID_OPTION', message }, JSON.stringify(options))
  }
})
