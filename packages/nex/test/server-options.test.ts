// Hardened server options: the values Node and Fastify actually use after createServer() (read back from
// app.server, the checking timer and initialConfig, or shown by behaviour), not the options we passed;
// overrides honoured; bad values and combinations refused with FST_NEX_INVALID_OPTION; and the
// "requestTimeout inside http: {}" trap (RELIABILITY finding 3).
import * as http from 'node:http'
import * as http2 from 'node:http2'
import * as https from 'node:https'
import { createTestCertificate, opensslMissing } from '@nex/testing'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { createServer } from '../src/create-server.js'
import { FST_NEX_INVALID_OPTION } from '../src/errors.js'
import { maxConnectionsFor } from '../src/lib/open-files.js'
import { hardenedDefaults, readOpenFilesLimit, serverOptions, type NexServerOptions } from '../src/server-options.js'

const INVALID = { code: 'FST_NEX_INVALID_OPTION', statusCode: 500 }
/** The default maxConnections here: 10 000, or less under a low open-files limit (create-server-max-connections.test.ts). */
const MAX_CONNECTIONS = maxConnectionsFor(readOpenFilesLimit())

/** Fastify's initialConfig holds handlerTimeout, but its type does not list it yet. */
function handlerTimeoutOf (app: { initialConfig: object }): unknown {
  return (app.initialConfig as { handlerTimeout?: unknown }).handlerTimeout
}

/** The repeat of the timer Node started at listen() to enforce headersTimeout/requestTimeout. */
function checkingTimerInterval (server: object): number | undefined {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connectionsCheckingInterval')
  if (key === undefined) return undefined
  return (server as Record<symbol, { _repeat?: number } | undefined>)[key]?._repeat
}

/** The handshake timeout a tls.Server keeps (Node stores it under a symbol, not as a property). */
function handshakeTimeoutOf (server: object): number | undefined {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'handshake-timeout')
  return key === undefined ? undefined : (server as Record<symbol, number | undefined>)[key]
}

const noOpenssl = opensslMissing()

/** What these tests need of an app, whichever server it has. */
interface Listening {
  listen: (options: { port: number, host: string }) => Promise<string>
  close: () => PromiseLike<unknown>
  server: { address: () => unknown }
}

async function listen (t: Test, app: Listening): Promise<number> {
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** Status codes of GET /p/<param> for params of `length` and `length + 1` characters (router-level: inject is enough). */
async function paramStatuses (app: { inject: (url: string) => Promise<{ statusCode: number }> }, length: number): Promise<[number, number]> {
  const at = await app.inject(`/p/${'a'.repeat(length)}`)
  const over = await app.inject(`/p/${'a'.repeat(length + 1)}`)
  return [at.statusCode, over.statusCode]
}

t.test('hardenedDefaults: the production values, frozen', async (t) => {
  t.same(hardenedDefaults, {
    requestTimeout: 30_000,
    headersTimeout: 10_000,
    connectionsCheckingInterval: 1_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    handlerTimeout: 10_000,
    bodyLimit: 65_536,
    maxParamLength: 100,
    maxConnections: 10_000,
    maxJsonDepth: 64,
    handshakeTimeout: 10_000,
    http2SessionTimeout: 72_000,
    maxConcurrentStreams: 100,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  })
  t.ok(Object.isFrozen(hardenedDefaults))
})

t.test('createServer(): the effective limits on app.server and in Fastify', async (t) => {
  const app = createServer()
  app.get('/p/:id', async () => 'ok')
  app.get('/ip', async (request) => request.ip)
  await listen(t, app)
  const server: http.Server = app.server // the type says http.Server too
  t.ok(server instanceof http.Server)
  t.equal(server.requestTimeout, 30_000, 'requestTimeout')
  t.equal(server.headersTimeout, 10_000, 'headersTimeout')
  t.equal((server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval, 1_000, 'connectionsCheckingInterval as stored')
  t.equal(checkingTimerInterval(server), 1_000, 'connectionsCheckingInterval: the timer Node actually runs')
  t.equal(server.timeout, 60_000, 'connectionTimeout (socket inactivity, server.timeout)')
  t.equal(server.keepAliveTimeout, 72_000, 'keepAliveTimeout')
  t.equal(server.maxConnections, MAX_CONNECTIONS, `maxConnections (${MAX_CONNECTIONS} under this process's open-files limit)`)
  t.equal(app.initialConfig.bodyLimit, 65_536, 'bodyLimit')
  t.equal(handlerTimeoutOf(app), 10_000, 'handlerTimeout')
  t.equal(app.initialConfig.routerOptions?.maxParamLength, 100, 'maxParamLength, in routerOptions')
  t.equal(app.initialConfig.forceCloseConnections, 'idle')
  t.same(await paramStatuses(app, 100), [200, 414], 'maxParamLength is what the router enforces')
  const spoofed = await app.inject({ url: '/ip', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.equal(spoofed.body, '10.0.0.1', 'trustProxy false: X-Forwarded-For is ignored')
})

t.test('plain Fastify, for contrast: what the defaults above replace', async (t) => {
  const app = Fastify()
  await listen(t, app)
  t.equal(app.server.requestTimeout, 0, 'no limit on a whole request (slow body holds the socket forever)')
  t.equal(app.server.headersTimeout, 60_000)
  t.equal(checkingTimerInterval(app.server), 30_000)
  t.equal(app.server.timeout, 0, 'no inactivity limit (slow read holds the socket forever)')
  t.equal(app.server.maxConnections, undefined)
  t.equal(app.initialConfig.bodyLimit, 1_048_576)
  t.equal(handlerTimeoutOf(app), 0)
})

t.test('overrides are honoured', async (t) => {
  const app = createServer({
    requestTimeout: 20_000,
    headersTimeout: 5_000,
    connectionsCheckingInterval: 500,
    connectionTimeout: 30_000,
    keepAliveTimeout: 8_000,
    handlerTimeout: 2_000,
    bodyLimit: 1_024,
    maxParamLength: 30,
    maxConnections: 50,
    trustProxy: '10.0.0.0/8',
    http: { maxHeaderSize: 8_192 },
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id'
  })
  app.get('/p/:id', async () => 'ok')
  app.get('/ip', async (request) => request.ip)
  await listen(t, app)
  t.equal(app.server.requestTimeout, 20_000)
  t.equal(app.server.headersTimeout, 5_000)
  t.equal(checkingTimerInterval(app.server), 500)
  t.equal(app.server.timeout, 30_000)
  t.equal(app.server.keepAliveTimeout, 8_000)
  t.equal(app.server.maxConnections, 50)
  t.equal((app.server as http.Server & { maxHeaderSize: number }).maxHeaderSize, 8_192, 'other http options reach Node')
  t.equal(handlerTimeoutOf(app), 2_000)
  t.equal(app.initialConfig.bodyLimit, 1_024)
  t.equal(app.initialConfig.requestIdHeader, 'x-request-id', 'other Fastify options pass through')
  t.same(await paramStatuses(app, 30), [200, 414])
  t.equal((await app.inject('/p/x/')).statusCode, 200, 'other router options are kept next to maxParamLength')
  const viaProxy = await app.inject({ url: '/ip', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.equal(viaProxy.body, '203.0.113.7', 'the trusted proxy sets the client IP')
  const direct = await app.inject({ url: '/ip', remoteAddress: '198.51.100.1', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.equal(direct.body, '198.51.100.1', 'anyone else cannot')
})

t.test('a shorter requestTimeout lowers the headers and checking defaults under it', async (t) => {
  const app = createServer({ requestTimeout: 5_000 })
  await listen(t, app)
  t.equal(app.server.requestTimeout, 5_000)
  t.equal(app.server.headersTimeout, 5_000)
  t.equal(checkingTimerInterval(app.server), 1_000)
  const tiny = createServer({ requestTimeout: 600 })
  await listen(t, tiny)
  t.equal(tiny.server.headersTimeout, 600)
  t.equal(checkingTimerInterval(tiny.server), 600)
})

t.test('regression (finding 3): requestTimeout goes top level, never inside http: {}', async (t) => {
  const options = serverOptions()
  t.equal(options.requestTimeout, 30_000)
  t.same(options.http, { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 }, 'http: {} holds only what Node reads from there')
  t.equal(Fastify({ http: { requestTimeout: 5_000 } }).server.requestTimeout, 0, 'the trap: Fastify replaces it with its own 0')
  t.throws(() => createServer({ http: { requestTimeout: 5_000 } }), { ...INVALID, message: /option "http\.requestTimeout" must be left out: set the top-level "requestTimeout".*got 5000/ })

  // Users who call Fastify() themselves get the same limits, except maxConnections (no Fastify option).
  const app = Fastify(serverOptions({ requestTimeout: 12_000 }))
  await listen(t, app)
  t.equal(app.server.requestTimeout, 12_000)
  t.equal(app.server.headersTimeout, 10_000)
  t.equal(app.server.timeout, 60_000)
  t.equal(app.server.maxConnections, undefined)
})

t.test('TLS: the limits go into https: {}, plus handshakeTimeout', { skip: noOpenssl }, async (t) => {
  const { key, cert } = createTestCertificate()
  const app = createServer({ https: { key, cert } })
  app.get('/', async () => 'secure')
  const port = await listen(t, app)
  const server: https.Server = app.server // NexRawServer picks https.Server for this option type
  t.ok(server instanceof https.Server)
  t.equal(handshakeTimeoutOf(server), 10_000, 'handshakeTimeout (Node default 120 000)')
  t.equal(server.headersTimeout, 10_000, 'headersTimeout on the TLS server')
  t.equal(checkingTimerInterval(server), 1_000)
  t.equal(server.requestTimeout, 30_000)
  t.equal(server.timeout, 60_000)
  t.equal(server.keepAliveTimeout, 72_000)
  t.equal(server.maxConnections, MAX_CONNECTIONS)
  const body = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', ca: cert, agent: false }, (res) => {
      res.setEncoding('utf8')
      let text = ''
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve(text))
    }).on('error', reject)
  })
  t.equal(body, 'secure', 'and it serves')

  const custom = createServer({ https: { key, cert }, handshakeTimeout: 4_000, headersTimeout: 3_000, connectionsCheckingInterval: 250 })
  await listen(t, custom)
  t.equal(handshakeTimeoutOf(custom.server), 4_000)
  t.equal(custom.server.headersTimeout, 3_000)
  t.equal(checkingTimerInterval(custom.server), 250)
  const secureH2 = createServer({ http2: true, https: { key, cert, allowHTTP1: true } })
  await listen(t, secureH2)
  const h2Server: http2.Http2SecureServer = secureH2.server
  t.equal(handshakeTimeoutOf(h2Server), 10_000, 'handshakeTimeout on a secure HTTP/2 server too')

  t.throws(() => createServer({ https: { key, cert }, http: { maxHeaderSize: 8_192 } }), { ...INVALID, message: /option "http" must be left out when https is set/ })
  t.throws(() => createServer({ https: { key, cert, handshakeTimeout: 1 } }), { ...INVALID, message: /"https\.handshakeTimeout" must be left out: set the top-level "handshakeTimeout"/ })
  t.throws(() => createServer({ https: { key, cert, headersTimeout: 1 } }), { ...INVALID, message: /"https\.headersTimeout"/ })
})

t.test('HTTP/2: session limits instead of the HTTP/1 ones', async (t) => {
  const app = createServer({ http2: true })
  app.get('/', async () => 'h2')
  const port = await listen(t, app)
  const server: http2.Http2Server = app.server
  t.equal((server as unknown as { timeout: number }).timeout, 60_000, 'connectionTimeout (not in the Http2Server type)')
  t.equal(server.maxConnections, MAX_CONNECTIONS)
  const session = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => session.destroy())
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve))
  t.equal(settings.maxConcurrentStreams, 100, 'SETTINGS advertises 100 concurrent streams (Node default 2^32 - 1)')
  t.equal(settings.maxHeaderListSize, 16_384, 'and a 16 KiB header list, like HTTP/1 (Node advertises none, enforces 64 KiB)')

  // Sent before the client acknowledged the SETTINGS, a bigger list still reaches Fastify: 431 there.
  const early = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => early.destroy())
  const answer = await new Promise<{ status: unknown, body: string }>((resolve, reject) => {
    const stream = early.request({ ':path': '/', 'x-big': 'a'.repeat(20_000) })
    let body = ''
    let status: unknown
    stream.on('response', (headers) => { status = headers[':status'] })
    stream.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
    stream.on('end', () => resolve({ status, body }))
    stream.on('error', reject)
  })
  t.equal(answer.status, 431, 'a 20 KB header list in the first flight: 431')
  t.match(answer.body, /FST_NEX_HEADER_LIST_TOO_LARGE/)

  const roomy = createServer({ http2: true, http: { settings: { maxHeaderListSize: 65_536 } } })
  roomy.get('/', async () => 'h2')
  const roomyPort = await listen(t, roomy)
  const roomySession = http2.connect(`http://127.0.0.1:${roomyPort}`)
  t.teardown(() => roomySession.destroy())
  t.equal((await new Promise<http2.Settings>((resolve) => roomySession.once('remoteSettings', resolve))).maxHeaderListSize, 65_536, 'an app\'s own limit wins')
  const roomyStatus = await new Promise((resolve, reject) => {
    const stream = roomySession.request({ ':path': '/', 'x-big': 'a'.repeat(20_000) })
    stream.on('response', (headers) => { resolve(headers[':status']); stream.resume() })
    stream.on('error', reject)
  })
  t.equal(roomyStatus, 200, 'and the 431 check follows it')

  const custom = createServer({ http2: true, maxConcurrentStreams: 20, http2SessionTimeout: 5_000 })
  const customPort = await listen(t, custom)
  t.equal(custom.initialConfig.http2SessionTimeout, 5_000)
  const other = http2.connect(`http://127.0.0.1:${customPort}`)
  t.teardown(() => other.destroy())
  t.equal((await new Promise<http2.Settings>((resolve) => other.once('remoteSettings', resolve))).maxConcurrentStreams, 20)

  t.equal(serverOptions({ http2: true }).forceCloseConnections, true, 'close() ends sessions with GOAWAY (h2 has no idle connections)')
  t.throws(() => createServer({ http2: true, forceCloseConnections: 'idle' }), { ...INVALID, message: /"forceCloseConnections" must be true \(sessions get a graceful GOAWAY at close\) or false with http2: true, got "idle"$/ })
  for (const name of ['requestTimeout', 'headersTimeout', 'connectionsCheckingInterval', 'keepAliveTimeout'] as const) {
    t.throws(() => createServer({ http2: true, [name]: 1_000 }), { ...INVALID, message: new RegExp(`option "${name}" must be left out with http2: true`) })
  }
})

t.test('invalid options are refused with FST_NEX_INVALID_OPTION naming the option, what is allowed and what was given', async (t) => {
  const error = t.throws(() => createServer({ requestTimeout: 0 }))
  t.ok(error instanceof FST_NEX_INVALID_OPTION)
  t.ok(error instanceof TypeError)
  t.equal((error as Error).message, 'nex: option "requestTimeout" must be a whole number of milliseconds from 1 to 2147483647 (0 would turn the limit off), got 0')

  const cases: Array<[options: unknown, message: RegExp]> = [
    [{ requestTimeout: -1 }, /"requestTimeout".*got -1$/],
    [{ requestTimeout: 1.5 }, /"requestTimeout".*got 1\.5$/],
    [{ requestTimeout: '30000' }, /"requestTimeout".*got "30000"$/],
    [{ requestTimeout: Number.NaN }, /"requestTimeout".*got NaN$/],
    [{ requestTimeout: Infinity }, /"requestTimeout".*got Infinity$/],
    [{ requestTimeout: 2 ** 31 }, /"requestTimeout".*from 1 to 2147483647.*got 2147483648$/],
    [{ headersTimeout: 0 }, /"headersTimeout"/],
    [{ connectionsCheckingInterval: 0 }, /"connectionsCheckingInterval"/],
    [{ connectionTimeout: 0 }, /"connectionTimeout".*0 would turn the limit off/],
    [{ keepAliveTimeout: 0 }, /"keepAliveTimeout"/],
    [{ handlerTimeout: 0 }, /"handlerTimeout"/],
    [{ handshakeTimeout: 0 }, /"handshakeTimeout"/],
    [{ http2SessionTimeout: 0 }, /"http2SessionTimeout"/],
    [{ bodyLimit: 0 }, /"bodyLimit" must be a whole number of bytes from 1/],
    [{ bodyLimit: 1.5 }, /"bodyLimit"/],
    [{ maxParamLength: 0 }, /"maxParamLength" must be a whole number of characters/],
    [{ maxConnections: -1 }, /"maxConnections" must be a whole number of connections.*got -1$/],
    [{ maxJsonDepth: 0 }, /"maxJsonDepth" must be a whole number of levels from 1.*got 0$/],
    [{ maxConcurrentStreams: 2 ** 32 }, /"maxConcurrentStreams".*from 1 to 4294967295/],
    [{ trustProxy: true }, /"trustProxy" must be false, the proxy's address or CIDR.*never true or a hop count: clients could then set their own IP with X-Forwarded-For.*got true$/],
    [{ trustProxy: 1 }, /"trustProxy".*got 1$/],
    [{ trustProxy: '' }, /"trustProxy".*got ""$/],
    [{ trustProxy: [] }, /"trustProxy".*got an array$/],
    [{ trustProxy: ['10.0.0.1', 5] }, /"trustProxy"/],
    [{ trustProxy: '10.0.0.1, ' }, /"trustProxy"/],
    [{ trustProxy: '0.0.0.0/0' }, /"trustProxy".*got "0\.0\.0\.0\/0"$/],
    [{ trustProxy: ['10.0.0.1', '::/0'] }, /"trustProxy"/],
    [{ trustProxy: {} }, /"trustProxy".*got an object$/],
    [{ return503OnClosing: 'yes' }, /"return503OnClosing" must be true or false, got "yes"$/],
    [{ forceCloseConnections: 'all' }, /"forceCloseConnections" must be "idle", true or false, got "all"$/],
    [{ http2: 1 }, /"http2" must be true or false/],
    [{ http: 'x' }, /"http" must be an object of Node server options, got "x"$/],
    [{ https: 42 }, /"https" must be an object/],
    [{ http: { headersTimeout: 5_000 } }, /"http\.headersTimeout" must be left out: set the top-level "headersTimeout"/],
    [{ http: { connectionsCheckingInterval: 500 } }, /"http\.connectionsCheckingInterval"/],
    [{ http: { keepAliveTimeout: 500 } }, /"http\.keepAliveTimeout"/],
    [{ http: { insecureHTTPParser: true } }, /"http\.insecureHTTPParser" must be false or left out: the lenient parser lets requests be smuggled/],
    [{ http2: true, http: { settings: { maxConcurrentStreams: 5 } } }, /"http\.settings\.maxConcurrentStreams" must be left out: set the top-level "maxConcurrentStreams"/],
    [{ routerOptions: { maxParamLength: 500 } }, /"routerOptions\.maxParamLength" must be left out: set the top-level "maxParamLength"/],
    [{ routerOptions: 'x' }, /"routerOptions"/],
    [{ serverFactory: () => http.createServer() }, /"serverFactory" must be left out/],
    [{ headersTimeout: 40_000 }, /"headersTimeout" must be at most requestTimeout \(30000\).*got 40000$/],
    [{ requestTimeout: 5_000, headersTimeout: 6_000 }, /"headersTimeout" must be at most requestTimeout \(5000\)/],
    [{ headersTimeout: 2_000, connectionsCheckingInterval: 3_000 }, /"connectionsCheckingInterval" must be at most headersTimeout \(2000\).*got 3000$/],
    ['fast', /"options" must be an object, got "fast"$/],
    [null, /"options" must be an object, got null$/]
  ]
  for (const [options, message] of cases) {
    t.throws(() => createServer(options as NexServerOptions), { ...INVALID, message }, JSON.stringify(options) ?? String(options))
    t.throws(() => serverOptions(options as NexServerOptions), INVALID, 'serverOptions() checks the same')
  }
})

t.test('valid trustProxy forms are kept', async (t) => {
  const trust = (address: string): boolean => address === '10.0.0.1'
  t.equal(serverOptions().trustProxy, false)
  t.equal(serverOptions({ trustProxy: false }).trustProxy, false)
  t.equal(serverOptions({ trustProxy: '10.0.0.1, 10.0.0.2' }).trustProxy, '10.0.0.1, 10.0.0.2')
  t.same(serverOptions({ trustProxy: ['loopback', '10.0.0.0/8'] }).trustProxy, ['loopback', '10.0.0.0/8'])
  t.equal(serverOptions({ trustProxy: trust }).trustProxy, trust)
  t.equal(serverOptions({ forceCloseConnections: true }).forceCloseConnections, true)
  t.equal(serverOptions({ return503OnClosing: false }).return503OnClosing, false)
})
