/**
 * A histogram for the request hot path, shown to prom-client's registry as an ordinary histogram.
 *
 * prom-client's `Histogram` checks and hashes the labels of every observation, even through a `labels()`
 * child (0.38 µs an observation, measured with a loop of `child.observe()`), and the duration histogram
 * takes one per request. Here a series is made once per label set and an observation is a bucket search and
 * three additions. The registry reads `get()` at scrape time and renders the values itself, in the shape
 * prom-client's `Histogram.get()` gives them (`_bucket` with `le`, cumulative, then `+Inf`, `_sum`,
 * `_count`), so the text, the OpenMetrics output, default labels and cluster aggregation are prom-client's.
 */
/** One sample, as prom-client's `Histogram.get()` lists them. */
export interface HistogramSample {
  value: number
  metricName: string
  exemplar: null | undefined
  labels: Record<string, string | number>
}

/** What `get()` gives the registry: prom-client's `Histogram.get()` shape (its `.d.ts` types `type` as an enum). */
export interface HistogramData {
  name: string
  help: string
  type: 'histogram'
  values: HistogramSample[]
  aggregator: 'sum'
}

/**
 * Appends one series' samples as prom-client lists them: cumulative `_bucket` per bound, `+Inf`, `_sum`,
 * `_count`. `perBucket` holds the observations of each bucket (not cumulative), one slot per bound at least.
 */
export function pushHistogramSamples (values: HistogramSample[], name: string, bounds: readonly number[],
  perBucket: ArrayLike<number>, sum: number, labels: Readonly<Record<string, string>>): void {
  const bucket = `${name}_bucket`
  let cumulative = 0
  bounds.forEach((le, i) => {
    cumulative += perBucket[i] as number
    values.push({ value: cumulative, metricName: bucket, exemplar: null, labels: { le, ...labels } })
  })
  let count = cumulative
  for (let i = bounds.length; i < perBucket.length; i++) count += perBucket[i] as number
  values.push(
    { value: count, metricName: bucket, exemplar: null, labels: { le: '+Inf', ...labels } },
    { value: sum, metricName: `${name}_sum`, exemplar: undefined, labels: { ...labels } },
    { value: count, metricName: `${name}_count`, exemplar: undefined, labels: { ...labels } }
  )
}

/** The counters of one label set. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound (`+Inf` only). */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (readonly labels: Readonly<Record<string, string>>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    ;(this.counts[i] as number)++
    this.sum += value
    this.count++
  }
}

export interface SeriesHistogramOptions {
  name: string
  help: string
  /** Upper bounds in seconds, ascending, finite. */
  buckets: readonly number[]
}

export class SeriesHistogram {
  readonly type = 'histogram' as const
  readonly aggregator = 'sum' as const
  readonly name: string
  readonly help: string
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, HistogramSeries>()

  constructor (options: SeriesHistogramOptions) {
    this.name = options.name
    this.help = options.help
    this.#bounds = Object.freeze([...options.buckets])
  }

  /** The series of `labels` (made on first use). `key` identifies the label set; the caller builds it once. */
  series (key: string, labels: Readonly<Record<string, string>>): HistogramSeries {
    let series = this.#series.get(key)
    if (series === undefined) {
      series = new HistogramSeries(Object.freeze({ ...labels }), this.#bounds)
      this.#series.set(key, series)
    }
    return series
  }

  /** What prom-client's registry renders (the values of `Histogram.get()`). */
  async get (): Promise<HistogramData> {
    // Exemplars are not kept (null, as prom-client gives them without `enableExemplars`).
    const values: HistogramSample[] = []
    for (const series of this.#series.values()) {
      // Like prom-client: a label set shows once it has an observation (and again after a reset).
      if (series.count === 0) continue
      pushHistogramSamples(values, this.name, this.#bounds, series.counts, series.sum, series.labels)
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** `registry.resetMetrics()`: every series back to zero and hidden until observed (the objects stay: callers keep them). */
  reset (): void {
    for (const series of this.#series.values()) {
      series.counts.fill(0)
      series.sum = 0
      series.count = 0
    }
  }

  /** Forgets every series (the app closed). */
  clear (): void {
    this.#series.clear()
  }
}
