/**
 * PAR-04 and PAR-07 (RELIABILITY §6) over raw sockets (bytes as written: `inject` and HTTP clients cannot
 * send duplicate Hosts, absolute-form targets or broken escapes), against apps built with the `nex` preset
 * in production: the counter and auth examples, and the fixture app (its `/page/:id` takes a 22-character
 * base64url id, checked by a schema).
 *
 * PAR-04, Host and target confusion (Node accepts all of these, measured 200): duplicate `Host`, `Host: a
 * b/c`, `Host: x:98777`, userinfo or an empty Host, absolute-form `GET http://evil/x`, `/a/../../x`,
 * `/%2e%2e/`, `//evil/x` → 400, without echoing the Host; valid requests (IP, name, IPv6, HTTP/1.0 without
 * Host) → 200. Generated URLs never come from `Host`: the auth example's login redirect under `Host:
 * evil.example` is the path `/login`, and no answer names evil.example.
 *
 * PAR-07, bad URL encoding and long parameters: `/p/%E0%A4%A`, `/foo%`, `/page/%E0%A4%A`, `/page/` + 200
 * characters, `/page/<not a base64url id>` → 400 or 414, an HTML error page (for a browser's Accept), the
 * URL not echoed in it. packages/nex/test/errors.test.ts proves nexErrors' part with a bare app.
 */
import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { exchange, type RawResponse } from './helpers/raw-http.ts'
import { buildExample, buildFixture } from './fixtures/sec-obs/apps.ts'

async function listen (t: Test, app: FastifyInstance): Promise<number> {
  t.teardown(async () => await app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** Sends `head` (request line and headers, without the blank line) and returns the first answer. */
async function send (port: number, head: string): Promise<RawResponse> {
  const { responses } = await exchange(port, `${head}\r\nConnection: close\r\nAccept: text/html\r\n\r\n`, { timeout: 3_000 })
  const response = responses[0]
  if (response === undefined) throw new Error(`no answer to ${JSON.stringify(head)}`)
  return response
}

t.test('PAR-04: Host and target confusion → 400; valid Hosts → 200', async (t) => {
  const port = await listen(t, await buildExample('counter'))
  const host = `127.0.0.1:${port}`
  const attacks: Array<[string, string]> = [
    ['duplicate Host', `GET / HTTP/1.1\r\nHost: ${host}\r\nHost: evil.example`],
    ['duplicate Host, same value', `GET / HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}`],
    ['Host: a b/c', 'GET / HTTP/1.1\r\nHost: a b/c'],
    ['Host: x:98777', 'GET / HTTP/1.1\r\nHost: x:98777'],
    ['Host with userinfo', `GET / HTTP/1.1\r\nHost: evil@${host}`],
    ['Host with a path', 'GET / HTTP/1.1\r\nHost: 127.0.0.1/evil'],
    ['Host with two ports', `GET / HTTP/1.1\r\nHost: ${host}:80`],
    ['empty Host', 'GET / HTTP/1.1\r\nHost: '],
    ['Host with a percent-escape', 'GET / HTTP/1.1\r\nHost: evil%2eexample'],
    ['absolute-form target', `GET http://evil/x HTTP/1.1\r\nHost: ${host}`],
    ['absolute-form target naming the app', `GET http://${host}/ HTTP/1.1\r\nHost: ${host}`],
    ['/a/../../x', `GET /a/../../x HTTP/1.1\r\nHost: ${host}`],
    ['/%2e%2e/', `GET /%2e%2e/ HTTP/1.1\r\nHost: ${host}`],
    ['/./', `GET /./ HTTP/1.1\r\nHost: ${host}`],
    ['//evil/x', `GET //evil/x HTTP/1.1\r\nHost: ${host}`],
    ['/%2F%2Fevil', `GET /%2F%2Fevil HTTP/1.1\r\nHost: ${host}`]
  ]
  for (const [name, head] of attacks) {
    const response = await send(port, head)
    t.equal(response.status, 400, `${name}: 400`)
    t.notMatch(response.body.toString('latin1'), /evil|a b\/c|98777/, `${name}: the input is not echoed`)
  }
  const valid: Array<[string, string]> = [
    ['Host: 127.0.0.1:<port>', `GET / HTTP/1.1\r\nHost: ${host}`],
    ['Host: localhost:<port>', `GET / HTTP/1.1\r\nHost: localhost:${port}`],
    ['Host: 127.0.0.1 (no port)', 'GET / HTTP/1.1\r\nHost: 127.0.0.1'],
    ['Host: [::1]:<port>', `GET / HTTP/1.1\r\nHost: [::1]:${port}`],
    ['Host: a_service (container name)', 'GET / HTTP/1.1\r\nHost: a_service'],
    ['HTTP/1.0 without Host', 'GET / HTTP/1.0'],
    ['a query string with ../ in it', `GET /?next=../../x HTTP/1.1\r\nHost: ${host}`]
  ]
  for (const [name, head] of valid) t.equal((await send(port, head)).status, 200, `${name}: 200`)
})

t.test('PAR-04: generated URLs never come from Host', async (t) => {
  const port = await listen(t, await buildExample('auth'))
  const login = await send(port, 'GET /dashboard HTTP/1.1\r\nHost: evil.example')
  t.equal(login.status, 303, 'an anonymous visit to the dashboard is redirected')
  t.equal(login.headers.location, '/login', 'to the path /login, not a URL built from Host')
  for (const path of ['/', '/login']) {
    const page = await send(port, `GET ${path} HTTP/1.1\r\nHost: evil.example`)
    t.equal(page.status, 200, `${path}: 200`)
    t.notMatch(page.body.toString('latin1'), /evil\.example/, `${path}: the page never names the Host`)
    t.notMatch(JSON.stringify(page.headers), /evil\.example/, `${path}: nor do its headers`)
  }
})

t.test('PAR-07: bad escapes and long or malformed ids → 400/414, an HTML page, the URL not echoed', async (t) => {
  const port = await listen(t, await buildFixture())
  const host = `127.0.0.1:${port}`
  const long = 'A'.repeat(200)
  const cases: Array<[string, number[]]> = [
    ['/p/%E0%A4%A', [400]],
    ['/foo%', [400]],
    ['/page/%E0%A4%A', [400]],
    ['/page/%zz', [400]],
    [`/page/${long}`, [414]],
    ['/page/not-a-valid-id!', [400]],
    ['/page/short', [400]],
    ['/page/%3Cscript%3Ealert(1)%3C%2Fscript%3E', [400]]
  ]
  for (const [path, statuses] of cases) {
    const response = await send(port, `GET ${path} HTTP/1.1\r\nHost: ${host}`)
    const body = response.body.toString('latin1')
    t.ok(statuses.includes(response.status), `${path.slice(0, 40)}: ${response.status}`)
    t.match(response.headers['content-type'] ?? '', /^text\/html/, `${path.slice(0, 40)}: an HTML error page`)
    t.match(body, /^<!doctype html>/i, `${path.slice(0, 40)}: a whole document`)
    const pieces = [path, decodeURIComponentSafe(path), path.slice(path.lastIndexOf('/') + 1), long.slice(0, 50), '<script>', 'not-a-valid-id', '%E0%A4%A', 'foo%']
    t.same(pieces.filter((piece) => piece.length > 3 && body.includes(piece)), [], `${path.slice(0, 40)}: the URL is not echoed`)
  }
  const api = await send(port, `GET /api/items/${long} HTTP/1.1\r\nHost: ${host}`)
  t.same([api.status, api.headers['content-type']], [414, 'application/json; charset=utf-8'], 'an API route: 414 as JSON (API routes answer errors in JSON)')
  t.notMatch(api.body.toString('latin1'), long.slice(0, 50), 'without the URL')
  t.equal((await send(port, `GET /page/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: ${host}`)).status, 200, 'a well-formed id: 200')
})

function decodeURIComponentSafe (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
