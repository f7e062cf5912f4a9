/**
 * SEC-05 (RELIABILITY §6, §4.5): open redirects and script URLs through `Location`, `HX-Redirect` and
 * `HX-Location`, end to end over real sockets against the fixture app built with the `nex` preset in
 * production. plugins/security/test/redirect-guard.test.ts fuzzes the guard on a bare plugin through
 * inject(); this file fuzzes the routes an app really writes:
 *
 * - `GET /api/go?next=…`: an app that trusts user input, `reply.redirect(next)` (302 `Location`);
 * - `GET /api/go?next=…&header=hx-redirect|hx-location`: the same with the htmx headers set by hand;
 * - `POST /redirect?/go&next=…`: the framework helper `ctx.redirect(next)`, as an htmx action (`HX-Redirect`)
 *   and as a plain form post (303 `Location`); `?/location` with `{ htmx: 'location' }` (`HX-Location`).
 *
 * fast-check draws `next` from the row's attacks (`https://evil`, `//evil`, `/\evil`, `%2F%2Fevil`,
 * `javascript:alert(1)`, `\x01/evil`, …), mutated (random upper/lower case, percent-encoding of any
 * character, leading blanks and control characters, the JSON form of HX-Location), plus arbitrary strings,
 * `/` followed by arbitrary characters (non-Latin-1 ones cannot go into a header at all) and real
 * same-origin paths. Property: every answer is a 400, or its redirect header is a path with a single
 * leading `/` (not `//`, not `/\`, no scheme, no control character, also after percent-decoding) that the
 * browser's URL parser resolves to this origin. Never a scheme, never `//`. Same-origin paths still work.
 * A same-origin path with characters a header cannot carry (`/Ā`, `/日本`, spaces) is sent percent-encoded
 * by the redirect guard (it was a 500: Node refuses such header values).
 *
 * Scaled: 150 runs × 6 routes (900 requests); rate limits off for this app (SEC-06 covers them), so that
 * every request reaches the redirect.
 */
import t from 'tap'
import fc from 'fast-check'
import { serve } from '../helpers/browser.ts'
import { buildFixture } from './fixtures/sec-obs/apps.ts'
import { htmxHeaders, openPage } from './fixtures/sec-obs/http.ts'

const RUNS = 150
const ATTACKS = [
  'https://evil', '//evil', '/\\evil', '\\\\evil', '%2F%2Fevil', '/%2F%2Fevil', '/%5Cevil', '%5C%5Cevil', 'javascript:alert(1)',
  '\x01/evil', '/\x01/evil', '/\t/evil', ' //evil', '\t//evil', '///evil', 'http:evil', 'http:/evil', 'https:\\\\evil',
  'java\tscript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', '%09//evil', '/%09/evil',
  '/%0d%0aLocation:%20https://evil', '/\r\nLocation: https://evil', 'https://127.0.0.1@evil', '//127.0.0.1%2F@evil',
  '{"path":"//evil"}', '{"path":"javascript:alert(1)","target":"body"}', '', 'evil', '?next=//evil', '#//evil'
]
const SAFE = ['/', '/ok', '/a/b?c=d#e', '/search?q=https://evil', '/%E2%9C%93']

/** Flips the case of a character, or percent-encodes it (upper or lower hex). */
const mutation = fc.tuple(fc.nat(), fc.constantFrom('upper', 'lower', 'encode', 'encode-lower', 'prefix-blank', 'prefix-control'))

function mutate (value: string, [at, kind]: [number, string]): string {
  if (kind === 'prefix-blank') return ` ${value}`
  if (kind === 'prefix-control') return `${String.fromCharCode(at % 32)}${value}`
  if (value === '') return value
  const index = at % value.length
  const char = value[index] as string
  let replaced: string
  if (kind === 'upper') replaced = char.toUpperCase()
  else if (kind === 'lower') replaced = char.toLowerCase()
  else {
    const hex = [...Buffer.from(char)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
    replaced = kind === 'encode' ? hex.toUpperCase() : hex
  }
  return value.slice(0, index) + replaced + value.slice(index + 1)
}

const target = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...ATTACKS), fc.array(mutation, { maxLength: 4 })).map(([value, steps]) => steps.reduce(mutate, value)) },
  { weight: 1, arbitrary: fc.constantFrom(...ATTACKS, ...SAFE) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.webPath().filter((path) => path.startsWith('/')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }).map((rest) => `/${rest}`) },
  { weight: 1, arbitrary: fc.webUrl() }
)

const CONTROL = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex

/** Why `value` is not a same-origin path of `base`, or null when it is one. */
function offSite (value: string, base: string): string | null {
  for (const form of [value, safeDecode(value)]) {
    if (form === null) continue
    if (!form.startsWith('/')) return `does not start with "/": ${JSON.stringify(form)}`
    if (form[1] === '/' || form[1] === '\\') return `starts with "${form.slice(0, 2)}": ${JSON.stringify(form)}`
    if (CONTROL.test(form)) return `has a control character: ${JSON.stringify(form)}`
  }
  const resolved = new URL(value, base)
  if (resolved.origin !== new URL(base).origin) return `resolves to ${resolved.origin}`
  return null
}

function safeDecode (value: string): string | null {
  try {
    return decodeURIComponent(value)
  } catch {
    return null
  }
}

/** The target an HX-Location value names: itself, or the `path` of its JSON form. */
function hxLocationPath (value: string): string {
  if (!value.trimStart().startsWith('{')) return value
  try {
    const parsed = JSON.parse(value) as { path?: unknown }
    return typeof parsed.path === 'string' ? parsed.path : value
  } catch {
    return value
  }
}

t.test(`fast-check, ${RUNS} targets × 6 routes: 400, or a redirect to a path of this site`, async (t) => {
  const base = await serve(t, await buildFixture({ preset: { security: { rateLimit: false } } }))
  const page = await openPage(base, '/redirect')
  const statuses: Record<string, number> = {}
  const failures: string[] = []
  /** Targets answered with a 500 (there must be none). */
  const serverErrors: string[] = []

  async function check (route: string, next: string, init: RequestInit, header: string): Promise<void> {
    const query = `next=${encodeURIComponent(next)}`
    const response = await fetch(`${base}${route.replace('NEXT', query)}`, { redirect: 'manual', ...init })
    await response.arrayBuffer()
    const key = `${route.split('?')[0] ?? route} ${header} ${response.status}`
    statuses[key] = (statuses[key] ?? 0) + 1
    if (response.status === 500) {
      serverErrors.push(next)
      if (![...next].some((char) => (char.codePointAt(0) ?? 0) > 0xff)) failures.push(`${route} ${JSON.stringify(next)}: 500`)
      return
    }
    if (response.status === 400) {
      for (const name of ['location', 'hx-redirect', 'hx-location']) {
        if (response.headers.has(name)) failures.push(`${route} ${JSON.stringify(next)}: 400 with ${name}: ${response.headers.get(name) ?? ''}`)
      }
      return
    }
    const value = response.headers.get(header)
    if (value === null) {
      failures.push(`${route} ${JSON.stringify(next)}: ${response.status} without ${header}`)
      return
    }
    const why = offSite(header === 'hx-location' ? hxLocationPath(value) : value, base)
    if (why !== null) failures.push(`${route} ${JSON.stringify(next)}: ${response.status} ${header} ${JSON.stringify(value)} ${why}`)
  }

  const action = (extra: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: htmxHeaders(page, { 'x-csrf-token': page.token, ...extra }) })
  const form = (): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: page.cookie, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ _nex_page: page.pageId, _csrf: page.token }).toString()
  })

  await fc.assert(fc.asyncProperty(target, async (next) => {
    const before = failures.length
    await check('/api/go?NEXT', next, {}, 'location')
    await check('/api/go?NEXT&header=hx-redirect', next, {}, 'hx-redirect')
    await check('/api/go?NEXT&header=hx-location', next, {}, 'hx-location')
    await check('/redirect?/go&NEXT', next, action(), 'hx-redirect')
    await check('/redirect?/go&NEXT', next, form(), 'location')
    await check('/redirect?/location&NEXT', next, action(), 'hx-location')
    return failures.length === before
  }), { numRuns: RUNS, examples: ATTACKS.map((attack) => [attack]) }).catch((error: Error) => {
    t.fail(error.message.split('\n').slice(0, 4).join('\n'))
  })
  t.comment(`answers by route, header and status: ${JSON.stringify(statuses)}`)
  t.same(failures.slice(0, 20), [], `every answer: 400, or a same-origin path (${failures.length} failures)`)
  t.ok(Object.keys(statuses).every((key) => / (200|302|303|400|500)$/.test(key)), 'only 200, 302/303, 400 (and the 500s below)')
  t.same([...new Set(serverErrors)], [], 'no 500 for any target: a path a header cannot carry as is is sent percent-encoded')
})

t.test('the row\'s attacks, one by one, on every route: 400 with no redirect header; same-origin paths still redirect', async (t) => {
  const base = await serve(t, await buildFixture({ preset: { security: { rateLimit: false } } }))
  const page = await openPage(base, '/redirect')
  for (const next of ['https://evil', '//evil', '/\\evil', '%2F%2Fevil', 'javascript:alert(1)', '\x01/evil', 'JaVaScRiPt:alert(1)', '/%2f%2Fevil', 'HTTPS://EVIL']) {
    for (const route of ['/api/go', '/api/go?header=hx-redirect', '/api/go?header=hx-location']) {
      const url = `${base}${route}${route.includes('?') ? '&' : '?'}next=${encodeURIComponent(next)}`
      const response = await fetch(url, { redirect: 'manual' })
      t.equal(response.status, 400, `${route} ${JSON.stringify(next)}: 400`)
      t.notOk(response.headers.has('location') || response.headers.has('hx-redirect') || response.headers.has('hx-location'), 'no redirect header')
      t.notMatch(await response.text(), /evil/i, 'the target is not echoed')
    }
    const helper = await fetch(`${base}/redirect?/go&next=${encodeURIComponent(next)}`, { method: 'POST', headers: htmxHeaders(page, { 'x-csrf-token': page.token }) })
    t.equal(helper.status, 400, `ctx.redirect(${JSON.stringify(next)}): 400`)
  }
  for (const next of SAFE) {
    const response = await fetch(`${base}/api/go?next=${encodeURIComponent(next)}`, { redirect: 'manual' })
    t.same([response.status, response.headers.get('location')], [302, next], `${next}: 302 to itself`)
    const helper = await fetch(`${base}/redirect?/go&next=${encodeURIComponent(next)}`, { method: 'POST', headers: htmxHeaders(page, { 'x-csrf-token': page.token }) })
    t.same([helper.status, helper.headers.get('hx-redirect')], [200, next], `ctx.redirect(${next}): HX-Redirect`)
  }
})
