// RELIABILITY §6 PAR-08: property-based request fuzzing. fast-check builds requests from
// `{ method, path: fc.webPath(), headers: fc.dictionary(token, fc.string({ unit: 'binary' })), body }`
// (plus the framing and header names that matter: Content-Length, Transfer-Encoding, Expect, Connection),
// serialises each to raw bytes and sends it on its own socket to the fixture app in a child process
// started with --expose-gc. Invariants, for every one of the row's 2 000 runs: no 5xx except a deliberate
// 503 (FST_ERR_HANDLER_TIMEOUT); an answer, or a close, within 1 s; a parser error (Fastify's generic
// 400/431) and any `Connection: close` always followed by the close; the process never crashes; and the
// server's heap after GC ends within +20 MB of where it started.
import net from 'node:net'
import t from 'tap'
import fc from 'fast-check'
import { startServerChild } from './helpers/server-child.ts'
import { parseResponses, type RawResponse } from './helpers/raw-http.ts'

const RUNS = 2_000
const ANSWER_WITHIN = 1_000
const CLOSE_WITHIN = 500
const MB = 1024 * 1024
/** Bodies Fastify's default clientErrorHandler writes for llhttp errors before destroying the socket. */
const PARSER_ERROR = /"message":"(Client Error|Exceeded maximum allowed HTTP header size|Client Timeout)"/

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/)
const request = fc.record({
  // Weighted so that about half the requests get past llhttp (unknown methods and control bytes in
  // header values are parser errors) and the rest reach routing, body parsing and the handlers.
  method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'), weight: 4 }, { arbitrary: token, weight: 1 }),
  // Every route except /slow (it answers at handlerTimeout, 1 s, by design) and /big (4 MiB per run).
  path: fc.oneof(fc.webPath(), fc.constantFrom('/', '/count', '/form', '/json', '/upload', '/headers', '/nowhere')),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
  headers: fc.dictionary(
    fc.oneof(token, fc.constantFrom('content-type', 'content-length', 'transfer-encoding', 'expect', 'connection', 'upgrade', 'cookie', 'accept-encoding')),
    fc.oneof(
      { arbitrary: fc.string({ unit: 'binary', maxLength: 64 }), weight: 1 },
      { arbitrary: fc.stringMatching(/^[ -~]{0,64}$/), weight: 3 },
      { arbitrary: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'chunked', 'gzip, chunked', '100-continue', 'close', 'keep-alive', 'upgrade', '0', '-1', '1e3', '99999999999999999999'), weight: 2 }
    ),
    { maxKeys: 6 }
  ),
  body: fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 256 }), fc.json({ maxDepth: 3 })),
  chunked: fc.boolean()
})
type FuzzRequest = typeof request extends fc.Arbitrary<infer R> ? R : never

/** The request as bytes: our own framing (Content-Length or one chunk) comes last, after the fuzzed headers. */
function serialise (r: FuzzRequest): Buffer {
  const body = Buffer.from(r.body, 'utf8')
  const headers = Object.entries(r.headers).map(([name, value]) => Buffer.from(`${name}: ${value}\r\n`, 'utf8'))
  const framing = r.chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${body.length}\r\n`
  const payload = r.chunked ? Buffer.concat([Buffer.from(body.length > 0 ? `${body.length.toString(16)}\r\n` : ''), body, Buffer.from(`${body.length > 0 ? '\r\n' : ''}0\r\n\r\n`)]) : body
  return Buffer.concat([Buffer.from(`${r.method} ${r.path} ${r.version}\r\nHost: localhost\r\n`), ...headers, Buffer.from(`${framing}\r\n`), payload])
}

interface Outcome {
  responses: RawResponse[]
  /** ms to the first final response, or null. */
  answeredAfter: number | null
  /** ms to the close, or null if still open when we stopped. */
  closedAfter: number | null
}

/** Sends `bytes` on a new connection; stops at the first final response (or, when one must close, at the close). */
async function fire (port: number, bytes: Buffer, head: boolean): Promise<Outcome> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const started = performance.now()
  let data = Buffer.alloc(0)
  let answeredAfter: number | null = null
  let closedAfter: number | null = null
  return await new Promise((resolve) => {
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ responses: parseResponses(data, closedAfter !== null, (i) => head && i === 0).filter((r) => r.status >= 200), answeredAfter, closedAfter })
    }
    let timer = setTimeout(finish, ANSWER_WITHIN)
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      const first = parseResponses(data, false, (i) => head && i === 0).find((r) => r.status >= 200)
      if (first === undefined || answeredAfter !== null) return
      answeredAfter = performance.now() - started
      if (!mustClose(first)) return finish()
      clearTimeout(timer)
      timer = setTimeout(finish, CLOSE_WITHIN)
    })
    socket.once('close', () => {
      closedAfter = performance.now() - started
      finish()
    })
    socket.write(bytes)
  })
}

const mustClose = (response: RawResponse): boolean =>
  PARSER_ERROR.test(response.body.toString('latin1')) || /(^|,)\s*close\s*($|,)/i.test(response.headers.connection ?? '')

t.test(`PAR-08 ${RUNS} fuzzed raw requests: no 5xx, an answer or close within 1 s, parser errors close, heap bounded`, async (t) => {
  const child = await startServerChild(t, { exposeGc: true })
  const before = await child.statsAfterGc()
  const statuses = new Map<string, number>()
  let parserErrors = 0
  let closedWithoutAnswer = 0
  let slowest = 0

  await fc.assert(fc.asyncProperty(request, async (r) => {
    const outcome = await fire(child.port, serialise(r), r.method === 'HEAD')
    const first = outcome.responses[0]
    const label = first === undefined ? 'closed, no answer' : String(first.status)
    statuses.set(label, (statuses.get(label) ?? 0) + 1)
    if (!child.alive()) throw new Error(`the server process died:\n${child.output()}`)
    if (first === undefined) {
      if (outcome.closedAfter === null) throw new Error(`neither an answer nor a close within ${ANSWER_WITHIN} ms`)
      closedWithoutAnswer++
      slowest = Math.max(slowest, outcome.closedAfter)
      return
    }
    slowest = Math.max(slowest, outcome.answeredAfter ?? 0)
    for (const response of outcome.responses) {
      const deliberate = response.status === 503 && /FST_ERR_HANDLER_TIMEOUT/.test(response.body.toString('latin1'))
      if (response.status >= 500 && !deliberate) throw new Error(`${response.status}: ${response.body.toString('latin1').slice(0, 200)}`)
    }
    if (PARSER_ERROR.test(first.body.toString('latin1'))) parserErrors++
    if (mustClose(first) && outcome.closedAfter === null) {
      throw new Error(`${first.status} ${first.body.toString('latin1').slice(0, 80)} was not followed by a close within ${CLOSE_WITHIN} ms`)
    }
  }), { numRuns: RUNS })

  const after = await child.statsAfterGc()
  t.comment(`statuses: ${[...statuses].sort().map(([status, count]) => `${status} x${count}`).join(', ')}; ${parserErrors} parser errors; ` +
    `slowest answer ${Math.round(slowest)} ms; heap after GC ${(before.heapUsed / MB).toFixed(1)} -> ${(after.heapUsed / MB).toFixed(1)} MB`)
  t.pass(`${RUNS} runs: no 5xx, every request answered or closed within ${ANSWER_WITHIN} ms, every parser error and Connection: close followed by the close`)
  t.ok(parserErrors > 0 && statuses.has('200'), 'the fuzzer reached both the parser and the routes')
  t.ok(child.alive(), 'the server process is still running')
  t.ok(after.heapUsed <= before.heapUsed + 20 * MB, `heap after GC within +20 MB (${((after.heapUsed - before.heapUsed) / MB).toFixed(1)} MB)`)
  t.equal(after.prototypeNames, before.prototypeNames, 'Object.prototype unchanged in the server')
  t.comment(`${closedWithoutAnswer} requests were closed without an answer (upgrade/CONNECT without a handler)`)
})
