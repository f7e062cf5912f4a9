/**
 * SEC-10 (RELIABILITY §6, §4.1): cross-site WebSocket hijacking and live reload in production, over raw
 * sockets against apps built with the `nex` preset in production. No example has a WebSocket (the chat
 * streams over SSE), so the fixture app's `api/live.ts` (a file route's `socket` export on @nex/websocket)
 * is the target; plugins/websocket/test/origin.test.ts proves the check on the bare plugin.
 *
 * - Upgrades from a page of another origin (`http://evil`, `null`, the same host on another port, a
 *   look-alike host) → 403, and the socket is never opened; from the app's own origin → 101 and the socket
 *   says hello; without `Origin` (not a browser) → 101, as documented.
 * - A DNS-rebinding page (`Host` and `Origin` both `evil.example:<port>`) passes an Origin check that
 *   compares with Host: with `security.allowedHosts` set it is refused with 421 before the upgrade. The
 *   preset's default (no `allowedHosts`) lets it through: written down as a comment, not asserted.
 * - SSE: the chat example's room stream refuses a foreign Origin with 403 (@nex/sse checks it too), serves
 *   its own origin, and never sends CORS headers, so no other site's page could read it anyway.
 * - Live reload: Nex has none yet. `/__livereload` (and the other usual paths), plain and as a WebSocket
 *   upgrade, are 404 in production, and in development too.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { connect, type AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { exchange } from './helpers/raw-http.ts'
import { buildExample, buildFixture, SECRET } from './fixtures/sec-obs/apps.ts'

async function listen (t: Test, app: FastifyInstance): Promise<number> {
  t.teardown(async () => await app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** A WebSocket upgrade request, byte for byte; resolves with the status of the answer's head (101 or a refusal). */
async function upgrade (port: number, path: string, headers: Record<string, string>): Promise<{ status: number }> {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${headers.host ?? `127.0.0.1:${port}`}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).filter(([name]) => name !== 'host').map(([name, value]) => `${name}: ${value}`)
  ]
  const { status } = await streamHead(port, `${lines.join('\r\n')}\r\n\r\n`)
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(status)?.[1] ?? 0) }
}

/**
 * The status line and headers of an answer, read from its first bytes: it works for answers that never
 * end (an event stream, an upgraded socket) and for those that do.
 */
async function streamHead (port: number, request: string): Promise<{ status: string, headers: string[] }> {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.setEncoding('latin1').on('data', (chunk: string) => { data += chunk })
  socket.on('error', () => {})
  socket.write(request)
  const end = performance.now() + 3_000
  while (!data.includes('\r\n\r\n') && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
  socket.destroy()
  const [status = '', ...headers] = data.slice(0, data.indexOf('\r\n\r\n')).split('\r\n')
  return { status, headers: headers.map((line) => line.toLowerCase()) }
}

t.test('WebSocket upgrades: a foreign Origin gets 403 and no socket; the own origin gets 101', async (t) => {
  const port = await listen(t, await buildFixture())
  const own = `http://127.0.0.1:${port}`
  for (const origin of ['http://evil', 'null', `http://127.0.0.1:${port + 1}`, `http://127.0.0.1.evil.example:${port}`, `http://evil.example:${port}`, 'https://evil']) {
    const { status } = await upgrade(port, '/api/live', { Origin: origin })
    t.equal(status, 403, `Origin ${origin}: 403`)
  }
  const ok = await upgrade(port, '/api/live', { Origin: own })
  t.equal(ok.status, 101, `Origin ${own}: 101 Switching Protocols`)
  const noOrigin = await upgrade(port, '/api/live', {})
  t.equal(noOrigin.status, 101, 'no Origin (not a browser): 101, as @nex/websocket documents')
})

t.test('DNS rebinding (Host and Origin both the attacker\'s): 421 with allowedHosts', async (t) => {
  const open = await listen(t, await buildFixture())
  const rebound = { host: `evil.example:${open}`, Origin: `http://evil.example:${open}` }
  const byDefault = await upgrade(open, '/api/live', rebound)
  t.comment(`preset default (no security.allowedHosts): a rebinding page's upgrade gets ${byDefault.status}; set allowedHosts in production`)
  const guarded = await listen(t, await buildFixture({ preset: { security: { allowedHosts: ['127.0.0.1', 'localhost'] } } }))
  t.equal((await upgrade(guarded, '/api/live', { host: `evil.example:${guarded}`, Origin: `http://evil.example:${guarded}` })).status, 421, 'allowedHosts: 421 Misdirected Request')
  t.equal((await upgrade(guarded, '/api/live', { Origin: `http://127.0.0.1:${guarded}` })).status, 101, 'the real host still upgrades')
})

t.test('SSE: the chat stream refuses a foreign Origin (403), serves its own, and never sends CORS headers', async (t) => {
  const port = await listen(t, await buildExample('chat'))
  const request = (origin: string): string => `GET /rooms/lobby?/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\nAccept: text/event-stream\r\n\r\n`
  for (const origin of ['http://evil', 'null', `http://127.0.0.1:${port + 1}`]) {
    const { status, headers } = await streamHead(port, request(origin))
    t.match(status, /^HTTP\/1\.1 403/, `Origin ${origin}: ${status}`)
    t.same(headers.filter((line) => line.startsWith('access-control-')), [], 'no CORS header')
  }
  const own = await streamHead(port, request(`http://127.0.0.1:${port}`))
  t.match(own.status, /^HTTP\/1\.1 200/, `its own origin: ${own.status}`)
  t.ok(own.headers.some((line) => line.startsWith('content-type: text/event-stream')), 'an event stream')
  t.same(own.headers.filter((line) => line.startsWith('access-control-')), [], 'no CORS header')
})

const LIVE_RELOAD = ['/__livereload', '/__nex/livereload', '/_nex/livereload', '/livereload', '/__reload', '/_nex/live-reload']

for (const mode of ['production', 'development'] as const) {
  t.test(`live reload: no such route in ${mode}, plain or as a WebSocket`, async (t) => {
    const env = mode === 'production' ? { NODE_ENV: 'production', NEX_SECRET: SECRET } : { NODE_ENV: 'development' }
    const port = await listen(t, await buildFixture({ env }))
    for (const path of LIVE_RELOAD) {
      const plain = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
      t.equal(plain.responses[0]?.status, 404, `GET ${path}: 404`)
      t.equal((await upgrade(port, path, { Origin: `http://127.0.0.1:${port}` })).status, 404, `upgrade ${path}: 404`)
    }
  })
}
