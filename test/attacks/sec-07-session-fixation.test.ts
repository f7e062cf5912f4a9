/**
 * SEC-07 (RELIABILITY §6, §4.7): session fixation and cookie flags, end to end over real sockets against
 * the auth example built with the `nex` preset in production.
 *
 * Fixation: an attacker plants a session id in the victim's browser, the victim logs in. Two plants: a
 * real, server-issued id (the attacker's own logged-in session, the strongest case, since an anonymous
 * visitor gets no session at all) and a forged one. In both, the login answers with a new id, the planted
 * id is not logged in afterwards (the old session is gone from the store: /dashboard redirects to /login)
 * while the new one is, and a forged cookie is never taken as a session.
 *
 * Flags: every cookie the login flow sets (the session, its flash cookie, the CSRF secret) is `HttpOnly;
 * SameSite=Lax; Path=/`. `Secure`: over TLS (the example served with `https`, a throw-away self-signed
 * certificate) on every one of them. On plain http the session and flash cookies have no `Secure`: their
 * default is `secure: 'auto'` (TLS only; behind a TLS-terminating proxy `trustProxy` makes
 * `X-Forwarded-Proto` count), since browsers drop `Secure` cookies sent over plain http (but on localhost).
 * The CSRF cookie is `Secure` in production whatever the protocol (@nex/security's `csrf.secure` default).
 */
import t from 'tap'
import { createTestCertificate } from '@nex/testing'
import { request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { serve } from '../helpers/browser.ts'
import { buildExample } from './fixtures/sec-obs/apps.ts'
import { cookiesOf, openPage } from './fixtures/sec-obs/http.ts'

const SESSION = 'nex_session'

/** The `name=value` of cookie `name` in a Cookie header, or undefined. */
const valueOf = (cookie: string, name: string): string | undefined => cookie.split('; ').find((pair) => pair.startsWith(`${name}=`))?.slice(name.length + 1)

async function login (base: string, cookie: string, password = 'password'): Promise<Response> {
  const form = await openPage(base, '/login', cookie)
  return await fetch(`${base}/login?/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ _nex_page: form.pageId, _csrf: form.token, email: 'admin@example.com', password }).toString()
  })
}

async function dashboard (base: string, cookie: string): Promise<{ status: number, location: string | null }> {
  const response = await fetch(`${base}/dashboard`, { redirect: 'manual', headers: { cookie } })
  await response.arrayBuffer()
  return { status: response.status, location: response.headers.get('location') }
}

t.test('a planted, server-issued session id: the login gives a new id, the planted one is logged out', async (t) => {
  const base = await serve(t, await buildExample('auth'))
  // The attacker's own session, logged in: a real id the store knows.
  const attacker = await login(base, '')
  const planted = cookiesOf(attacker)
  const plantedId = valueOf(planted, SESSION)
  t.ok(plantedId !== undefined, 'the attacker holds a server-issued session id')
  t.equal((await dashboard(base, planted)).status, 200, 'which is logged in')

  // The victim's browser carries the planted cookie and logs in.
  const victim = await login(base, `${SESSION}=${plantedId ?? ''}`)
  t.equal(victim.status, 303, 'the victim logs in')
  const victimCookie = cookiesOf(victim, `${SESSION}=${plantedId ?? ''}`)
  const newId = valueOf(victimCookie, SESSION)
  t.ok(newId !== undefined && newId !== plantedId, 'the login set a new session id')
  t.same(await dashboard(base, victimCookie), { status: 200, location: null }, 'the new id is logged in')
  t.same(await dashboard(base, `${SESSION}=${plantedId ?? ''}`), { status: 303, location: '/login' }, 'the planted id is not: its session left the store')
})

t.test('a forged session cookie is never a session, and the login replaces it', async (t) => {
  const base = await serve(t, await buildExample('auth'))
  for (const forged of ['attacker-chosen', 'zYcyB7KBjPlVNZ6zad2Fgg.AAAAAAAAAAAAAAAAAAAAAA', '']) {
    const cookie = `${SESSION}=${forged}`
    t.same(await dashboard(base, cookie), { status: 303, location: '/login' }, `${JSON.stringify(forged)}: not logged in`)
    const victim = await login(base, cookie)
    const newId = valueOf(cookiesOf(victim, cookie), SESSION)
    t.ok(newId !== undefined && newId !== forged && newId !== '', `${JSON.stringify(forged)}: the login set a new id`)
  }
})

interface CookieFlags { name: string, httpOnly: boolean, sameSite: string | null, path: string | null, secure: boolean }

function flagsOf (setCookies: readonly string[]): CookieFlags[] {
  return setCookies.map((line) => {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
    const has = (name: string): string | undefined => attributes.find((attribute) => attribute.toLowerCase().startsWith(name))
    return {
      name: pair.slice(0, pair.indexOf('=')),
      httpOnly: has('httponly') !== undefined,
      sameSite: has('samesite=')?.split('=')[1] ?? null,
      path: has('path=')?.split('=')[1] ?? null,
      secure: has('secure') !== undefined
    }
  })
}

/** The Set-Cookie lines of the login flow: the login page (CSRF), a failed login (flash), a login (session). */
async function loginFlowCookies (get: (path: string, init?: { method?: string, headers?: Record<string, string>, body?: string }) => Promise<{ setCookies: string[], body: string }>): Promise<string[]> {
  const page = await get('/login')
  const cookie = page.setCookies.map((line) => line.split(';')[0]).join('; ')
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1] ?? ''
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const post = async (password: string): Promise<string[]> => (await get('/login?/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ _nex_page: pageId, _csrf: token, email: 'admin@example.com', password }).toString()
  })).setCookies
  return [...page.setCookies, ...await post('wrong'), ...await post('password')]
}

t.test('plain http in production: HttpOnly, SameSite=Lax, Path=/; Secure only on the CSRF cookie (session: secure "auto")', async (t) => {
  const base = await serve(t, await buildExample('auth'))
  const lines = await loginFlowCookies(async (path, init = {}) => {
    const response = await fetch(`${base}${path}`, { redirect: 'manual', ...init })
    return { setCookies: response.headers.getSetCookie(), body: await response.text() }
  })
  const flags = flagsOf(lines)
  const names = flags.map((cookie) => cookie.name)
  t.ok(names.includes('_csrf') && names.includes(SESSION), `the CSRF and session cookies among them (${names.join(', ')})`)
  for (const cookie of flags) {
    t.ok(cookie.httpOnly && cookie.sameSite?.toLowerCase() === 'lax' && cookie.path === '/', `${cookie.name}: HttpOnly; SameSite=Lax; Path=/`)
    t.equal(cookie.secure, cookie.name === '_csrf', `${cookie.name}: ${cookie.name === '_csrf' ? 'Secure (csrf.secure: true in production)' : 'no Secure on plain http (secure: "auto")'}`)
  }
})

t.test('over TLS: every cookie of the login flow is Secure; HttpOnly; SameSite=Lax', async (t) => {
  const app = await buildExample('auth', { server: { logger: false, https: createTestCertificate() } })
  t.teardown(async () => await app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const lines = await loginFlowCookies(async (path, init = {}) => await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, rejectUnauthorized: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ setCookies: res.headers['set-cookie'] ?? [], body }))
    })
    req.on('error', reject)
    req.end(init.body)
  }))
  const flags = flagsOf(lines)
  const names = flags.map((cookie) => cookie.name)
  t.ok(names.includes('_csrf') && names.includes(SESSION), `the CSRF and session cookies among them (${names.join(', ')})`)
  for (const cookie of flags) {
    t.ok(cookie.secure && cookie.httpOnly && cookie.sameSite?.toLowerCase() === 'lax', `${cookie.name}: Secure; HttpOnly; SameSite=Lax`)
  }
})
