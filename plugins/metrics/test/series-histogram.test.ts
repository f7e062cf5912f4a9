// The request-duration histogram (lib/series-histogram.ts) renders exactly what prom-client's Histogram
// renders for the same observations: Prometheus text, OpenMetrics, JSON, with default labels, after a reset.
import t from 'tap'
import { Histogram, Registry, type Metric } from 'prom-client'
import { SeriesHistogram } from '../src/lib/series-histogram.js'

const NAME = 'http_request_duration_seconds'
const HELP = 'Time from routing a request to the end of its response'
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const LABEL_SETS = [
  { route: '/', method: 'GET', status_code: '2xx' },
  { route: '/todos/:id', method: 'POST', status_code: '4xx' },
  { route: '/a "quoted" \\ path', method: 'OTHER', status_code: '5xx' }
]
// On the bounds, between them, above them all, zero, tiny.
const VALUES = [0, 1e-9, 0.005, 0.0051, 0.01, 0.2, 0.25, 1, 3, 10, 10.5, 1e6]

type AnyRegistry = Registry | Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'>

function pair (registry: () => AnyRegistry): { ours: AnyRegistry, theirs: AnyRegistry, observe: (set: number, value: number) => void } {
  const ours = registry()
  const theirs = registry()
  const histogram = new SeriesHistogram({ name: NAME, help: HELP, buckets: BUCKETS })
  ours.registerMetric(histogram as unknown as Metric)
  const reference = new Histogram({ name: NAME, help: HELP, labelNames: ['route', 'method', 'status_code'], buckets: BUCKETS, registers: [theirs] })
  return {
    ours,
    theirs,
    observe (set, value) {
      const labels = LABEL_SETS[set] as Record<string, string>
      histogram.series(JSON.stringify(labels), labels).observe(value)
      reference.labels(labels).observe(value)
    }
  }
}

t.test('Prometheus text and JSON: the same as prom-client for the same observations', async (t) => {
  const { ours, theirs, observe } = pair(() => new Registry())
  t.equal(await ours.metrics(), await theirs.metrics(), 'no series yet: the same (header only)')
  VALUES.forEach((value, i) => observe(i % LABEL_SETS.length, value))
  observe(0, 0.3)
  t.equal(await ours.metrics(), await theirs.metrics())
  t.same(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON())
  t.match(await ours.metrics(), /^http_request_duration_seconds_bucket\{le="\+Inf",route="\/",method="GET",status_code="2xx"\} 5$/m)
})

/** The text with each line's labels sorted: prom-client puts default labels at different places, which means nothing. */
function labelsSorted (text: string): string {
  return text.replace(/\{(.*)\}/g, (_match, inner: string) => `{${inner.split(/,(?=[a-z_]+=")/).sort().join(',')}}`)
}

t.test('OpenMetrics and default labels: the same series and values as prom-client', async (t) => {
  const { ours, theirs, observe } = pair(() => {
    const registry = new Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    registry.setDefaultLabels({ instance: 'a' })
    return registry
  })
  for (const value of VALUES) observe(1, value)
  t.equal(labelsSorted(await ours.metrics()), labelsSorted(await theirs.metrics()))
  t.match(await ours.metrics(), /# EOF\n$/, 'OpenMetrics')
})

t.test('resetMetrics: series disappear until observed again, as with prom-client', async (t) => {
  const { ours, theirs, observe } = pair(() => new Registry())
  for (const value of VALUES) observe(2, value)
  ours.resetMetrics()
  theirs.resetMetrics()
  t.equal(await ours.metrics(), await theirs.metrics())
  t.notMatch(await ours.metrics(), /_bucket/)
  observe(2, 0.5)
  t.equal(await ours.metrics(), await theirs.metrics())
})
