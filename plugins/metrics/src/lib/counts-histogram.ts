/**
 * A histogram of whole numbers that someone else counts: `read()` gives, at scrape time, how many
 * observations had each value (`counts[n]` observations of n). Shown to prom-client's registry like
 * `SeriesHistogram`, with one unlabelled series, so a plugin can expose counters it does not own (the
 * Redis page store's compare-and-set retries) without a hook on its hot path.
 */
import { pushHistogramSamples, type HistogramData, type HistogramSample } from './series-histogram.js'

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
    // Observations per bucket (the last slot: above every bound), from the counts per value.
    const perBucket = new Array<number>(this.#bounds.length + 1).fill(0)
    let sum = 0
    this.#read().forEach((raw, value) => {
      const n = raw - (this.#base[value] ?? 0)
      if (n === 0) return
      sum += n * value
      const i = this.#bounds.findIndex((le) => value <= le)
      ;(perBucket[i === -1 ? this.#bounds.length : i] as number) += n
    })
    const values: HistogramSample[] = []
    pushHistogramSamples(values, this.name, this.#bounds, perBucket, sum, {})
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** `registry.resetMetrics()`: counts start again from zero. */
  reset (): void {
    this.#base = [...this.#read()]
  }
}
