// Event ids are per topic across processes (the Redis event log): a browser that read part of a topic
// on process A and reconnects to process B with its Last-Event-ID gets exactly what it missed, in order,
// then the live events. Both processes run the `nex` preset with one NEX_SECRET: a publish carries the
// CSRF cookie and token of a page, and a page of either process is good for both.
import t from 'tap'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type RunningServer } from '../helpers/server-process.js'
import { csrfFrom, type CsrfHeaders } from '../helpers/csrf.js'

const APP = fileURLToPath(new URL('./fixtures/realtime-app/', import.meta.url))

interface Event { id: string, data: string }

/** Opens `/events` and collects events until `count` arrived; then closes the connection. */
async function readEvents (server: RunningServer, count: number, lastEventId?: string, onOpen?: () => Promise<void>): Promise<Event[]> {
  return await new Promise((resolve, reject) => {
    const headers: Record<string, string> = lastEventId === undefined ? {} : { 'last-event-id': lastEventId }
    const req = request({ host: server.host, port: server.port, path: '/events', headers, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream refused: ${res.statusCode}`))
      const events: Event[] = []
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: (.*)$/m.exec(frame)?.[1]
          const data = /^data: (.*)$/m.exec(frame)?.[1]
          if (id !== undefined && data !== undefined) events.push({ id, data })
          if (events.length === count) {
            req.destroy()
            resolve(events)
          }
        }
      })
      onOpen?.().catch(reject)
    })
    req.on('error', (error) => { if (!req.destroyed) reject(error) })
    req.setTimeout(10_000, () => req.destroy(new Error('no events within 10 s')))
    req.end()
  })
}

/** The CSRF cookie and token of the page the test's "browser" loaded once. */
let csrf: CsrfHeaders

async function publish (server: RunningServer, text: string): Promise<number> {
  const { status, body } = await httpRequest(server.host, server.port, `/publish?text=${text}`, { method: 'POST', headers: { ...csrf } })
  if (status !== 200) throw new Error(`publish on :${server.port} answered ${status}: ${body}`)
  return (JSON.parse(body) as { id: number }).id
}

t.test('a reconnect to another process replays exactly the missed events, then live ones', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop())
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', NEX_SECRET: 'replay-secret-shared-by-both-processes-0123456789' }
  const a = await startServer(t, APP, env)
  const b = await startServer(t, APP, env)
  csrf = csrfFrom(await httpRequest(a.host, a.port, '/'))
  const refused = await httpRequest(b.host, b.port, '/publish?text=forged', { method: 'POST', headers: { accept: 'application/json' } })
  t.equal(refused.status, 403, 'a publish without a CSRF token is refused')
  t.equal((JSON.parse(refused.body) as { code?: string }).code, 'FST_NEX_SECURITY_CSRF_MISSING', 'by the CSRF check')

  // Read three events on A, published on both processes.
  const first = await readEvents(a, 3, undefined, async () => {
    await publish(a, 'one')
    await publish(b, 'two')
    await publish(a, 'three')
  })
  t.same(first.map(event => event.data), ['one', 'two', 'three'])
  const ids = first.map(event => Number(event.id))
  t.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!, `ids grow across processes: ${ids.join(', ')}`)

  // Offline: three more, on both processes.
  await publish(b, 'four')
  await publish(a, 'five')
  await publish(b, 'six')

  // Reconnect to B with the last id seen on A: the three missed ones, then a live one.
  const second = await readEvents(b, 4, first[2]!.id, async () => {
    await new Promise(resolve => setTimeout(resolve, 100))
    await publish(a, 'seven')
  })
  t.same(second.map(event => event.data), ['four', 'five', 'six', 'seven'], 'exactly the missed events, in order, then the live one')
  const all = [...first, ...second].map(event => Number(event.id))
  t.same(all, [...all].sort((x, y) => x - y), 'ids only grow')
  t.equal(new Set(all).size, all.length, 'no id twice')
  t.notOk([...first, ...second].some(event => event.data === 'forged'), 'the refused publish never reached the log')
})
