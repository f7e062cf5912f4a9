/**
 * The counter example as two processes (two ports) sharing one Redis through `REDIS_URL`, with requests
 * alternating between them as a round-robin balancer would send them: page state behaves exactly as on
 * one process, and 200 concurrent increments split over both processes end at exactly 200.
 */
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type RunningServer } from '../helpers/server-process.ts'

const COUNTER = fileURLToPath(new URL('../../examples/counter', import.meta.url))
const SECRET = 'two-process-secret-shared-by-both-processes-0123'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, COUNTER, env), startServer(t, COUNTER, env)])
t.teardown(() => Promise.all([a.stop(), b.stop()]))

const htmx = (pageId: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId })

async function increment (server: RunningServer, pageId: string): Promise<number> {
  const answer = await httpRequest(server.host, server.port, '/?/increment', { method: 'POST', headers: htmx(pageId) })
  if (answer.status !== 200) throw new Error(`increment on :${server.port} answered ${answer.status}: ${answer.body}`)
  return Number(/data-testid="counter-value"[^>]*>(\d+)</.exec(answer.body)?.[1])
}

async function openPage (t: Test, server: RunningServer): Promise<string> {
  const page = await httpRequest(server.host, server.port, '/')
  t.equal(page.status, 200)
  const id = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  if (id === undefined) throw new Error('no page id')
  return id
}

t.test('a page opened on one process counts on both, in order', async (t) => {
  const pageId = await openPage(t, a)
  const seen: number[] = []
  for (let i = 0; i < 6; i++) seen.push(await increment(i % 2 === 0 ? b : a, pageId))
  t.same(seen, [1, 2, 3, 4, 5, 6], 'each process sees the writes of the other')

  // The no-JavaScript path: a plain form post with the hidden field, answered by the full page.
  const plain = await httpRequest(b.host, b.port, '/?/decrement', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _nex_page: pageId }).toString()
  })
  t.equal(plain.status, 200)
  t.match(plain.body, /data-testid="counter-value"[^>]*>5</, 'a plain form post on the other process continues the count')

  const forged = await httpRequest(a.host, a.port, '/?/increment', { method: 'POST', headers: htmx(pageId.replace(/.$/, (c) => c === 'A' ? 'B' : 'A')) })
  t.equal(forged.status, 410, 'an id neither process issued is refused')
})

t.test('200 concurrent increments, 100 on each process, end at exactly 200', async (t) => {
  const pageId = await openPage(t, b)
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => increment(i % 2 === 0 ? a : b, pageId)))
  t.same([...results].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'every increment saw exactly the one before it')
  t.equal(await increment(a, pageId), 201, 'the stored value is 200')

  const inspector = new Redis(redis.url)
  t.teardown(() => { inspector.disconnect() })
  const keys = await inspector.keys('nex:page:*')
  t.ok(keys.length >= 2, 'page state lives in Redis, one hash per page')
  for (const key of keys) t.ok(await inspector.pttl(key) > 0, `${key} has a TTL`)
})
