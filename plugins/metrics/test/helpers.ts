/**
 * What the metrics tests share: an app with the plugin (closed by the test's teardown), a scrape through
 * `inject`, and a reader of the Prometheus text format that keeps every sample with its labels.
 */
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import nexMetrics, { type MetricsOptions } from '../src/index.js'

export const SECRET = 'metrics-test-secret-metrics-test-secret-012'

/** The file-route tree of the tests: `/`, `/users/:id`, `/counter` (page state), `/api/todos`. */
export const APP_FIXTURE = fileURLToPath(new URL('./fixtures/app', import.meta.url))

export interface BuildOptions {
  fastify?: FastifyServerOptions
  /** Registers plugins and routes, after @nex/metrics. */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/** An app with @nex/metrics, ready; closed by the teardown of `t`. */
export async function build (t: Test, options: MetricsOptions = {}, { fastify = {}, setup }: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastify)
  t.teardown(async () => await app.close())
  await app.register(nexMetrics, options)
  await setup?.(app)
  await app.ready()
  return app
}

/** The metrics text, read through the route like Prometheus would. */
export async function scrape (app: FastifyInstance, path = '/metrics'): Promise<Scraped> {
  const response = await app.inject(path)
  if (response.statusCode !== 200) throw new Error(`GET ${path} answered ${response.statusCode}: ${response.body}`)
  return parseMetrics(response.body)
}

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Scraped {
  readonly text: string
  readonly samples: Sample[]
  /** `# TYPE` of each metric family. */
  readonly types: Map<string, string>
  /** The value of the sample `name` whose labels include `labels`; undefined when there is none. */
  value (name: string, labels?: Record<string, string>): number | undefined
  /** The samples of `name` (exactly) whose labels include `labels`. */
  find (name: string, labels?: Record<string, string>): Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy

/** Reads the Prometheus text exposition format (what prom-client writes). */
export function parseMetrics (text: string): Scraped {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type !== null) types.set(type[1] as string, type[2] as string)
      continue
    }
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    const body = match[2] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body)
      if (label === null) throw new Error(`bad labels in ${JSON.stringify(line)}`)
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) => c === 'n' ? '\n' : c)
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  const find = (name: string, labels: Record<string, string> = {}): Sample[] =>
    samples.filter(sample => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  return {
    text,
    samples,
    types,
    find,
    value: (name, labels) => find(name, labels)[0]?.value
  }
}

/** `name{label="value",…}` of every sample: what Prometheus stores as separate series. */
export function seriesKeys (scraped: Scraped): Set<string> {
  return new Set(scraped.samples.map(sample => `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`))
}

/** The request count of `http_request_duration_seconds` for these labels (0 when the series is absent). */
export function requestCount (scraped: Scraped, labels: Record<string, string>): number {
  return scraped.value('http_request_duration_seconds_count', labels) ?? 0
}

/** Polls `condition` every 5 ms; resolves to whether it held within `timeout` ms. */
export async function eventually (condition: () => boolean | Promise<boolean>, timeout = 5000): Promise<boolean> {
  const deadline = Date.now() + timeout
  while (!(await condition())) {
    if (Date.now() > deadline) return false
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return true
}
