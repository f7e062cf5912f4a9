// `npm run bench`: runs every benchmark in turn (each in its own process, output shown as it runs) and
// prints a summary table. Exits non-zero when a benchmark fails (not when a target is missed).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { environmentLine, fmt, table } from './lib/harness.js'

const BENCHMARKS = [
  { file: 'counter-page.js', what: 'GET / counter page (req/s)', target: 0.90 },
  { file: 'counter-increment.js', what: 'POST ?/increment action (req/s)', target: 0.85 },
  { file: 'counter-increment-redis.js', what: 'POST ?/increment, Redis (nex) vs memory (reference) store (req/s)', target: 0.5 },
  { file: 'production-stack.js', env: { BENCH_REQUEST: 'page' }, what: 'GET / with the production stack vs without (req/s)', target: 0.75 },
  { file: 'production-stack.js', env: { BENCH_REQUEST: 'increment' }, what: 'POST ?/increment with the production stack vs without (req/s)', target: 0.75 },
  { file: 'render-html.js', what: '~24 KB page render vs ghtml (ops/s)', target: 1.0 },
  { file: 'sse-broadcast.js', what: 'SSE broadcast to N streams, delivery p99 (ms; lower is better)', target: 2, lowerIsBetter: true }
]
const goal = (r) => `${r.lowerIsBetter ? '≤' : '≥'} ${r.target.toFixed(2)}`
const met = (r, ratio) => r.lowerIsBetter ? ratio <= r.target : ratio >= r.target

let current = null
let aborted = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    aborted = true
    current?.kill(signal)
  })
}

function run (file, env = {}) {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } })
    current = child
    let summary = null
    child.on('message', (message) => { if (message?.summary !== undefined) summary = message.summary })
    child.once('exit', (code, signal) => {
      current = null
      resolve({ summary, ok: code === 0 && summary !== null, code, signal })
    })
  })
}

const started = Date.now()
const results = []
for (const bench of BENCHMARKS) {
  if (aborted) break
  console.log('')
  const result = await run(bench.file, bench.env)
  results.push({ ...bench, ...result })
}
if (aborted) {
  console.error('\ninterrupted')
  process.exit(130)
}

const rows = [['benchmark', 'reference', 'nex', 'ratio', 'per launch', 'target', 'met', 'rounds redone/disturbed']]
for (const r of results) {
  if (!r.ok) {
    rows.push([r.file, 'failed', `(${r.signal ?? `exit ${r.code}`})`, '', '', goal(r), '', ''])
    continue
  }
  const s = r.summary
  rows.push([
    `${r.file}: ${r.what}`, fmt(s.reference), fmt(s.ours), s.ratio.toFixed(3), s.launchRatios.map(x => x.toFixed(2)).join(' '), goal(r),
    met(r, s.ratio) ? 'yes' : 'NO', `${s.retried}/${s.disturbed}`
  ])
}
console.log('\n# summary')
console.log(environmentLine())
console.log(table(rows))
// Figures a benchmark reports besides its ratio (e.g. Redis commands per action).
for (const r of results) for (const note of r.ok ? r.summary.notes ?? [] : []) console.log(note)
console.log('ratio = median over rounds of nex/reference measured back to back; reference/nex = medians of rounds.')
console.log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`)
if (results.some(r => !r.ok)) process.exitCode = 1
