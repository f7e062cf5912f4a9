import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import nexState, {
  createMemoryStore,
  createPageIdSigner,
  type PageStore,
  type StateOptions
} from '../src/index.js'
// From source: @nex/testing's build depends on this package's.
import { countingStore } from '../../../packages/testing/src/counting-store.js'

const SECRET = 'test-secret-that-is-long-enough-0123456789'
const ID_IN_HTML = /data-nex-page-id="([^"]+)"/
/** Requests that reached a route handler, across apps (subtests run one at a time). */
let handled = 0

/** An app with a few hand-written routes using page state, as a user would write them. */
async function build (t: Test, options: StateOptions = {}, fastifyOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(formbody)
  await app.register(nexState, { secret: SECRET, ...options })
  app.addHook('preHandler', async () => { handled++ })
  app.get('/page', async (request, reply) => {
    const state = request.startPage()
    const visits = await state.update('visits', 0, (n) => n + 1)
    return reply.type('text/html').send(`<body data-nex-page-id="${state.id}">visits ${visits}</body>`)
  })
  app.post('/increment', async (request) => {
    const count = await request.pageState.update('count', 0, async (n) => n + 1)
    return { count, pageId: request.pageId, carried: request.carriedPageId }
  })
  app.get('/count', async (request) => ({
    count: await request.pageState.get('count', 0),
    carried: request.carriedPageId
  }))
  app.get('/stateless', async (request) => ({ pageId: request.pageId, carried: request.carriedPageId }))
  app.get('/identity', async (request) => {
    const carried = request.pageState
    const cached = carried === request.pageState
    const started = request.startPage()
    return {
      cached,
      startedIsCurrent: started === request.pageState && started.id === request.pageId,
      carriedKept: request.carriedPageId,
      fresh: started.id !== carried.id
    }
  })
  app.post('/big', async (request) => {
    await request.pageState.set('blob', 'x'.repeat(100_000))
    return { ok: true }
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

async function render (app: FastifyInstance, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/page', headers })
  const id = ID_IN_HTML.exec(res.body)?.[1]
  if (id === undefined) throw new Error(`no page id in ${res.body}`)
  return id
}

/** The headers of an htmx fragment request from a page view (navigations ignore the page id). */
function withHeader (id: string): Record<string, string> {
  return { 'x-nex-page-id': id, 'hx-request': 'true', 'hx-request-type': 'partial' }
}

function forgedIds (): string[] {
  const real = createPageIdSigner([SECRET]).issue()
  return [
    'garbage',
    `${'A'.repeat(22)}.${'A'.repeat(22)}`,
    createPageIdSigner(['another-secret-that-is-long-enough-987654']).issue(),
    `${real.slice(0, 30)}${real[30] === 'a' ? 'b' : 'a'}${real.slice(31)}`,
    `${real},${real}`,
    'x'.repeat(5000)
  ]
}

t.test('a full render issues a new signed page id', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  const app = await build(t, { store })
  const first = await render(app)
  const second = await render(app)
  t.ok(app.nexState.verifyPageId(first))
  t.not(first, second, 'each render is a new page')
  t.equal(store.size, 2)
  t.equal(await store.get(first, 'visits'), 1)
})

t.test('a carried header id is reused; a boosted navigation still gets a new page', async (t) => {
  const app = await build(t)
  const id = await render(app)
  const one = await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  t.same(one.json(), { count: 1, pageId: id, carried: id })
  const two = await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  t.equal(two.json().count, 2)
  const read = await app.inject({ method: 'GET', url: '/count', headers: withHeader(id) })
  t.same(read.json(), { count: 2, carried: id })

  const next = await render(app, { ...withHeader(id), 'hx-request': 'true', 'hx-boosted': 'true' })
  t.not(next, id, 'startPage replaces the carried page')
  const fresh = await app.inject({ method: 'GET', url: '/count', headers: withHeader(next) })
  t.same(fresh.json(), { count: 0, carried: next }, 'the new page starts empty')
})

t.test('pageState is cached per request; startPage replaces it', async (t) => {
  const app = await build(t)
  const id = await render(app)
  const res = await app.inject({ method: 'GET', url: '/identity', headers: withHeader(id) })
  t.same(res.json(), { cached: true, startedIsCurrent: true, carriedKept: id, fresh: true })
})

t.test('a request without an id gets a new page only when it uses state', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  const app = await build(t, { store })
  const stateless = await app.inject({ method: 'GET', url: '/stateless' })
  t.same(stateless.json(), { pageId: null, carried: null })
  const res = await app.inject({ method: 'POST', url: '/increment' })
  const body = res.json()
  t.equal(body.count, 1)
  t.equal(body.carried, null)
  t.ok(app.nexState.verifyPageId(body.pageId), 'pageState issued a signed id on first access')
  const empty = await app.inject({ method: 'GET', url: '/stateless', headers: withHeader('') })
  t.same(empty.json(), { pageId: null, carried: null }, 'an empty header counts as no id')
})

t.test('forged ids get 410 + HX-Refresh before anything is allocated', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  const app = await build(t, { store })
  const id = await render(app)
  handled = 0
  for (const forged of forgedIds()) {
    for (const method of ['GET', 'POST'] as const) {
      const res = await app.inject({ method, url: method === 'GET' ? '/count' : '/increment', headers: withHeader(forged) })
      t.equal(res.statusCode, 410, `${method} ${forged.slice(0, 50)}`)
      t.equal(res.headers['hx-refresh'], 'true')
      t.equal(res.json().code, 'FST_NEX_STATE_INVALID_PAGE_ID')
    }
  }
  t.equal(handled, 0, 'no handler ran')
  t.equal(store.size, 1, 'only the rendered page exists')
  t.equal(store.pendingPages, 0)
  t.equal(await store.get(id, 'visits'), 1)
})

t.test('a flood of 10 000 forged ids leaves the store empty', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  const app = await build(t, { store })
  const signer = createPageIdSigner(['attacker-secret-that-is-long-enough-1234'])
  let refused = 0
  for (let batch = 0; batch < 100; batch++) {
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => app.inject({
      method: 'POST',
      url: '/increment',
      headers: withHeader(i % 2 === 0 ? signer.issue() : `${batch}-${i}`.padEnd(45, 'x'))
    })))
    refused += responses.filter((res) => res.statusCode === 410).length
  }
  t.equal(refused, 10_000)
  t.equal(store.size, 0)
  t.equal(store.bytes, 0)
  t.equal(store.pendingPages, 0)
})

t.test('plain form posts carry the id in the body field', async (t) => {
  const app = await build(t)
  const id = await render(app)
  const form = async (body: string, headers: Record<string, string> = {}) => app.inject({
    method: 'POST',
    url: '/increment',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: body
  })
  const posted = await form(`_nex_page=${encodeURIComponent(id)}&other=1`)
  t.same(posted.json(), { count: 1, pageId: id, carried: id })

  const forged = await form(`_nex_page=${'A'.repeat(22)}.${'A'.repeat(22)}`)
  t.equal(forged.statusCode, 410)
  t.equal(forged.headers['hx-refresh'], 'true')
  const twice = await form(`_nex_page=${id}&_nex_page=${id}`)
  t.equal(twice.statusCode, 410, 'a repeated field is refused')

  const other = await render(app)
  const both = await form(`_nex_page=${other}`, withHeader(id))
  t.equal(both.json().carried, id, 'the header wins over the field')

  const json = await app.inject({ method: 'POST', url: '/increment', payload: { _nex_page: id } })
  t.equal(json.json().carried, null, 'JSON bodies do not carry the id (use the header)')
  t.not(json.json().pageId, id)
})

t.test('the query string never carries the id', async (t) => {
  const app = await build(t)
  const id = await render(app)
  const res = await app.inject({ method: 'POST', url: `/increment?_nex_page=${id}&x-nex-page-id=${id}` })
  t.equal(res.json().carried, null)
  t.not(res.json().pageId, id)
})

t.test('200 concurrent increments of one page end at 200', async (t) => {
  const app = await build(t)
  const id = await render(app)
  const responses = await Promise.all(Array.from({ length: 200 }, () =>
    app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })))
  t.ok(responses.every((res) => res.statusCode === 200))
  const counts = responses.map((res) => res.json().count as number).sort((a, b) => a - b)
  t.same(counts, Array.from({ length: 200 }, (_, i) => i + 1))
  const read = await app.inject({ method: 'GET', url: '/count', headers: withHeader(id) })
  t.equal(read.json().count, 200)
})

t.test('each request slides the TTL with exactly one store operation', async (t) => {
  const inner = createMemoryStore()
  t.teardown(() => inner.close())
  const { store, calls } = countingStore(inner)
  const app = await build(t, { store })
  const id = await render(app)
  const reset = (): void => { for (const key of Object.keys(calls)) delete calls[key] }
  // onResponse runs once the response has been sent, just after inject resolves.
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  reset()
  await app.inject({ method: 'GET', url: '/count', headers: withHeader(id) })
  await settle()
  t.same(calls, { get: 1, touch: 1 }, 'a read: one touch')

  reset()
  await app.inject({ method: 'GET', url: '/stateless', headers: withHeader(id) })
  await settle()
  t.same(calls, { touch: 1 }, 'a request that does not use state still keeps its page alive')

  reset()
  await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  await settle()
  t.same(calls, { update: 1 }, 'a write slides the TTL itself: no touch')

  reset()
  const big = await app.inject({ method: 'POST', url: '/big', headers: withHeader(id) })
  await settle()
  t.equal(big.statusCode, 413)
  t.same(calls, { set: 1, touch: 1 }, 'a refused write did not slide the TTL, so touch does')

  reset()
  await app.inject({ method: 'GET', url: '/stateless' })
  await app.inject({ method: 'GET', url: '/count', headers: withHeader(`${'A'.repeat(22)}.${'A'.repeat(22)}`) })
  await settle()
  t.same(calls, {}, 'no id or a forged id: no store operation')
})

t.test('a failing touch is logged, never thrown', async (t) => {
  const inner = createMemoryStore()
  t.teardown(() => inner.close())
  const store: PageStore = { ...countingStore(inner).store, touch: async () => { throw new Error('store down') } }
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(String(chunk)); next() } })
  const app = await build(t, { store }, { logger: { level: 'warn', stream } })
  const id = await render(app)
  const res = await app.inject({ method: 'GET', url: '/stateless', headers: withHeader(id) })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(res.statusCode, 200)
  t.ok(lines.some((line) => line.includes('could not refresh the page TTL') && line.includes('store down')))
})

t.test('a write over maxPageBytes answers 413', async (t) => {
  const app = await build(t, { maxPageBytes: 4096 })
  const id = await render(app)
  const res = await app.inject({ method: 'POST', url: '/big', headers: withHeader(id) })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'FST_NEX_STATE_PAGE_TOO_LARGE')
  const after = await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  t.equal(after.json().count, 1, 'the page still works')
})

t.test('an expired page starts empty (no 410: the id is still genuine)', async (t) => {
  const app = await build(t, { ttl: 150 })
  const id = await render(app)
  await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  await sleep(400)
  const res = await app.inject({ method: 'GET', url: '/count', headers: withHeader(id) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { count: 0, carried: id })
})

t.test('nexState decorator', async (t) => {
  const app = await build(t)
  const id = await render(app)
  await app.inject({ method: 'POST', url: '/increment', headers: withHeader(id) })
  t.equal(app.nexState.header, 'x-nex-page-id')
  t.equal(app.nexState.field, '_nex_page')
  t.equal(await app.nexState.handle(id).get('count'), 1, 'handle reads the same page as requests')
  t.throws(() => app.nexState.handle('forged'), { code: 'FST_NEX_STATE_INVALID_PAGE_ID', statusCode: 410 })
  t.ok(app.nexState.verifyPageId(app.nexState.issuePageId()))
  t.notOk(app.nexState.verifyPageId('forged'))
})

t.test('custom header and field names', async (t) => {
  const app = await build(t, { header: 'X-Page', field: 'pid' })
  const id = await render(app)
  const viaHeader = await app.inject({ method: 'POST', url: '/increment', headers: { 'x-page': id } })
  t.equal(viaHeader.json().carried, id)
  const viaField = await app.inject({
    method: 'POST',
    url: '/increment',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `pid=${id}`
  })
  t.equal(viaField.json().count, 2)
  const ignored = await app.inject({ method: 'POST', url: '/increment', headers: withHeader('forged') })
  t.equal(ignored.statusCode, 200, 'the default header means nothing now')
})

t.test('secrets', async (t) => {
  const saved = { NODE_ENV: process.env.NODE_ENV, NEX_SECRET: process.env.NEX_SECRET }
  t.afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })
  const register = async (t: Test, options: StateOptions, fastifyOptions = {}): Promise<FastifyInstance> => {
    const app = Fastify(fastifyOptions)
    t.teardown(() => app.close())
    app.register(nexState, options)
    await app.ready()
    return app
  }

  t.test('production without a secret fails at register, saying how to set one', async (t) => {
    process.env.NODE_ENV = 'production'
    delete process.env.NEX_SECRET
    await t.rejects(register(t, {}), {
      code: 'FST_NEX_STATE_MISSING_SECRET',
      message: /NEX_SECRET=\$\(node -e .*randomBytes\(32\)/
    })
  })

  t.test('NEX_SECRET is used when no option is given', async (t) => {
    process.env.NODE_ENV = 'production'
    process.env.NEX_SECRET = SECRET
    const app = await register(t, {})
    t.ok(createPageIdSigner([SECRET]).verify(app.nexState.issuePageId()))
  })

  t.test('outside production a per-process secret is generated, with one warning', async (t) => {
    delete process.env.NODE_ENV
    delete process.env.NEX_SECRET
    const lines: string[] = []
    const stream = new Writable({ write (chunk, _encoding, next) { lines.push(String(chunk)); next() } })
    const one = await register(t, {}, { logger: { level: 'warn', stream } })
    const two = await register(t, {})
    const warnings = lines.filter((line) => line.includes('random per-process secret'))
    t.equal(warnings.length, 1)
    t.match(warnings[0], /will not survive a restart/)
    t.ok(two.nexState.verifyPageId(one.nexState.issuePageId()), 'apps in one process agree')
  })

  t.test('weak secrets are refused without echoing them', async (t) => {
    const weak = { code: 'FST_NEX_STATE_WEAK_SECRET' }
    await t.rejects(register(t, { secret: 'short-secret' }), { ...weak, message: /option "secret" is 12 characters long/ })
    await t.rejects(register(t, { secret: [SECRET, 'short'] }), { ...weak, message: /"secret\[1\]"/ })
    process.env.NEX_SECRET = 'tiny'
    const err = await register(t, {}).catch((err: Error) => err)
    t.match(err, { ...weak, message: /NEX_SECRET is 4 characters long/ })
    t.notMatch((err as Error).message, /tiny/)
    await t.rejects(register(t, { secret: [] }), { code: 'FST_NEX_STATE_INVALID_OPTION' })
    await t.rejects(register(t, { secret: 42 as unknown as string }), { code: 'FST_NEX_STATE_INVALID_OPTION' })
  })

  t.test('rotation: ids issued under the old secret keep working', async (t) => {
    const next = 'next-secret-that-is-long-enough-abcdefghij'
    const before = await register(t, { secret: SECRET })
    const after = await register(t, { secret: [next, SECRET] })
    t.ok(after.nexState.verifyPageId(before.nexState.issuePageId()))
    t.notOk(before.nexState.verifyPageId(after.nexState.issuePageId()), 'new ids use the new secret')
  })
})

t.test('invalid options fail at register with coded errors', async (t) => {
  const cases: Array<[StateOptions, RegExp]> = [
    [{ header: 'bad header' }, /option "header" must be a valid HTTP header name, got "bad header"/],
    [{ field: '' }, /option "field" must be a non-empty string/],
    [{ ttl: -5 }, /option "ttl" must be a positive integer, got -5/],
    [{ maxPages: Number.NaN }, /option "maxPages"/],
    [{ store: {} as PageStore }, /option "store" must be a PageStore .* got an object without get, getAll/],
    [{ store: createMemoryStore as unknown as PageStore }, /got a function/],
    [{ maxPagesPerSession: 0 }, /option "maxPagesPerSession" must be a positive integer, got 0/],
    [{ maxPagesPerSession: true as unknown as number }, /option "maxPagesPerSession" must be a positive integer, got true/],
    [{ sessionOf: 'sid' as never }, /option "sessionOf" must be a function/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(nexState, { secret: SECRET, ...options })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_NEX_STATE_INVALID_OPTION', message }, JSON.stringify(Object.keys(options)))
  }
})

t.test('maxPagesPerSession: a session keeps the state of its most recently used pages only', async (t) => {
  // The session of a request, as @nex/session's `request.session.id` would give it.
  const sessionOf = (request: FastifyRequest): string | null => (request.headers['x-session'] as string | undefined) ?? null
  const app = await build(t, { maxPagesPerSession: 3, sessionOf })
  const as = (session: string | null, id?: string): Record<string, string> =>
    ({ ...(id === undefined ? {} : withHeader(id)), ...(session === null ? {} : { 'x-session': session }) })
  const count = async (id: string, session: string | null): Promise<number> =>
    (await app.inject({ method: 'POST', url: '/increment', headers: as(session, id) })).json().count

  // Each render writes a page (visits); the session's fourth and fifth push out its first two.
  const pagesOfA: string[] = []
  for (let i = 0; i < 5; i++) pagesOfA.push(await render(app, as('a')))
  const stored = async (ids: string[]): Promise<unknown[]> => await Promise.all(ids.map((id) => app.nexState.store.get(id, 'visits')))
  t.same(await stored(pagesOfA), [undefined, undefined, 1, 1, 1], 'the two least recently used pages of 5 lost their state')

  // Using a page makes it the most recent: the oldest is now the 4th, which the next page pushes out.
  t.equal(await count(pagesOfA[2] as string, 'a'), 1)
  pagesOfA.push(await render(app, as('a')))
  t.same(await stored(pagesOfA.slice(2)), [1, undefined, 1, 1], 'the page in use stayed, the least recently used one went')

  // Another session, and visitors without one, are not counted against session a.
  const pagesOfB = [await render(app, as('b')), await render(app, as('b'))]
  const anonymous: string[] = []
  for (let i = 0; i < 5; i++) anonymous.push(await render(app, as(null)))
  t.same(await stored(pagesOfB), [1, 1], 'session b keeps its pages')
  t.same(await stored(anonymous), [1, 1, 1, 1, 1], 'pages of anonymous visitors are not capped per visitor')
  t.same(await stored([pagesOfA[2] as string, pagesOfA[4] as string, pagesOfA[5] as string]), [1, 1, 1], 'nor do they push out session a\'s')

  // A request that renders without writing has no state to count (and drops nothing).
  const before = await stored(pagesOfA.slice(2))
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/stateless', headers: as('a') })
  t.same(await stored(pagesOfA.slice(2)), before, 'stateless requests of the session change nothing')
})

t.test('maxPagesPerSession: false turns the cap off; a store without claim() is warned about', async (t) => {
  const sessionOf = (): string => 'one-session'
  const off = await build(t, { maxPagesPerSession: false, sessionOf })
  const pages: string[] = []
  for (let i = 0; i < 25; i++) pages.push(await render(off))
  t.equal((await Promise.all(pages.map((id) => off.nexState.store.get(id, 'visits')))).filter((v) => v === 1).length, 25, 'all 25 pages keep their state')

  const defaults = await build(t, { sessionOf })
  for (let i = 0; i < 25; i++) pages.push(await render(defaults))
  t.equal((await Promise.all(pages.slice(25).map((id) => defaults.nexState.store.get(id, 'visits')))).filter((v) => v === 1).length, 20, 'the default cap is 20')

  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { lines.push(String(chunk)); callback() } })
  const { claim: _claim, ...withoutClaim } = createMemoryStore()
  const store: PageStore = { ...withoutClaim }
  const app = await build(t, { store, sessionOf }, { logger: { stream } })
  t.match(lines.join(''), /the page store has no claim\(\): maxPagesPerSession is not enforced/)
  t.ok(ID_IN_HTML.test((await app.inject('/page')).body), 'the app works without the cap')

  // A sessionOf that throws is logged; the request is answered as usual.
  const throwing = await build(t, { sessionOf: () => { throw new Error('no session store') } }, { logger: { stream } })
  t.equal((await throwing.inject('/page')).statusCode, 200)
  await sleep(10)
  t.match(lines.join(''), /sessionOf\(\) threw; the page is not counted against a session/)
})

t.test('registering twice is refused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(nexState, { secret: SECRET })
  app.register(nexState, { secret: SECRET })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_NEX_STATE_ALREADY_REGISTERED' })
})

t.test('store ownership', async (t) => {
  t.test('a store you pass is not closed with the app', async (t) => {
    const store = createMemoryStore()
    t.teardown(() => store.close())
    const app = Fastify()
    app.register(nexState, { secret: SECRET, store })
    await app.ready()
    t.equal(app.nexState.store, store)
    await app.close()
    await t.resolves(store.ping())
  })

  t.test('the store the plugin created is closed with the app', async (t) => {
    const app = Fastify()
    app.register(nexState, { secret: SECRET })
    await app.ready()
    const store = app.nexState.store
    await t.resolves(store.ping())
    await app.close()
    await t.rejects(store.ping(), { code: 'FST_NEX_STATE_STORE_CLOSED' })
  })
})

t.test('navigations ignore the page id they carry; fragment requests and writes do not', async (t) => {
  const app = await build(t)
  const stale = createPageIdSigner(['the-secret-of-a-previous-process-0123456789']).issue()
  const navigations: Array<Record<string, string>> = [
    {},
    { 'hx-request': 'true', 'hx-boosted': 'true' },
    { 'hx-request': 'true', 'hx-request-type': 'full' },
    { 'hx-history-restore-request': 'true' }
  ]
  for (const headers of navigations) {
    const res = await app.inject({ method: 'GET', url: '/count', headers: { ...headers, 'x-nex-page-id': stale } })
    t.equal(res.statusCode, 200, `GET ${JSON.stringify(headers)} is a navigation: the stale id is ignored`)
    t.equal(res.headers['hx-refresh'], undefined)
  }
  const fragment = await app.inject({ method: 'GET', url: '/count', headers: withHeader(stale) })
  t.equal(fragment.statusCode, 410, 'an htmx fragment request is refused')
  const boostedPost = await app.inject({ method: 'POST', url: '/increment', headers: { 'hx-request': 'true', 'hx-boosted': 'true', 'x-nex-page-id': stale } })
  t.equal(boostedPost.statusCode, 410, 'a boosted form post (a write) is refused')
})
