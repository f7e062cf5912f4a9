/**
 * The counter example as two processes (two ports) sharing one Redis through `REDIS_URL`, with requests
 * alternating between them as a round-robin balancer would send them: page state behaves exactly as on
 * one process, a CSRF token from a page of one process is good on the other, the page-action rate limit
 * is one budget for both, and 200 concurrent increments split over both processes end at exactly 200.
 * Requests carry the `_csrf` cookie and the page's token, as a browser does.
 */
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import { httpRequest, startServer, type HttpResult, type RunningServer } from '../helpers/server-process.ts'
import { csrfFrom, REFUSED, type CsrfHeaders } from '../helpers/csrf.ts'

const COUNTER = fileURLToPath(new URL('../../examples/counter', import.meta.url))
/** The same app with the page-action limit raised, for the load test. */
const COUNTER_LOAD = fileURLToPath(new URL('./fixtures/counter-load', import.meta.url))
const SECRET = 'two-process-secret-shared-by-both-processes-0123'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, COUNTER, env), startServer(t, COUNTER, env)])
t.teardown(() => Promise.all([a.stop(), b.stop()]))

/** A page view in a browser: its id, and the CSRF cookie and token its page came with. */
interface PageView {
  pageId: string
  csrf: CsrfHeaders
}

const htmx = (view: PageView): Record<string, string> => ({ 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': view.pageId, ...view.csrf })

async function post (server: RunningServer, view: PageView, action = 'increment'): Promise<HttpResult> {
  return await httpRequest(server.host, server.port, `/?/${action}`, { method: 'POST', headers: htmx(view) })
}

async function increment (server: RunningServer, view: PageView): Promise<number> {
  const answer = await post(server, view)
  if (answer.status !== 200) throw new Error(`increment on :${server.port} answered ${answer.status}: ${answer.body}`)
  return Number(/data-testid="counter-value"[^>]*>(\d+)</.exec(answer.body)?.[1])
}

async function openPage (t: Test, server: RunningServer): Promise<PageView> {
  const page = await httpRequest(server.host, server.port, '/')
  t.equal(page.status, 200)
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  if (pageId === undefined) throw new Error('no page id')
  return { pageId, csrf: csrfFrom(page) }
}

t.test('a page opened on one process counts on both, in order', async (t) => {
  const view = await openPage(t, a)
  const seen: number[] = []
  for (let i = 0; i < 6; i++) seen.push(await increment(i % 2 === 0 ? b : a, view))
  t.same(seen, [1, 2, 3, 4, 5, 6], 'each process sees the writes of the other, and takes the CSRF token of the other')

  // The no-JavaScript path: a plain form post with the hidden fields, answered by the full page.
  const plain = await httpRequest(b.host, b.port, '/?/decrement', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: view.csrf.cookie },
    body: new URLSearchParams({ _nex_page: view.pageId, _csrf: view.csrf['x-csrf-token'] }).toString()
  })
  t.equal(plain.status, 200)
  t.match(plain.body, /data-testid="counter-value"[^>]*>5</, 'a plain form post on the other process continues the count')

  const forged = await post(a, { ...view, pageId: view.pageId.replace(/.$/, (c) => c === 'A' ? 'B' : 'A') })
  t.equal(forged.status, 410, 'an id neither process issued is refused')

  for (const server of [a, b]) {
    const noToken = await httpRequest(server.host, server.port, '/?/increment', {
      method: 'POST',
      headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': view.pageId, cookie: view.csrf.cookie }
    })
    t.equal(noToken.status, 403, `:${server.port}: an increment without the token is refused`)
    t.match(noToken.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  }
  const otherBrowser = await openPage(t, b)
  const foreign = await post(a, { ...view, csrf: { ...view.csrf, 'x-csrf-token': otherBrowser.csrf['x-csrf-token'] } })
  t.equal(foreign.status, 403, 'so is one with the token of another browser')
  t.match(foreign.body, REFUSED.csrfInvalid, 'FST_NEX_SECURITY_CSRF_INVALID')
  t.equal(await increment(b, view), 6, 'and none of them counted')
})

t.test('the page-action rate limit is one budget for both processes (its counters live in Redis)', async (t) => {
  // 120 actions a minute per client IP. Two budgets of their own would let about 2 × 120 alternating
  // posts through; one shared budget at most 120 (less what the test before used), then refuses on both.
  const view = await openPage(t, a)
  let passed = 0
  let over: HttpResult | undefined
  while (over === undefined && passed <= 240) {
    const answer = await post(passed % 2 === 0 ? b : a, view)
    if (answer.status === 200) passed++
    else over = answer
  }
  t.ok(passed > 60 && passed <= 120, `${passed} actions alternating over both processes passed, within one budget of 120`)
  t.equal(over?.status, 429, 'then 429')
  for (const server of [a, b]) {
    const refused = await post(server, view)
    t.equal(refused.status, 429, `:${server.port}: refused, whichever process gets it`)
    t.match(refused.body, REFUSED.rateLimited, 'FST_NEX_SECURITY_RATE_LIMITED')
    t.equal(refused.headers['x-ratelimit-limit'], '120', 'the page-action limit')
    t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After')
  }
})

t.test('200 concurrent increments, 100 on each process, end at exactly 200', async (t) => {
  // A load test: every request comes from 127.0.0.1, far over the default action limit, so these two
  // processes run the same app with that limit raised (through build()'s preset options).
  const [c, d] = await Promise.all([startServer(t, COUNTER_LOAD, env), startServer(t, COUNTER_LOAD, env)])
  t.teardown(() => Promise.all([c.stop(), d.stop()]))
  const view = await openPage(t, d)
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => increment(i % 2 === 0 ? c : d, view)))
  t.same([...results].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'every increment saw exactly the one before it')
  t.equal(await increment(c, view), 201, 'the stored value is 200')

  const inspector = new Redis(redis.url)
  t.teardown(() => { inspector.disconnect() })
  const keys = await inspector.keys('nex:page:*')
  t.ok(keys.length >= 2, 'page state lives in Redis, one hash per page')
  for (const key of keys) t.ok(await inspector.pttl(key) > 0, `${key} has a TTL`)
})
