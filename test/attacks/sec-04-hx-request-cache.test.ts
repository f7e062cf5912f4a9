/**
 * SEC-04 (RELIABILITY §6, §4.4): `HX-Request` cache poisoning, end to end over real sockets against the
 * examples built with the `nex` preset in production. The same URL is asked for as a normal navigation,
 * as an htmx partial request (`HX-Request: true`, `HX-Request-Type: partial`), as htmx 2 sends it (bare
 * `HX-Request`), as a history restore and as a boosted navigation.
 *
 * For every page URL (counter `/`, todos `/` and `/about`, auth `/` and, logged in, `/dashboard`, chat
 * `/rooms/lobby`, dashboard `/`) and for an unknown URL: every answer has `Vary` naming `HX-Request` and
 * `HX-Request-Type`; the full page and the fragment really differ (so a shared cache must keep them apart);
 * ETags are either absent or different; and the answers, which carry a per-view page id or session data,
 * are never storable by a shared cache (`private` or `no-store`). Static files are the same bytes either
 * way, so their validators may be shared.
 *
 * The row's run through a real nginx `proxy_cache`, with controls that poison it, is in
 * sec-04-nginx-proxy-cache.test.ts; the headers above are what such a cache keys on.
 */
import t from 'tap'
import { serve } from '../helpers/browser.ts'
import { buildExample, EXAMPLE_PAGES } from './fixtures/sec-obs/apps.ts'
import { logInToAuthExample } from './fixtures/sec-obs/http.ts'

interface Variant { name: string, headers: Record<string, string> }

const FULL: Variant = { name: 'navigation', headers: {} }
const PARTIAL: Variant = { name: 'htmx partial', headers: { 'hx-request': 'true', 'hx-request-type': 'partial' } }
const VARIANTS: Variant[] = [
  FULL,
  PARTIAL,
  { name: 'htmx 2 (bare HX-Request)', headers: { 'hx-request': 'true' } },
  { name: 'history restore', headers: { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-history-restore-request': 'true' } },
  { name: 'boosted', headers: { 'hx-request': 'true', 'hx-request-type': 'full', 'hx-boosted': 'true' } }
]

interface Seen { status: number, vary: string, etag: string | null, cacheControl: string, body: string, isDocument: boolean }

async function get (base: string, path: string, headers: Record<string, string>): Promise<Seen> {
  const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' })
  const body = await response.text()
  return {
    status: response.status,
    vary: response.headers.get('vary') ?? '',
    etag: response.headers.get('etag'),
    cacheControl: response.headers.get('cache-control') ?? '',
    body,
    isDocument: /^\s*<!doctype html>/i.test(body)
  }
}

const varies = (vary: string, name: string): boolean => vary.split(',').some((part) => part.trim().toLowerCase() === name.toLowerCase())
const notShared = (cacheControl: string): boolean => /\b(private|no-store)\b/i.test(cacheControl)

for (const { example, paths, login } of EXAMPLE_PAGES) {
  t.test(`${example}: full page and fragment of one URL are told apart (Vary), never shared, no common ETag`, async (t) => {
    const base = await serve(t, await buildExample(example))
    let cookie = ''
    if (login === true) {
      const loggedIn = await logInToAuthExample(base)
      t.equal(loggedIn.status, 303, 'logged in (the dashboard is session-dependent)')
      cookie = loggedIn.cookie
    }
    for (const path of [...paths, '/no/such/page']) {
      const seen = new Map<string, Seen>()
      for (const variant of VARIANTS) {
        const answer = await get(base, path, cookie === '' ? variant.headers : { ...variant.headers, cookie })
        seen.set(variant.name, answer)
        const expected = path === '/no/such/page' ? 404 : 200
        t.equal(answer.status, expected, `${path}, ${variant.name}: ${expected}`)
        t.ok(varies(answer.vary, 'HX-Request') && varies(answer.vary, 'HX-Request-Type'), `${path}, ${variant.name}: Vary "${answer.vary}" names HX-Request and HX-Request-Type`)
        t.ok(notShared(answer.cacheControl), `${path}, ${variant.name}: Cache-Control "${answer.cacheControl}" keeps it out of shared caches`)
      }
      const full = seen.get(FULL.name) as Seen
      const partial = seen.get(PARTIAL.name) as Seen
      t.ok(full.isDocument && !partial.isDocument, `${path}: the navigation gets the document, the htmx partial request a fragment`)
      t.ok(seen.get('history restore')?.isDocument === true && seen.get('boosted')?.isDocument === true, `${path}: history restore and boosted requests get the document`)
      const etags = [...seen.values()].map((answer) => answer.etag)
      t.ok(etags.every((etag) => etag === null) || new Set(etags).size === etags.length, `${path}: ETags absent or all different (${JSON.stringify(etags)})`)
    }
  })
}

t.test('static files: the same bytes whatever HX-Request says, so one validator for both is right', async (t) => {
  const base = await serve(t, await buildExample('counter'))
  const plain = await fetch(`${base}/styles.css`)
  const htmx = await fetch(`${base}/styles.css`, { headers: PARTIAL.headers })
  t.equal(plain.status, 200)
  t.equal(await plain.text(), await htmx.text(), 'same body')
  t.equal(plain.headers.get('etag'), htmx.headers.get('etag'), 'same ETag for the same bytes')
})
