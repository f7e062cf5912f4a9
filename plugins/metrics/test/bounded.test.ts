// RELIABILITY MEM-03 ("atom exhaustion"): thousands of made-up paths, asset names and query strings
// leave the HTTP series exactly as they were; every unknown path lands in route="__unknown__".
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import { APP_FIXTURE, SECRET, build, scrape, seriesKeys, type Scraped } from './helpers.js'

const ROUNDS = 1000
const random = (): string => randomBytes(9).toString('base64url')

/** The series of the plugin's HTTP metrics (process metrics come and go with GC kinds and handles). */
function httpSeries (scraped: Scraped): Set<string> {
  return new Set([...seriesKeys(scraped)].filter(key => /^(http_|nex_http_)/.test(key)))
}

async function send (app: FastifyInstance, urls: string[]): Promise<number[]> {
  const statuses: number[] = []
  // In batches, so many requests are in flight at once without holding thousands of promises.
  for (let i = 0; i < urls.length; i += 100) {
    const batch = await Promise.all(urls.slice(i, i + 100).map(async url => (await app.inject(url)).statusCode))
    statuses.push(...batch)
    // inject() resolves without the event loop turning: let the immediates of the responses run.
    await new Promise(resolve => setImmediate(resolve))
  }
  return statuses
}

t.test('MEM-03: unknown paths, asset names and query strings add no series', async (t) => {
  const app = await build(t, {}, {
    setup: async (app) => {
      await app.register(nexState, { secret: SECRET })
      await app.register(nexRoutes, { dir: APP_FIXTURE, dev: false })
    }
  })
  const kinds = {
    unknownPage: () => `/${random()}`,
    unknownAsset: () => `/static/${random()}.js`,
    nestedUnknown: () => `/${random()}/${random()}/${random()}`,
    nexAsset: () => `/_nex/${random()}.js`, // the asset routes are fixed names: these are unknown
    pageParam: () => `/users/${random()}`,
    query: () => `/?${random()}=${random()}`,
    apiQuery: () => `/api/todos?page=${random()}`
  }
  // One of each first: the series they need exist from then on.
  const warmup = await send(app, Object.values(kinds).map(make => make()))
  const before = await scrape(app)
  const seriesBefore = httpSeries(before)

  const urls = Array.from({ length: ROUNDS }, () => Object.values(kinds).map(make => make())).flat()
  const statuses = await send(app, urls)
  t.equal(statuses.length, ROUNDS * Object.keys(kinds).length, `${statuses.length} requests`)
  t.same(new Set(statuses), new Set(warmup), 'answered like the warm-up (404s and 200s)')

  const after = await scrape(app)
  t.same([...httpSeries(after)].sort(), [...seriesBefore].sort(), 'the HTTP series are the same ones')
  t.equal(after.samples.length - before.samples.length, seriesKeys(after).size - seriesKeys(before).size, 'no duplicate series')

  const routes = new Set(after.find('http_request_duration_seconds_count').map(sample => sample.labels.route))
  t.same([...routes].sort(), ['/', '/api/todos', '/users/:id', '__unknown__'], 'route labels are patterns or __unknown__')
  const unknown = after.find('http_request_duration_seconds_count', { route: '__unknown__' })
  t.same(unknown.map(sample => sample.labels), [{ route: '__unknown__', method: 'GET', status_code: '4xx' }], 'one series for every unknown path')
  t.equal(unknown[0]?.value, 4 * (ROUNDS + 1), 'counting each of them')
  t.notOk(after.text.includes('/static/'), 'no path made up by a client appears anywhere')
})
