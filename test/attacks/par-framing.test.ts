// RELIABILITY §6 PAR-01 (request smuggling through message framing), PAR-02 (header syntax, the Go and
// nginx tables) and PAR-03 (oversized headers, URL, header count, and the exact maxHeaderSize boundary),
// as raw bytes over real sockets to createServer() with the test profile: llhttp decides, not a client
// library. Every smuggling case hides a second request (`GET /count`) behind the first; it must never be
// answered and the /count handler must never run.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildApp, trackConnections } from './fixtures/par-net/app.js'
import { exchange, type Exchange } from './helpers/raw-http.ts'

const { app, stats } = await buildApp()
const tracker = trackConnections(app.server)
await app.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => app.close())
const port = (app.server.address() as AddressInfo).port

const HIDDEN = 'GET /count HTTP/1.1\r\nHost: localhost\r\n\r\n'
const POST = 'POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n'

async function send (raw: string): Promise<Exchange> {
  return await exchange(port, Buffer.from(raw, 'latin1'), { timeout: 1_500 })
}

/** One status, then the connection closed by the server, nothing after it. */
async function refused (t: Test, raw: string, status: number): Promise<Exchange> {
  const result = await send(raw)
  t.equal(result.responses.length, 1, 'exactly one response on the connection')
  t.equal(result.responses[0]?.status, status, `answered ${status}`)
  t.ok(result.closed, `then closed (after ${Math.round(result.closedAfter ?? -1)} ms)`)
  const side = tracker.snapshot().connections.find((connection) => connection.remotePort === result.localPort)
  t.ok(side !== undefined && side.closedAt !== null && !side.clientEnded, 'closed by the server')
  return result
}

t.test('PAR-01 request smuggling through framing: 400 + close, the hidden request is never answered', async (t) => {
  const cases: Record<string, string> = {
    'Content-Length and Transfer-Encoding': `${POST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'Content-Length: 1 and Content-Length: 2': `${POST}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab${HIDDEN}`,
    'Content-Length: 2 twice (equal values)': `${POST}Content-Length: 2\r\nContent-Length: 2\r\n\r\nab${HIDDEN}`,
    'Content-Length: 2, 2 (list)': `${POST}Content-Length: 2, 2\r\n\r\nab${HIDDEN}`,
    'Transfer-Encoding: chunked, identity': `${POST}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'Transfer-Encoding: xchunked': `${POST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'Transfer-Encoding: chunked twice': `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'chunk size zz': `${POST}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'chunk extension with NUL': `${POST}Transfer-Encoding: chunked\r\n\r\n3;\x00\r\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'chunk extension with an unterminated quote': `${POST}Transfer-Encoding: chunked\r\n\r\n3;a="b\r\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'chunk extension after a space': `${POST}Transfer-Encoding: chunked\r\n\r\n3 ;a\r\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'chunk extension ended by a bare LF': `${POST}Transfer-Encoding: chunked\r\n\r\n3;a\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'chunk extension with DEL': `${POST}Transfer-Encoding: chunked\r\n\r\n3;a=\x7f\r\nabc\r\n0\r\n\r\n${HIDDEN}`,
    'Content-Length: -1': `${POST}Content-Length: -1\r\n\r\n${HIDDEN}`,
    'Content-Length: 10^23': `${POST}Content-Length: 100000000000000000000000\r\n\r\n${HIDDEN}`,
    'Content-Length: notdigits': `${POST}Content-Length: notdigits\r\n\r\n${HIDDEN}`,
    'Content-Length: -1 with Transfer-Encoding': `${POST}Content-Length: -1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'Content-Length: 10^23 with Transfer-Encoding': `${POST}Content-Length: 100000000000000000000000\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    'Content-Length: notdigits with Transfer-Encoding': `${POST}Content-Length: notdigits\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`
  }
  for (const [name, raw] of Object.entries(cases)) {
    await t.test(name, async (t) => {
      const result = await refused(t, raw, 400)
      t.match(result.responses[0]?.body.toString(), /"statusCode":400/, 'Fastify\'s generic client error')
    })
  }
  t.equal(stats.counted, 0, 'the /count handler never ran: nothing was smuggled')
  t.equal(stats.handled, 0, 'no handler ran at all')
})

t.test('PAR-01 a malformed body behind valid headers: the app may answer the headers, the smuggled request never', async (t) => {
  // Without a Content-Type, Fastify answers 415 from the headers alone, before llhttp reaches the bad
  // chunk; llhttp's 400 + close follows. Two responses, but neither is for the hidden request.
  const result = await send(`POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n${HIDDEN}`)
  t.same(result.responses.map((response) => response.status), [415, 400], '415 for the headers, then the parser\'s 400')
  t.ok(result.closed, 'then closed')
  t.equal(stats.counted, 0, 'the hidden GET /count was never handled')
})

t.test('PAR-01 the lenient parser is off everywhere', async (t) => {
  t.not((app.server as http.Server & { insecureHTTPParser?: boolean }).insecureHTTPParser, true, 'app.server.insecureHTTPParser is not true')
  t.notOk(process.execArgv.some((flag) => flag.startsWith('--insecure-http-parser')), 'no --insecure-http-parser in process.execArgv')
  t.notMatch(process.env.NODE_OPTIONS ?? '', /--insecure-http-parser/, 'no --insecure-http-parser in NODE_OPTIONS')
})

t.test('PAR-02 header syntax: 400 + close', async (t) => {
  const cases: Record<string, string> = {
    'obs-fold (continuation line)': 'GET /count HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n',
    'bare LF line ends': 'GET /count HTTP/1.1\nHost: localhost\n\n',
    'a bare LF among CRLFs': 'GET /count HTTP/1.1\r\nHost: localhost\nX: y\r\n\r\n',
    'bare CR line ends': 'GET /count HTTP/1.1\rHost: localhost\r\r',
    'bare CR inside a value': 'GET /count HTTP/1.1\r\nHost: localhost\r\nX: a\rb\r\n\r\n',
    'space before the colon (Foo : bar)': 'GET /count HTTP/1.1\r\nHost: localhost\r\nFoo : bar\r\n\r\n',
    'tab before the colon (Foo\\t: bar)': 'GET /count HTTP/1.1\r\nHost: localhost\r\nFoo\t: bar\r\n\r\n',
    'empty header name (: empty)': 'GET /count HTTP/1.1\r\nHost: localhost\r\n: empty\r\n\r\n',
    'NUL in a value': 'GET /count HTTP/1.1\r\nHost: localhost\r\nX: a\x00b\r\n\r\n',
    'DEL (0x7f) in a value': 'GET /count HTTP/1.1\r\nHost: localhost\r\nX: a\x7fb\r\n\r\n',
    '0xff in a name': 'GET /count HTTP/1.1\r\nHost: localhost\r\nX\xff: a\r\n\r\n',
    'HTTP/1.7': 'GET /count HTTP/1.7\r\nHost: localhost\r\n\r\n',
    'method G(T': 'G(T /count HTTP/1.1\r\nHost: localhost\r\n\r\n'
  }
  for (const [name, raw] of Object.entries(cases)) {
    await t.test(name, async (t) => { await refused(t, raw, 400) })
  }
  await t.test('data after Connection: close', async (t) => {
    // The first request is valid: whether its 200 is written before llhttp rejects the bytes after it
    // depends on timing (both seen). The bytes after it are never served.
    const result = await send(`GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n${HIDDEN}`)
    const statuses = result.responses.map((response) => response.status)
    t.ok(statuses.join() === '400' || statuses.join() === '200,400', `400, possibly after the first request's 200 (got ${statuses.join()})`)
    t.ok(result.closed, 'then closed')
  })
  t.equal(stats.counted, 0, 'the /count handler never ran')
})

t.test('PAR-02 high octets (obs-text) in a value are allowed, as in Go', async (t) => {
  const result = await send('GET / HTTP/1.1\r\nHost: localhost\r\nX-Name: caf\xe9 \xff\x80\r\n\r\n')
  t.equal(result.responses[0]?.status, 200)
  t.notOk(result.closed, 'and the connection stays open')
})

/** `GET <url> HTTP/1.1` with Host: x and one header `X: <pad>` so that the bytes Node counts total `counted`. */
function sized (counted: number, url = '/'): string {
  // Node adds up the URL and every header name and value (not the method, the version, separators,
  // line ends or leading whitespace) and answers 431 once the sum reaches maxHeaderSize.
  const fixed = url.length + 'Host'.length + 'x'.length + 'X'.length
  return `GET ${url} HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(counted - fixed)}\r\n\r\n`
}

t.test('PAR-03 oversized header, URL and header count: 431 + close', async (t) => {
  await t.test('a 20 KB header', async (t) => {
    const result = await refused(t, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431)
    t.match(result.responses[0]?.body.toString(), /Exceeded maximum allowed HTTP header size/)
  })
  await t.test('a 20 KB URL', async (t) => { await refused(t, `GET /?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431) })
  await t.test('3 000 headers of 9 counted bytes each', async (t) => {
    const headers = Array.from({ length: 3_000 }, (_, i) => `x-h-${String(i).padStart(4, '0')}: 1\r\n`).join('')
    await refused(t, `GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n`, 431)
  })
})

t.test('PAR-03 3 000 two-byte headers: refused, or accepted with the extra ones dropped', async (t) => {
  // The catalogue's "3 000 headers get 431" depends on their size and on how the bytes arrive: llhttp
  // counts header bytes per parse call, so the same 18 KB request was accepted on one machine (delivered
  // in pieces; 1 023 raw lines kept with server.maxHeadersCount left null, not the documented 2 000) and
  // refused with 431 on another (a fresh CI clone). Either is safe; what must never happen is more header
  // lines reaching the app than the count limit.
  const headers = Array.from({ length: 3_000 }, () => 'a: b\r\n').join('')
  const result = await exchange(port, Buffer.from(`GET /headers HTTP/1.1\r\nHost: x\r\n${headers}\r\n`, 'latin1'), { responses: 1 })
  const status = result.responses[0]?.status
  t.ok(status === 200 || status === 431, `answered 200 or 431 (got ${String(status)})`)
  if (status === 200) {
    const seen = JSON.parse(result.responses[0]?.body.toString() ?? '{}') as { lines: number }
    t.comment(`the app saw ${seen.lines} of 3 001 header lines`)
    t.ok(seen.lines <= 2_000, 'header lines past the count limit (at most 2 000) are dropped, not passed on')
  }
})

t.test('PAR-03 the exact boundary of maxHeaderSize (16 384)', async (t) => {
  const limit = http.maxHeaderSize
  t.equal(limit, 16_384, 'Node\'s default maxHeaderSize')
  t.equal((app.server as http.Server & { maxHeaderSize?: number }).maxHeaderSize ?? limit, limit, 'the server uses it')
  const below = await exchange(port, Buffer.from(sized(limit - 1), 'latin1'), { responses: 1 })
  t.equal(below.responses[0]?.status, 200, `${limit - 1} counted bytes (limit - 1): 200 (the raw request is ${sized(limit - 1).length} bytes)`)
  t.notOk(below.closed, 'kept open')
  await t.test(`${limit} counted bytes (= limit): 431, Node refuses once the count reaches the limit`, async (t) => { await refused(t, sized(limit), 431) })
  await t.test(`${limit + 1} counted bytes (limit + 1): 431`, async (t) => { await refused(t, sized(limit + 1), 431) })
  const longUrl = `/?q=${'u'.repeat(8_000)}`
  const mixed = await exchange(port, Buffer.from(sized(limit - 1, longUrl), 'latin1'), { responses: 1 })
  t.equal(mixed.responses[0]?.status, 200, 'the URL counts toward the same limit: limit - 1 split between URL and header passes')
  await t.test('and limit split between URL and header fails', async (t) => { await refused(t, sized(limit, longUrl), 431) })
})
