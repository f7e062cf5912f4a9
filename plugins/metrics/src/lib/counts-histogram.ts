/**
 * A histogram of whole numbers that someone else counts: `read()` gives, at scrape time, how many
 * observations had each value (`counts[n]` observations of n). Shown to prom-client's registry like
 * `SeriesHistogram`, with one unlabelled series, so a plugin can expose counters it does not own (the
 * Redis page store's compare-and-set retries) without a hook on its hot path.
 */
import type { HistogramData, HistogramSample } from './series-histogram.js'

export interface CountsHistogramOptions {
  name: string
  help: string
  /** Upper bounds, ascending, finite. */
  buckets: readonly number[]
  /** Observations per value, read at every scrape. */
  read: () => readonly number[]
}

export class CountsHistogram {
  readonly type = 'histogram' as const
  readonly aggregator = 'sum' as const
  readonly name: string
  readonly help: string
  readonly #bounds: readonly number[]
  readonly #read: () => readonly number[]
  /** What `reset()` subtracts: the counts at the last reset (the owner's counters only grow). */
  #base: readonly number[] = []

  constructor (options: CountsHistogramOptions) {
    this.name = options.name
    this.help = options.help
    this.#bounds = Object.freeze([...options.buckets])
    this.#read = options.read
  }

  async get (): Promise<HistogramData> {
    const counts = this.#read()
    const buckets = new Array<number>(this.#bounds.length).fill(0)
    let count = 0
    let sum = 0
    counts.forEach((raw, value) => {
      const n = raw - (this.#base[value] ?? 0)
      if (n === 0) return
      count += n
      sum += n * value
      for (let i = 0; i < buckets.length; i++) {
        if (value <= (this.#bounds[i] as number)) (buckets[i] as number) += n
      }
    })
    const bucket = `${this.name}_bucket`
    const values: HistogramSample[] = this.#bounds.map((le, i) => ({ value: buckets[i] as number, metricName: bucket, exemplar: null, labels: { le } }))
    values.push(
      { value: count, metricName: bucket, exemplar: null, labels: { le: '+Inf' } },
      { value: sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: {} },
      { value: count, metricName: `${this.name}_count`, exemplar: undefined, labels: {} }
    )
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** `registry.resetMetrics()`: counts start again from zero. */
  reset (): void {
    this.#base = [...this.#read()]
  }
}
