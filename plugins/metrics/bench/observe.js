// The cost of recording one request in a duration histogram: prom-client's three ways (`observe(labels,
// value)`, `labels(...).observe(value)` per request, the child cached per (route, method, class), as
// @nex/metrics did), and the series cached the same way in the SeriesHistogram @nex/metrics uses now.
// In-process loop, no HTTP (after `npm run build`):
//   node plugins/metrics/bench/observe.js
import { Histogram, Registry } from 'prom-client'
import { SeriesHistogram } from '../dist/lib/series-histogram.js'

const N = 2_000_000
const ROUTES = ['/', '/users/:id', '/api/todos', '__unknown__']

function histogram () {
  return new Histogram({ name: 'h', help: 'h', labelNames: ['route', 'method', 'status_code'], registers: [new Registry()] })
}

const ways = {
  'observe(labels, v)': (h) => (i) => h.observe({ route: ROUTES[i & 3], method: 'GET', status_code: '2xx' }, 0.001),
  'labels(...).observe(v)': (h) => (i) => h.labels({ route: ROUTES[i & 3], method: 'GET', status_code: '2xx' }).observe(0.001),
  'cached child': (h) => {
    const cache = new Map()
    return (i) => {
      const route = ROUTES[i & 3]
      let children = cache.get(route)
      if (children === undefined) cache.set(route, children = [])
      let child = children[0]
      if (child === undefined) children[0] = child = h.labels({ route, method: 'GET', status_code: '2xx' })
      child.observe(0.001)
    }
  },
  'SeriesHistogram (ours)': () => {
    const h = new SeriesHistogram({ name: 'h', help: 'h', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] })
    const cache = new Map()
    return (i) => {
      const route = ROUTES[i & 3]
      let children = cache.get(route)
      if (children === undefined) cache.set(route, children = [])
      let series = children[0]
      if (series === undefined) children[0] = series = h.series(route, { route, method: 'GET', status_code: '2xx' })
      series.observe(0.001)
    }
  }
}

for (let round = 0; round < 3; round++) {
  for (const [name, make] of Object.entries(ways)) {
    const record = make(histogram())
    for (let i = 0; i < 100_000; i++) record(i)
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) record(i)
    const ns = Number(process.hrtime.bigint() - start) / N
    if (round === 2) console.log(`${name.padEnd(24)} ${ns.toFixed(0)} ns per request`)
  }
}
