// Callbacks that throw or reject: logged with request.log, the socket closed with 1011, the process and
// the other connections unharmed, no unhandled rejection.
import t from 'tap'
import { captureLogs, connect, sleep, startServer, waitFor } from './helpers.js'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

t.test('message throwing, message rejecting, open throwing: close 1011, logged, server keeps serving', async (t) => {
  const { logger, entries } = captureLogs()
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/fragile', {
      message (socket, data) {
        if (data === 'throw') throw new Error('sync failure')
        if (data === 'reject') return Promise.reject(new Error('async failure'))
        socket.send(`ok ${String(data)}`)
        return undefined
      }
    })
    app.nexWebSocket.route('/broken-open', async () => {
      await sleep(5)
      throw new Error('open failure')
    })
  }, { logger })

  for (const [input, message] of [['throw', 'sync failure'], ['reject', 'async failure']] as const) {
    const client = await connect(`${url}/fragile`)
    client.ws.send('first')
    t.equal(await client.next(), 'ok first')
    client.ws.send(input)
    t.same(await client.closed, { code: 1011, reason: 'internal error' }, input)
    const entry = entries.find((entry) => entry.err?.message === message)
    t.ok(entry, `${message} logged`)
    t.equal(entry?.level, 50)
    t.type(entry?.reqId, 'string', 'with the request\'s logger')
  }

  const broken = await connect(`${url}/broken-open`)
  broken.ws.send('queued while open ran')
  t.same(await broken.closed, { code: 1011, reason: 'internal error' })
  t.ok(entries.some((entry) => entry.err?.message === 'open failure'))

  const healthy = await connect(`${url}/fragile`)
  healthy.ws.send('still alive')
  t.equal(await healthy.next(), 'ok still alive')
  healthy.ws.close()
  await waitFor(() => app.nexWebSocket.connections === 0)
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('close and error callbacks that fail are logged only; error gets protocol errors', async (t) => {
  const { logger, entries } = captureLogs()
  const errors: string[] = []
  const { url } = await startServer(t, { maxPayload: 16 }, (app) => {
    app.nexWebSocket.route('/ws', {
      error (_socket, err) {
        errors.push((err as Error & { code?: string }).code ?? err.message)
        throw new Error('error callback failure')
      },
      async close () {
        throw new Error('close failure')
      }
    })
  }, { logger })
  const client = await connect(`${url}/ws`)
  client.ws.send('x'.repeat(17))
  t.equal((await client.closed).code, 1009)
  await waitFor(() => entries.some((entry) => entry.err?.message === 'close failure'))
  t.same(errors, ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'])
  t.ok(entries.some((entry) => entry.err?.message === 'error callback failure'))
  t.ok(entries.some((entry) => entry.level === 30 && /broke the protocol or a limit/.test(entry.msg)), 'the client error is logged at info')
  t.same(unhandled, [])
})

t.test('a plain @fastify/websocket route (websocket: true) that throws closes with 1011 too', async (t) => {
  const { logger, entries } = captureLogs()
  const { url } = await startServer(t, {}, (app) => {
    app.get('/raw', { websocket: true }, () => { throw new Error('raw handler failure') })
  }, { logger })
  const client = await connect(`${url}/raw`)
  t.equal((await client.closed).code, 1011)
  t.ok(entries.some((entry) => entry.err?.message === 'raw handler failure'))
})

t.test('send() of something that is not JSON fails the callback (1011), not the process', async (t) => {
  const { url } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/bad', (socket) => { socket.send({ n: 1n } as never) })
    app.nexWebSocket.route('/undefined', (socket) => { socket.send(undefined as never) })
  })
  t.equal((await (await connect(`${url}/bad`)).closed).code, 1011)
  t.equal((await (await connect(`${url}/undefined`)).closed).code, 1011)
  t.same(unhandled, [])
})
