// Page actions: `POST <page url>?/<name>`, for htmx and for plain form posts.
import t from 'tap'
import { buildApp, pageIdOf } from './helpers.js'

const HTMX = { 'hx-request': 'true', 'hx-request-type': 'partial' }
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('an htmx action gets what the action returns, on the same page view', async t => {
  const app = await buildApp(t, 'app/src')
  const page = await app.inject('/counter')
  const id = pageIdOf(page.body)
  for (const expected of [1, 2, 3]) {
    const res = await app.inject({ method: 'POST', url: '/counter?/increment', headers: { ...HTMX, 'x-nex-page-id': id } })
    t.equal(res.statusCode, 200)
    t.equal(res.body, `<span id="count">${expected}</span>`)
    t.match(res.headers['content-type'], /^text\/html/)
    t.equal(res.headers.vary, 'HX-Request, HX-Request-Type')
  }
  const partial = await app.inject({ url: '/counter', headers: { ...HTMX, 'x-nex-page-id': id } })
  t.notMatch(partial.body, /<html/, 'a partial GET is the bare page')
  t.match(partial.body, /<span id="count">3<\/span>/, 'and reads the same page view')
})

t.test('every full render is a new page view', async t => {
  const app = await buildApp(t, 'app/src')
  const first = pageIdOf((await app.inject('/counter')).body)
  await app.inject({ method: 'POST', url: '/counter?/increment', headers: { ...HTMX, 'x-nex-page-id': first } })
  const boosted = await app.inject({ url: '/counter', headers: { 'hx-request': 'true', 'hx-boosted': 'true', 'x-nex-page-id': first } })
  const second = pageIdOf(boosted.body)
  t.not(second, first, 'boosted navigation starts a new page view')
  t.match(boosted.body, /<span id="count">0<\/span>/)
  const restore = await app.inject({ url: '/counter', headers: { 'hx-request': 'true', 'hx-history-restore-request': 'true', 'x-nex-page-id': first } })
  t.match(restore.body, /^<!doctype html>/, 'history restore gets the full page')
  const full = await app.inject({ url: '/counter', headers: { 'hx-request': 'true', 'hx-request-type': 'full' } })
  t.match(full.body, /^<!doctype html>/, 'HX-Request-Type: full gets the full page')
  const htmx2 = await app.inject({ url: '/counter', headers: { 'hx-request': 'true' } })
  t.notMatch(htmx2.body, /^<!doctype html>/, 'htmx 2 (no HX-Request-Type) gets the fragment')
})

t.test('a plain form post re-renders the full page for the same page view', async t => {
  const app = await buildApp(t, 'app/src')
  const id = pageIdOf((await app.inject('/counter')).body)
  t.match((await app.inject('/counter')).body, /name="_nex_page" value="[^"]+"/, 'the form carries the page id')
  for (const expected of [1, 2]) {
    const res = await app.inject({ method: 'POST', url: '/counter?/increment', headers: FORM, payload: `_nex_page=${encodeURIComponent(id)}` })
    t.equal(res.statusCode, 200)
    t.match(res.body, /^<!doctype html>/)
    t.equal(pageIdOf(res.body), id, 'same page id')
    t.match(res.body, new RegExp(`<span id="count">${expected}</span>`))
  }
  const boosted = await app.inject({ method: 'POST', url: '/counter?/increment', headers: { ...FORM, 'hx-request': 'true', 'hx-boosted': 'true', 'hx-request-type': 'full', 'x-nex-page-id': id } })
  t.match(boosted.body, /^<!doctype html>/, 'a boosted form post also gets the full page')
  t.match(boosted.body, /<span id="count">3<\/span>/)
})

t.test('ctx.locals carries what an action leaves for the re-rendered page', async t => {
  const app = await buildApp(t, 'app/src')
  const plain = await app.inject({ method: 'POST', url: '/counter?/note' })
  t.match(plain.body, /<p id="note">saved &lt;for later&gt;<\/p>/)
  const viaHtmx = await app.inject({ method: 'POST', url: '/counter?/note', headers: HTMX })
  t.equal(viaHtmx.statusCode, 204, 'an htmx action returning nothing is 204')
  const next = await app.inject('/counter')
  t.match(next.body, /<p id="note"><\/p>/, 'locals live for one request')
})

t.test('explicit responses: redirect, 204, status', async t => {
  const app = await buildApp(t, 'app/src')
  const id = pageIdOf((await app.inject('/counter')).body)
  const htmx = { ...HTMX, 'x-nex-page-id': id }

  const plain = await app.inject({ method: 'POST', url: '/counter?/go' })
  t.equal(plain.statusCode, 303, 'post/redirect/get for plain posts')
  t.equal(plain.headers.location, '/about')

  const viaHtmx = await app.inject({ method: 'POST', url: '/counter?/go', headers: htmx })
  t.equal(viaHtmx.statusCode, 200, 'htmx ignores headers on 3xx, so 200')
  t.equal(viaHtmx.headers['hx-redirect'], '/about')
  t.equal(viaHtmx.headers.location, undefined)

  const nothing = await app.inject({ method: 'POST', url: '/counter?/nothing', headers: htmx })
  t.equal(nothing.statusCode, 204)
  t.same(JSON.parse(nothing.headers['hx-trigger'] as string), { done: { ok: true } })

  const invalid = await app.inject({ method: 'POST', url: '/counter?/invalid', headers: htmx })
  t.equal(invalid.statusCode, 422)
  t.equal(invalid.body, '<p id="invalid">bad</p>')

  const headers = await app.inject({ method: 'POST', url: '/counter?/headers', headers: htmx })
  t.same(JSON.parse(headers.headers['hx-trigger'] as string), { a: null, b: 2 })
  t.equal(headers.headers['hx-retarget'], '#x')
  t.equal(headers.headers['hx-reswap'], 'outerHTML')
  t.equal(headers.headers['hx-push-url'], '/counter?x=1')
  t.equal(headers.headers['hx-refresh'], 'true')
})

t.test('redirects accept only same-origin paths', async t => {
  const app = await buildApp(t, 'app/src')
  for (const to of ['https://evil.example', '//evil.example', '/\\evil.example', '%2F%2Fevil', 'javascript:alert(1)', '/%2F/evil', '/%5Cevil', '\x01/evil', 'about']) {
    const res = await app.inject({ method: 'POST', url: '/counter?/evil', headers: { ...HTMX, ...FORM }, payload: `to=${encodeURIComponent(to)}` })
    t.equal(res.statusCode, 400, `${JSON.stringify(to)} refused`)
    t.equal(res.headers['hx-redirect'], undefined)
    t.equal(res.headers.location, undefined)
  }
  const ok = await app.inject({ method: 'POST', url: '/counter?/evil', headers: { ...HTMX, ...FORM }, payload: 'to=%2Fusers%2F1%3Fx%3D2' })
  t.equal(ok.headers['hx-redirect'], '/users/1?x=2')
})

t.test('unknown actions get 404 and allocate nothing', async t => {
  const app = await buildApp(t, 'app/src')
  const store = app.nexState.store as unknown as { size: number }
  for (const name of ['nope', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '%E0%A4%A', 'a%20b', '']) {
    const res = await app.inject({ method: 'POST', url: `/counter?/${name}`, headers: HTMX })
    if (name === '') {
      t.equal(res.statusCode, 404, 'an empty name is not the default action')
      continue
    }
    t.equal(res.statusCode, 404, `?/${name} is 404`)
  }
  const noName = await app.inject({ method: 'POST', url: '/counter', headers: HTMX })
  t.equal(noName.statusCode, 404, 'no default action on this page')
  t.equal(store.size, 0, 'nothing was stored')
})

t.test('actions answer every unsafe method, with the action body limit', async t => {
  const app = await buildApp(t, 'app/src', { actionBodyLimit: 1024 })
  const id = pageIdOf((await app.inject('/counter')).body)
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/counter?/increment', headers: { ...HTMX, 'x-nex-page-id': id } })
    t.equal(res.statusCode, 200, `${method} runs the action`)
  }
  const big = await app.inject({ method: 'POST', url: '/counter?/add', headers: { ...HTMX, ...FORM }, payload: `amount=1&pad=${'x'.repeat(2000)}` })
  t.equal(big.statusCode, 413)
  const json = await app.inject({ method: 'POST', url: '/counter?/add', headers: { ...HTMX, 'x-nex-page-id': id }, payload: { amount: 5 } })
  t.equal(json.body, '<span id="count">8</span>', 'JSON bodies reach ctx.body')
})

t.test('concurrent actions on one page view never lose an update', async t => {
  const app = await buildApp(t, 'app/src')
  const id = pageIdOf((await app.inject('/counter')).body)
  const headers = { ...HTMX, 'x-nex-page-id': id }
  await Promise.all(Array.from({ length: 200 }, async () => await app.inject({ method: 'POST', url: '/counter?/slow', headers })))
  const res = await app.inject({ url: '/counter', headers })
  t.match(res.body, /<span id="count">200<\/span>/)
})

t.test('a page id the server never issued is refused with 410', async t => {
  const app = await buildApp(t, 'app/src')
  const res = await app.inject({ method: 'POST', url: '/counter?/increment', headers: { ...HTMX, 'x-nex-page-id': 'forged.id' } })
  t.equal(res.statusCode, 410)
  t.equal(res.headers['hx-refresh'], 'true')
  t.equal((app.nexState.store as unknown as { size: number }).size, 0)
})
