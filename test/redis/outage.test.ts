/**
 * Redis outages through the whole stack, over real sockets: with Redis refused (killed) or stalled
 * (SIGSTOP), every request that needs page state answers 503 + `Retry-After` within the command timeout,
 * as a full HTML page, an htmx fragment or JSON by request kind; never a 500, never a hang. When Redis
 * is back, requests succeed again without restarting the app, and no page is left half-updated.
 */
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import { createRedisStore } from '@nex/redis'
import { startRedisServer } from '@nex/testing'

const COMMAND_TIMEOUT = 500
// Generous on a loaded 2-core CI machine, yet far below the 10 s an unconfigured client hangs.
const MARGIN = 400
const SECRET = 'outage-test-secret-outage-test-secret-0123'

const redis = await startRedisServer()
t.teardown(() => redis.stop())

async function buildApp (): Promise<{ app: FastifyInstance, origin: string }> {
  const store = createRedisStore({ url: redis.url, clientOptions: { commandTimeout: COMMAND_TIMEOUT } })
  const app = Fastify()
  await app.register(nexState, { secret: SECRET, store, retryAfter: 2 })
  await app.register(nexRoutes, { dir: fileURLToPath(new URL('./fixtures/outage', import.meta.url)), dev: false, assets: false })
  app.addHook('onClose', () => store.close())
  const origin = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, origin }
}

interface Answer {
  status: number
  headers: Headers
  body: string
  ms: number
}

async function timed (url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
  const body = await response.text()
  return { status: response.status, headers: response.headers, body, ms: Math.round(performance.now() - started) }
}

const { app, origin } = await buildApp()
t.teardown(() => app.close())

/** A fresh page view: its id, from the full page. */
async function openPage (): Promise<string> {
  const page = await timed(`${origin}/`)
  t.equal(page.status, 200, 'the page renders while Redis is up')
  const id = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1]
  if (id === undefined) throw new Error('no page id in the page')
  return id
}

const htmxIncrement = (pageId: string): RequestInit => ({
  method: 'POST',
  headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId }
})

/** The three kinds of request and what their 503 must look like. */
function requestKinds (pageId: string): Array<{ label: string, send: () => Promise<Answer>, check: (t: Test, answer: Answer) => void }> {
  return [
    {
      label: 'full page',
      send: () => timed(`${origin}/`),
      check (t, answer) {
        t.match(answer.headers.get('content-type'), /^text\/html/)
        t.match(answer.body, /^<!doctype html>/i, 'a whole document')
        t.match(answer.body, /temporarily unavailable/, 'says it is temporary')
      }
    },
    {
      label: 'htmx fragment',
      send: () => timed(`${origin}/?/increment`, htmxIncrement(pageId)),
      check (t, answer) {
        t.match(answer.headers.get('content-type'), /^text\/html/)
        t.notMatch(answer.body, /<html/i, 'a fragment, not a document')
        t.match(answer.body, /role="alert"/)
      }
    },
    {
      label: 'JSON',
      send: () => timed(`${origin}/api/count`, { headers: { 'x-nex-page-id': pageId, accept: 'application/json' } }),
      check (t, answer) {
        t.match(JSON.parse(answer.body), { statusCode: 503, code: 'FST_NEX_STATE_STORE_UNAVAILABLE' })
      }
    }
  ]
}

async function expectUnavailable (t: Test, pageId: string, phase: string): Promise<void> {
  for (const kind of requestKinds(pageId)) {
    const answer = await kind.send()
    t.equal(answer.status, 503, `${phase}, ${kind.label}: 503`)
    t.equal(answer.headers.get('retry-after'), '2', `${phase}, ${kind.label}: Retry-After`)
    t.ok(answer.ms < COMMAND_TIMEOUT + MARGIN, `${phase}, ${kind.label}: answered in ${answer.ms} ms`)
    t.notMatch(answer.body, /ECONNREFUSED|timed out|127\.0\.0\.1|at .*\.js/, 'no internals leak')
    kind.check(t, answer)
  }
}

/** Polls until an htmx increment succeeds again; resolves with how long that took. */
async function waitForRecovery (pageId: string, limitMs: number): Promise<number> {
  const started = Date.now()
  for (;;) {
    const answer = await timed(`${origin}/api/count`, { headers: { 'x-nex-page-id': pageId } })
    if (answer.status === 200) return Date.now() - started
    if (answer.status !== 503) throw new Error(`unexpected ${answer.status} while recovering: ${answer.body}`)
    if (Date.now() - started > limitMs) throw new Error(`still 503 after ${limitMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function countOf (pageId: string): Promise<number> {
  // As htmx would send it: a plain GET without HX-Request is a navigation, which starts a new page.
  const answer = await timed(`${origin}/api/count`, { headers: { 'x-nex-page-id': pageId, 'hx-request': 'true' } })
  return (JSON.parse(answer.body) as { count: number }).count
}

t.test('Redis refused (killed): fast 503s by request kind, then recovery after it restarts', async (t) => {
  const pageId = await openPage()
  t.equal((await timed(`${origin}/?/increment`, htmxIncrement(pageId))).status, 200)

  await redis.crash()
  await expectUnavailable(t, pageId, 'refused')
  await t.rejects(app.nexState.store.ping(), { code: 'FST_NEX_STATE_STORE_UNAVAILABLE' }, 'readiness (ping) reports the outage')

  await redis.restart()
  const ms = await waitForRecovery(pageId, 8000)
  t.pass(`requests succeed again ${ms} ms after Redis restarted, with no app restart`)
  await t.resolves(app.nexState.store.ping(), 'readiness recovers')
  // The restarted server has no persistence: the page starts empty, and works.
  const after = await timed(`${origin}/?/increment`, htmxIncrement(pageId))
  t.equal(after.status, 200)
  t.match(after.body, '<output id="count">1</output>')
})

t.test('Redis stalled (SIGSTOP): a burst of requests all get 503 within the timeout; resume recovers', async (t) => {
  const pageId = await openPage()
  let acknowledged = 0
  for (let i = 0; i < 5; i++) {
    if ((await timed(`${origin}/?/increment`, htmxIncrement(pageId))).status === 200) acknowledged++
  }

  redis.pause()
  t.teardown(() => redis.resume())
  const started = Date.now()
  const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => i % 3 === 0
    ? timed(`${origin}/`)
    : timed(`${origin}/?/increment`, htmxIncrement(pageId))))
  const elapsed = Date.now() - started
  const statuses = new Set(burst.map((answer) => answer.status))
  t.same([...statuses], [503], 'every request of the burst is a 503 (no 500, no hang)')
  t.ok(burst.every((answer) => answer.headers.get('retry-after') === '2'), 'each with Retry-After')
  const slowest = Math.max(...burst.map((answer) => answer.ms))
  t.ok(slowest < COMMAND_TIMEOUT + MARGIN, `slowest answer ${slowest} ms; the burst took ${elapsed} ms`)
  await expectUnavailable(t, pageId, 'stalled')

  redis.resume()
  const ms = await waitForRecovery(pageId, 5000)
  t.pass(`requests succeed again ${ms} ms after the stall ended`)

  // Nothing half-applied: the count is exactly the acknowledged increments, plus any increment whose
  // reply was lost in the stall but which Redis ran whole once it resumed (never a partial write).
  const count = await countOf(pageId)
  t.ok(count >= acknowledged && count <= acknowledged + 40, `count ${count} with ${acknowledged} acknowledged`)
  const next = await timed(`${origin}/?/increment`, htmxIncrement(pageId))
  t.equal(next.status, 200)
  t.match(next.body, `<output id="count">${count + 1}</output>`, 'the page keeps counting from a consistent value')
})
