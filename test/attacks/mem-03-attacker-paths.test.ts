/**
 * MEM-03 (RELIABILITY §6, §5.4): caches and metrics keyed by attacker-chosen paths ("atom exhaustion"),
 * against the counter example built with the `nex` preset in production, in its own process started with
 * `--expose-gc` (its heap measured on its own), flooded with the real autocannon CLI and `-I` (each
 * request gets a fresh random id in place of `[<id>]`):
 *
 * - `/[<id>]` and `/[<id>]/[<id>]` (unknown pages), `/static/[<id>].js` (unknown static files, the row's
 *   form), `/[<id>].js` (next to the real static files), `/_nex/htmx@<version>/[<id>].js` (inside the
 *   asset folder), `/?[<id>]=[<id>]` (a real page with random query strings) and `/styles.css?v=[<id>]` (a
 *   real file, cache-busting queries).
 *
 * Asserted: the `/metrics` series are the same set before and after (the HTTP series exactly; process
 * metrics labelled by runtime resource or GC kind are left out, they follow the runtime, not the paths),
 * every unknown path counted under `route="__unknown__"` (its count grew by exactly the flood's 404s),
 * but those inside the asset folder, which match its one wildcard route (`/_nex/htmx@<version>/*`), and no
 * route label holds a path the attacker chose; the heap after GC within +5 MB of the baseline taken after an
 * identical warm-up; every answer 200 or 404, no error. Template, route and ETag caches have no size to
 * read from outside the process; the route table is fixed at boot (static files: one route per file),
 * which the unchanged series of the route label show.
 *
 * Scaled: 3 000 requests per URL shape, 21 000 in all (-c 20; after a warm-up of 1 000 per shape), instead
 * of 100 000 per URL; rate limits off for
 * the app so that the flood reaches the router (the preset's 600/min would answer most of it with 429).
 */
import t from 'tap'
import { autocannon } from './helpers/load.ts'
import { startPresetProcess } from './fixtures/sec-obs/preset-process.ts'
import { scrape, total, type Scrape } from './fixtures/sec-obs/metrics.ts'

const PER_URL = 3_000
const WARM_UP = 1_000
const HEAP_TOLERANCE = 5 * 1024 * 1024
// Labelled by runtime resource type or GC kind: they change with what the process is doing, whatever the URLs.
const RUNTIME = /^nodejs_(active_handles|active_requests|active_resources|gc_duration_seconds)/

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`

function keys (scraped: Scrape): string[] {
  return [...scraped.series.values()].filter((series) => !RUNTIME.test(series.name))
    .map((series) => `${series.name}{${Object.entries(series.labels).map(([name, value]) => `${name}="${value}"`).join(',')}}`).sort()
}

function routes (scraped: Scrape): string[] {
  return [...new Set([...scraped.series.values()].flatMap((series) => series.labels.route === undefined ? [] : [series.labels.route]))].sort()
}

t.test(`${7 * PER_URL} requests to attacker-chosen paths: no new series, all unknown as __unknown__, heap +5 MB at most`, async (t) => {
  const app = await startPresetProcess(t, { app: 'counter', preset: { security: { rateLimit: false } } })
  const home = await (await fetch(`${app.origin}/`)).text()
  const htmx = /src="(\/_nex\/htmx@[^/]+)\//.exec(home)?.[1]
  if (htmx === undefined) throw new Error('no htmx script on the page')
  // autocannon's argument parser (subarg) takes a word ending in `]` for the end of a sub-argument list:
  // such URLs get a constant `_` query parameter at the end.
  const urls = [
    '/[<id>]?_', '/[<id>]/[<id>]?_', '/static/[<id>].js', '/[<id>].js', `${htmx}/[<id>].js`, '/?[<id>]=[<id>]&_', '/styles.css?v=[<id>]&_'
  ]

  const flood = async (amount: number): Promise<Record<string, number>> => {
    const statuses: Record<string, number> = {}
    for (const url of urls) {
      const result = await autocannon(['-I', '-c', '20', '-a', String(amount), `${app.origin}${url}`])
      t.equal(result.errors + result.timeouts, 0, `${url} × ${amount}: no error or timeout`)
      for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[`${url} ${status}`] = (statuses[`${url} ${status}`] ?? 0) + count
    }
    return statuses
  }

  // Warm-up: the same shapes (JIT, lazily created series of __unknown__, pools), then the baseline.
  await flood(WARM_UP)
  const baseline = await app.heap()
  const before = await scrape(app.origin)
  t.equal(before.status, 200, '/metrics answers')

  const statuses = await flood(PER_URL)
  const after = await scrape(app.origin)
  const heap = await app.heap()
  t.comment(`answers: ${JSON.stringify(statuses)}`)
  t.ok(Object.keys(statuses).every((key) => / (200|404)$/.test(key)), 'every answer is 200 (a real page or file) or 404')

  t.same(keys(after), keys(before), `the same ${keys(before).length} series before and after`)
  t.same(routes(after), routes(before), `route labels unchanged: ${routes(after).join(' ')}`)
  t.ok(routes(after).every((route) => route === '__unknown__' || !/[A-Za-z0-9+/_-]{16,}/.test(route)), 'no route label holds an attacker\'s id')
  const count = (scraped: Scrape, route: string): number => total(scraped, 'http_request_duration_seconds_count', { route, status_code: '4xx' })
  const unknown = Object.entries(statuses).filter(([key]) => key.endsWith(' 404') && !key.startsWith('/_nex/')).reduce((sum, [, n]) => sum + n, 0)
  t.equal(count(after, '__unknown__') - count(before, '__unknown__'), unknown, `the flood's ${unknown} 404s outside the asset folder are counted under route="__unknown__"`)
  // Inside /_nex/htmx@…/ a path matches the asset folder's own wildcard route: one fixed label.
  const assetRoute = `${htmx}/*`
  t.ok(routes(after).includes(assetRoute), `unknown files in the asset folder are counted under its route "${assetRoute}"`)
  t.equal(count(after, assetRoute) - count(before, assetRoute), statuses[`${htmx}/[<id>].js 404`] ?? -1, 'each of them')
  t.ok(total(after, 'nex_http_errors_total', { route: '__unknown__', reason: 'client_error' }) > total(before, 'nex_http_errors_total', { route: '__unknown__', reason: 'client_error' }),
    'and as client errors of __unknown__')

  const growth = heap.heapUsed - baseline.heapUsed
  t.comment(`heap after GC: ${mb(baseline.heapUsed)} → ${mb(heap.heapUsed)} (rss ${mb(baseline.rss)} → ${mb(heap.rss)})`)
  t.ok(growth <= HEAP_TOLERANCE, `heap after GC grew ${mb(growth)} over ${urls.length * PER_URL} requests (limit +5 MB)`)
})
