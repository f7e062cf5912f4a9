// src/lib/energy.ts on its own: the values of a second, their formats and bounds, determinism, and the
// markup of a tick.
import t from 'tap'
import {
  CYCLE_SECONDS, dataPointsAt, dataPointsElement, noiseAt, priceAt, priceElement, readingAt, secondOf,
  tickMarkup, timeAt, timeElement
} from '../src/lib/energy.ts'

const PRICE = /^\d+\.\d{2}$/
const TIME = /^\d{2}:\d{2}:\d{2} UTC$/
/** 2023-11-14T22:13:20Z, 800 s into its hour. */
const SECOND = 1_700_000_000

t.test('secondOf: the Unix second a millisecond timestamp falls in', async t => {
  t.equal(secondOf(SECOND * 1000), SECOND)
  t.equal(secondOf(SECOND * 1000 + 999), SECOND)
  t.equal(secondOf(SECOND * 1000 - 1), SECOND - 1)
})

t.test('timeAt: HH:MM:SS UTC', async t => {
  t.equal(timeAt(0), '00:00:00 UTC')
  t.equal(timeAt(SECOND), '22:13:20 UTC')
  t.equal(timeAt(SECOND + 3600 * 2 - 800 + 59), '00:00:59 UTC', 'across midnight')
})

t.test('dataPointsAt: seconds since the start of the UTC hour', async t => {
  t.equal(dataPointsAt(SECOND), 800, '22:13:20 is 13 × 60 + 20 s into the hour')
  t.equal(dataPointsAt(SECOND - 800), 0, 'the hour starts at 0')
  t.equal(dataPointsAt(SECOND - 801), CYCLE_SECONDS - 1, 'and the one before ends at 3599')
  t.equal(dataPointsAt(-1), 3599, 'never negative')
})

t.test('noiseAt: in [0, 1), spread out, the same for the same second', async t => {
  const values = Array.from({ length: 10_000 }, (_, i) => noiseAt(SECOND + i))
  t.ok(values.every(value => value >= 0 && value < 1), 'in [0, 1)')
  t.ok(new Set(values).size > 9_990, 'hardly ever the same twice')
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length
  t.ok(mean > 0.48 && mean < 0.52, `mean ${mean.toFixed(3)} near 0.5`)
  const rising = values.slice(1).filter((value, i) => value > (values[i] as number)).length
  t.ok(rising > 4_800 && rising < 5_200, 'consecutive seconds are not correlated')
  t.equal(noiseAt(SECOND), noiseAt(SECOND), 'deterministic')
})

t.test('priceAt: two decimals, 45 ± 15 give or take 5 %, following the hour', async t => {
  let min = Infinity
  let max = -Infinity
  let malformed = 0
  for (let second = SECOND; second < SECOND + 2 * CYCLE_SECONDS; second++) {
    const price = priceAt(second)
    if (!PRICE.test(price)) malformed++
    min = Math.min(min, Number(price))
    max = Math.max(max, Number(price))
  }
  t.equal(malformed, 0, 'every price of two hours matches ^\\d+\\.\\d{2}$')
  t.ok(min >= 30 * 0.95 && min >= 10, `lowest ${min} is at least 28.50 (and the floor is 10)`)
  t.ok(max <= 60 * 1.05, `highest ${max} is at most 63.00`)
  t.ok(max - min > 20, 'the waves move the price over the hour')
  for (const second of [SECOND, SECOND + 1234, SECOND + 3000]) {
    const drift = Math.abs(Number(priceAt(second)) - Number(priceAt(second + CYCLE_SECONDS)))
    t.ok(drift <= 6, `the same point of the next hour differs by the noise only (${drift.toFixed(2)})`)
  }
  // Pinned: every process, today or after an upgrade, shows these for these seconds.
  t.equal(priceAt(0), '47.68')
  t.equal(priceAt(SECOND), '50.31')
  t.equal(priceAt(SECOND + 1), '49.39')
})

t.test('readingAt: a pure function of the second (no clock, no Math.random)', async t => {
  const random = Math.random
  const now = Date.now
  Math.random = () => { throw new Error('Math.random was called') }
  Date.now = () => { throw new Error('Date.now was called') }
  try {
    const reading = readingAt(SECOND)
    t.same(reading, { second: SECOND, price: '50.31', time: '22:13:20 UTC', dataPoints: 800 })
    t.same(readingAt(SECOND), reading, 'the same second, the same reading')
    t.match(reading.time, TIME)
  } finally {
    Math.random = random
    Date.now = now
  }
})

t.test('the live elements and the tick that swaps them out of band', async t => {
  t.equal(priceElement('Loading...').value, '<span id="price" class="price-value" data-testid="energy-price">Loading...</span>')
  t.equal(timeElement(SECOND).value, '<time id="time" datetime="2023-11-14T22:13:20Z" data-testid="energy-time">22:13:20 UTC</time>')
  t.equal(dataPointsElement(800).value, '<dd id="data-points" class="stat-value" data-testid="energy-data-points">800</dd>')
  t.equal(priceElement('<b>').value, '<span id="price" class="price-value" data-testid="energy-price">&lt;b&gt;</span>', 'text is escaped')

  const tick = tickMarkup(readingAt(SECOND)).value
  t.equal(tick,
    '<span id="price" class="price-value" data-testid="energy-price" hx-swap-oob="true">50.31</span>' +
    '<time id="time" datetime="2023-11-14T22:13:20Z" data-testid="energy-time" hx-swap-oob="true">22:13:20 UTC</time>' +
    '<dd id="data-points" class="stat-value" data-testid="energy-data-points" hx-swap-oob="true">800</dd>')
  t.notMatch(tick, /[\r\n]/, 'one line: one data field')
  // htmx removes hx-swap-oob before swapping: what lands in the page is the page's own element.
  t.equal(tick.replaceAll(' hx-swap-oob="true"', ''),
    priceElement('50.31').value + timeElement(SECOND).value + dataPointsElement(800).value,
    'each swapped element is the page\'s element with the new value, ids and test ids included')
})
