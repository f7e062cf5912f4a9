/**
 * The dashboard's values and markup. Pure: every value is a function of one UTC second (a Unix time in
 * whole seconds), so every client, and every process of the app, shows the same values for the same
 * second. Nothing here reads the clock; callers pass the second.
 */
import { html, type SafeHtml } from '@nex/html'

/** The topic every energy stream follows and the producer publishes to. */
export const ENERGY_TOPIC = 'energy'

/** Seconds in the price cycle (the "60m" cycle): the waves repeat every hour. */
export const CYCLE_SECONDS = 3600

const TAU = 2 * Math.PI
const MIDPOINT = 45
const SWING = 15
/** The deterministic noise moves the price by up to ±5 %. */
const NOISE = 0.05
const FLOOR = 10

/** What the dashboard shows for one second. */
export interface EnergyReading {
  /** The Unix second the reading is for. */
  readonly second: number
  /** $/MWh with two decimals, e.g. `"47.31"`. */
  readonly price: string
  /** `"HH:MM:SS UTC"`. */
  readonly time: string
  /** Seconds since the start of the UTC hour (0 to 3599): the data points of the current cycle. */
  readonly dataPoints: number
}

/** The Unix second a millisecond timestamp (`Date.now()`) falls in. */
export function secondOf (ms: number): number {
  return Math.floor(ms / 1000)
}

/** Seconds since the start of the UTC hour. */
export function dataPointsAt (second: number): number {
  return ((second % CYCLE_SECONDS) + CYCLE_SECONDS) % CYCLE_SECONDS
}

/** `"HH:MM:SS UTC"` of a second. */
export function timeAt (second: number): string {
  return `${new Date(second * 1000).toISOString().slice(11, 19)} UTC`
}

/** The ISO timestamp of a second, for `<time datetime>`. */
function isoAt (second: number): string {
  return new Date(second * 1000).toISOString().replace('.000Z', 'Z')
}

/**
 * A number in [0, 1) derived from the second alone (an integer hash, "lowbias32"): noise that looks
 * random but is the same wherever and whenever it is computed for that second. Not Math.random.
 */
export function noiseAt (second: number): number {
  let x = second ^ 0x9e3779b9
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  x ^= x >>> 16
  return (x >>> 0) / 2 ** 32
}

/**
 * The price in $/MWh: 45 ± 15 × three sines over the hour (weights 0.6, 0.3 and 0.1, so the waves stay
 * within ±15), moved by up to ±5 % of noise, never below 10; two decimals.
 */
export function priceAt (second: number): string {
  const phase = TAU * dataPointsAt(second) / CYCLE_SECONDS
  const wave = 0.6 * Math.sin(phase) + 0.3 * Math.sin(3 * phase + 1) + 0.1 * Math.sin(7 * phase + 2)
  const base = MIDPOINT + SWING * wave
  const noise = base * NOISE * (2 * noiseAt(second) - 1)
  return Math.max(FLOOR, base + noise).toFixed(2)
}

/** Everything the dashboard shows for `second`. */
export function readingAt (second: number): EnergyReading {
  return { second, price: priceAt(second), time: timeAt(second), dataPoints: dataPointsAt(second) }
}

// The three live elements. The page renders them and every tick sends them again with `hx-swap-oob`:
// htmx replaces each element by id (outerHTML) and drops the attribute, so the swapped-in element is
// exactly the one the page started with, id and test id included.

const OOB = html` hx-swap-oob="true"`

/** The price (the unit is outside it); "Loading..." until the first tick. */
export function priceElement (price: string, oob = false): SafeHtml {
  return html`<span id="price" class="price-value" data-testid="energy-price"${oob && OOB}>${price}</span>`
}

/** The time of the reading, as `HH:MM:SS UTC` and machine-readable in `datetime`. */
export function timeElement (second: number, oob = false): SafeHtml {
  return html`<time id="time" datetime="${isoAt(second)}" data-testid="energy-time"${oob && OOB}>${timeAt(second)}</time>`
}

/** The data points of the current hour. */
export function dataPointsElement (dataPoints: number, oob = false): SafeHtml {
  return html`<dd id="data-points" class="stat-value" data-testid="energy-data-points"${oob && OOB}>${dataPoints}</dd>`
}

/**
 * The data of one tick: the three elements as out-of-band swaps, on one line. htmx swaps an unnamed SSE
 * message like a response: each `hx-swap-oob` element replaces the element with its id, and since nothing
 * else is left, the stream's own element is not touched.
 */
export function tickMarkup (reading: EnergyReading): SafeHtml {
  return html`${priceElement(reading.price, true)}${timeElement(reading.second, true)}${dataPointsElement(reading.dataPoints, true)}`
}
