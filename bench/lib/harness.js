// The shared machinery of the benchmarks: pinned child processes (servers, load generator, CPU loops),
// the port handshake, alternating measurement rounds, statistics and output.
//
// This file is also the entry point of every child process:
//   node bench/lib/harness.js server <module>   imports <module>, awaits its create() (a Fastify app),
//                                               listens on 127.0.0.1:<free port> and reports the port
//   node bench/lib/harness.js loadgen           runs autocannon when asked
//   node bench/lib/harness.js cpu <module>      imports <module> and runs its render() in timed loops
// Parent and children talk over the IPC channel: the child sends { ready, ... } once, then answers each
// { id, cmd, ... } with { id, result } or { id, error }. A child exits by itself when the channel closes
// (the parent exited or died), so nothing outlives a benchmark.

import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { delimiter, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HARNESS = fileURLToPath(import.meta.url)

/** Settings, overridable by environment variables (see bench/README.md). */
export const settings = Object.freeze({
  connections: envInt('BENCH_CONNECTIONS', 50),
  // Launches: fresh child processes per benchmark, each measured with its own warm-up and rounds.
  launches: envInt('BENCH_LAUNCHES', 3),
  // Seconds per HTTP round (fractions allowed), per warm-up, and rounds per side in each launch.
  duration: envNumber('BENCH_DURATION', 0.5),
  warmup: envNumber('BENCH_WARMUP', 1),
  rounds: envInt('BENCH_ROUNDS', 10),
  cpuRoundMs: envInt('BENCH_CPU_ROUND_MS', 250),
  cpuRounds: envInt('BENCH_CPU_ROUNDS', 10),
  cpuWarmupMs: envInt('BENCH_CPU_WARMUP_MS', 1500),
  // A round during which other processes used more than this share of a core is measured again.
  maxForeign: envInt('BENCH_MAX_FOREIGN_PCT', 10) / 100,
  // Most repeated rounds per benchmark (keeps the run time bounded on a busy machine).
  retries: envInt('BENCH_RETRIES', 4),
  // Longest total wait per benchmark for other processes to go quiet before rounds.
  quietWaitMs: envInt('BENCH_QUIET_WAIT_S', 15) * 1000
})

function envInt (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return value
}

function envNumber (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!(value > 0 && value < 3600)) throw new Error(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`)
  return value
}

function envCore (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a core number, got ${JSON.stringify(raw)}`)
  return value
}

// ---------------------------------------------------------------------------------------------------
// CPU pinning

function findTaskset () {
  const dirs = ['/usr/bin', '/bin', '/usr/sbin', ...(process.env.PATH ?? '').split(delimiter)]
  for (const dir of dirs) {
    const file = join(dir, 'taskset')
    if (dir !== '' && existsSync(file)) return file
  }
  return null
}

/** The cores this process may run on (from taskset, else 0..n-1). */
function allowedCores (taskset) {
  if (taskset !== null) {
    const out = spawnSync(taskset, ['-cp', String(process.pid)], { encoding: 'utf8' })
    const list = out.status === 0 ? /list:\s*(\S+)/.exec(out.stdout)?.[1] : undefined
    if (list !== undefined) {
      const cores = []
      for (const part of list.split(',')) {
        const [from, to = from] = part.split('-').map(Number)
        for (let c = from; c <= to; c++) cores.push(c)
      }
      if (cores.length > 0) return cores
    }
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i)
}

/**
 * Where children run: the server (or CPU loop) on one core, the load generator on another. Without
 * taskset, or with a single core, children are not pinned and `note` says so.
 */
export const pinning = (() => {
  const taskset = findTaskset()
  const cores = allowedCores(taskset)
  const usable = taskset !== null && cores.length >= 2 && spawnSync(taskset, ['-c', String(cores[0]), process.execPath, '-e', '0']).status === 0
  if (!usable) {
    const why = taskset === null ? 'taskset not found' : cores.length < 2 ? 'fewer than 2 cores' : 'taskset failed'
    return { taskset: null, server: null, client: null, note: `not pinned (${why}): figures are noisier` }
  }
  const server = envCore('BENCH_SERVER_CORE', cores[1])
  const client = envCore('BENCH_CLIENT_CORE', cores[0])
  return { taskset, server, client, note: `server/CPU loop on core ${server}, load generator on core ${client} (taskset)` }
})()

// ---------------------------------------------------------------------------------------------------
// Child processes (parent side)

const children = new Set()

function killAll () {
  for (const child of children) child.kill()
}

let exitHooksInstalled = false
function installExitHooks () {
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      killAll()
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1))
    })
  }
}

/**
 * Starts `node harness.js <role> ...args` pinned to `core` (when pinning is available) and resolves
 * once it reported ready, with `{ info, request(cmd, data), stop() }`.
 */
export async function startChild (name, role, args, options = {}) {
  return await spawnChild(name, [HARNESS, role, ...args], options)
}

/**
 * Starts `node ...nodeArgs` as an IPC child (it sends `{ ready }` once, then answers `{ id, cmd }` with
 * `{ id, result }` or `{ id, error }`), pinned to `core` when pinning is available. `serialization:
 * 'advanced'` lets typed arrays cross the channel. Killed when this process exits.
 */
export async function spawnChild (name, nodeArgs, { core = null, env = {}, serialization = 'json', readyTimeoutMs = 30_000 } = {}) {
  installExitHooks()
  const [command, argv] = core !== null && pinning.taskset !== null
    ? [pinning.taskset, ['-c', String(core), process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs]
  const proc = spawn(command, argv, {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization,
    env: { ...process.env, ...env }
  })
  const child = new Child(name, proc)
  children.add(child)
  proc.once('exit', () => children.delete(child))
  try {
    child.info = await withTimeout(child.ready, readyTimeoutMs, `${name} did not start within ${readyTimeoutMs} ms`)
  } catch (error) {
    child.kill()
    throw error
  }
  return child
}

class Child {
  constructor (name, proc) {
    this.name = name
    this.proc = proc
    this.info = null
    this.pending = new Map()
    this.nextId = 1
    this.exited = false
    let stderr = ''
    proc.stderr.setEncoding('utf8')
    proc.stderr.on('data', (chunk) => {
      stderr += chunk
      let nl
      while ((nl = stderr.indexOf('\n')) !== -1) {
        const line = stderr.slice(0, nl)
        stderr = stderr.slice(nl + 1)
        if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`)
      }
    })
    this.ready = new Promise((resolve, reject) => {
      proc.on('message', (message) => {
        if (message.ready === true) return resolve(message)
        const waiter = this.pending.get(message.id)
        if (waiter === undefined) return
        this.pending.delete(message.id)
        if (message.error !== undefined) waiter.reject(new Error(`${name}: ${message.error}`))
        else waiter.resolve(message.result)
      })
      proc.once('error', reject)
      proc.once('exit', (code, signal) => {
        this.exited = true
        const error = new Error(`${name} exited (${signal ?? `code ${code}`})`)
        reject(error)
        for (const waiter of this.pending.values()) waiter.reject(error)
        this.pending.clear()
      })
    })
    // A rejection of `ready` after startup is reported through `pending`, not as unhandled.
    this.ready.catch(() => {})
  }

  /** Sends a command and resolves with the child's answer. */
  request (cmd, data = {}) {
    if (this.exited) return Promise.reject(new Error(`${this.name} is not running`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.proc.send({ id, cmd, ...data })
    })
  }

  /** Asks the child to stop and waits for it (kills it after a grace period). */
  async stop () {
    if (this.exited) return
    const exited = new Promise((resolve) => this.proc.once('exit', resolve))
    this.request('stop').catch(() => {})
    const timer = setTimeout(() => this.kill(), 5000)
    await exited
    clearTimeout(timer)
  }

  kill () {
    if (!this.exited) this.proc.kill('SIGKILL')
  }
}

function withTimeout (promise, ms, message) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  ]).finally(() => clearTimeout(timer))
}

/** Starts a server child for the module `file` (which exports `create()` → Fastify app). */
export async function startServer (name, file, { env = {} } = {}) {
  const child = await startChild(name, 'server', [file], { core: pinning.server, env })
  child.url = `http://127.0.0.1:${child.info.port}`
  return child
}

/** Starts the autocannon child. */
export function startLoadGenerator () {
  return startChild('loadgen', 'loadgen', [], { core: pinning.client })
}

/**
 * Starts a CPU-loop child for the module `file`, which exports `setup()` → `() => string` (or, with
 * `export const async = true`, `() => Promise<string>`).
 */
export function startCpuChild (name, file, { env = {} } = {}) {
  return startChild(name, 'cpu', [file], { core: pinning.server, env })
}

/** Stops children in turn. */
export async function stopAll (list) {
  for (const child of list) {
    if (child !== undefined && child !== null) await child.stop()
  }
}

// ---------------------------------------------------------------------------------------------------
// Other load on the machine

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const value = Number(out.stdout?.trim())
  return out.status === 0 && value > 0 ? value : 100
})()

/** CPU time (µs) all processes used so far, summed over cores, from /proc/stat; null elsewhere. */
function machineBusyUs () {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]
    // cpu user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy;
    // steal (time the hypervisor gave to someone else) counts as foreign load too.
    const [user, nice, system, , , irq, softirq, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS * 1e6
  } catch {
    return null
  }
}

/**
 * Measures what other processes do while `fn` runs. `fn` resolves to { value, ownCpuUs } (CPU time of
 * our children during it); resolves to { value, foreign } where foreign is the other processes' load in
 * cores (0.25 = a quarter of a core), or null when it cannot be known.
 */
async function watchForeignLoad (fn) {
  const busy0 = machineBusyUs()
  const self0 = process.cpuUsage()
  const wall0 = performance.now()
  const { value, ownCpuUs } = await fn()
  const wallUs = (performance.now() - wall0) * 1000
  const self = process.cpuUsage(self0)
  const busy1 = machineBusyUs()
  if (busy0 === null || busy1 === null) return { value, foreign: null }
  const foreign = (busy1 - busy0 - ownCpuUs - self.user - self.system) / wallUs
  return { value, foreign: Math.max(0, foreign) }
}

/**
 * Waits until other processes leave the machine quiet (under `settings.maxForeign` of a core over
 * 250 ms, our idle children included), spending at most `budget.ms` in all; resolves to the time waited.
 */
async function waitForQuiet (budget) {
  const start = performance.now()
  while (budget.ms > 0) {
    const busy0 = machineBusyUs()
    if (busy0 === null) return 0
    const t0 = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 250))
    const load = (machineBusyUs() - busy0) / ((performance.now() - t0) * 1000)
    if (load <= settings.maxForeign) break
    budget.ms -= performance.now() - t0
  }
  return performance.now() - start
}

// ---------------------------------------------------------------------------------------------------
// Measuring

/**
 * One HTTP load round against `server`: autocannon in the load-generator child, with the server's CPU
 * time read before and after. `request` = { method, path, headers, body, perClient: [{ headers, body }] }.
 */
export async function loadRound (loadgen, server, request, duration) {
  const { value: { result, serverCpuUs, wallUs }, foreign } = await watchForeignLoad(async () => {
    const before = await server.request('cpu')
    const result = await loadgen.request('run', {
      url: server.url + (request.path ?? '/'),
      method: request.method ?? 'GET',
      headers: request.headers ?? {},
      body: request.body,
      perClient: request.perClient ?? null,
      connections: settings.connections,
      pipelining: 1,
      duration
    })
    const after = await server.request('cpu')
    const serverCpuUs = after.cpu - before.cpu
    return { value: { result, serverCpuUs, wallUs: (after.wall - before.wall) * 1000 }, ownCpuUs: serverCpuUs + result.clientCpuUs }
  })
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`${server.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`)
  }
  return {
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    requests: result.requests,
    serverCpu: serverCpuUs / wallUs,
    usPerRequest: serverCpuUs / result.requests,
    clientCpu: result.clientCpu,
    foreign
  }
}

/** One CPU-loop round in `child`: ops/s of its render() over `ms` milliseconds. */
export async function cpuRound (child, ms) {
  const { value, foreign } = await watchForeignLoad(async () => {
    const value = await child.request('round', { ms })
    return { value, ownCpuUs: value.cpuUs }
  })
  return { ...value, foreign }
}

// What other processes cost a benchmark, over all its launches (one benchmark = one process).
const budget = { quietMs: settings.quietWaitMs, retriesLeft: settings.retries, retried: 0, disturbed: 0, waitedMs: 0 }

/** Rounds measured again, rounds kept although disturbed, time spent waiting for quiet. */
export function disturbance () {
  return { retried: budget.retried, disturbed: budget.disturbed, waitedMs: budget.waitedMs }
}

/**
 * Runs a warm-up (one unrecorded run per side) then `rounds` recorded rounds, each running both sides
 * back to back, in ABBA order (A B, B A, A B, …) so a drift of the machine hits both sides alike.
 * A round during which other processes used more than `settings.maxForeign` of a core is run again
 * (at most `settings.retries` times per benchmark, after waiting boundedly for the machine to go
 * quiet); the least disturbed attempt is kept.
 * `sides` = [{ name, run: (phase) => Promise<sample with .foreign> }]; resolves to
 * { [name]: sample[] }, sample i of each side being round i.
 */
export async function alternate (sides, { rounds }) {
  const samples = Object.fromEntries(sides.map(side => [side.name, []]))
  const quiet = { ms: budget.quietMs }
  budget.waitedMs += await waitForQuiet(quiet)
  for (const side of sides) await side.run('warmup')
  const worst = (attempt) => Math.max(...attempt.map(([, sample]) => sample.foreign ?? 0))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    let best = null
    for (;;) {
      const attempt = []
      for (const side of order) attempt.push([side.name, await side.run('round')])
      if (best === null || worst(attempt) < worst(best)) best = attempt
      if (worst(best) <= settings.maxForeign || budget.retriesLeft === 0) break
      budget.retriesLeft--
      budget.retried++
      console.log(`  (round ${round + 1}: other processes used ${pct(worst(attempt))} of a core; measuring it again)`)
      budget.waitedMs += await waitForQuiet(quiet)
    }
    if (worst(best) > settings.maxForeign) budget.disturbed++
    for (const [name, sample] of best) samples[name].push(sample)
  }
  budget.quietMs = quiet.ms
  return samples
}

/**
 * Runs `launch(index)` `settings.launches` times. Each launch starts fresh child processes, because
 * one process's JIT decisions can make it a few per cent faster or slower for its whole life: several
 * launches turn that into spread instead of bias. Resolves to { samples, perLaunch }, samples being all
 * launches' samples side by side (each tagged with its `launch`).
 */
export async function overLaunches (launch) {
  const samples = {}
  const perLaunch = []
  for (let i = 0; i < settings.launches; i++) {
    const own = await launch(i)
    perLaunch.push(own)
    for (const [name, list] of Object.entries(own)) (samples[name] ??= []).push(...list.map(sample => ({ ...sample, launch: i + 1 })))
  }
  return { samples, perLaunch }
}

/**
 * Compares one field (higher is better) of two sides' samples: the median, min and max of each, and
 * the ratio ours/reference as the median of the per-round ratios (both sides of a round run back to
 * back, so each ratio sees one machine state) and as the ratio of the medians.
 */
export function compare (samples, field, oursName, referenceName) {
  const ours = summarize(samples[oursName], field)
  const reference = summarize(samples[referenceName], field)
  const perRound = ours.values.map((value, i) => value / reference.values[i])
  return {
    ours,
    reference,
    perRound,
    ratio: median(perRound),
    ratioOfMedians: ours.median / reference.median
  }
}

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function mean (values) {
  return values.reduce((sum, v) => sum + v, 0) / values.length
}

/** Median, min and max of one field over samples. */
export function summarize (samples, field) {
  const values = samples.map(s => s[field])
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values }
}

// ---------------------------------------------------------------------------------------------------
// Output

export function fmt (value, digits = 0) {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function pct (value) {
  return `${(value * 100).toFixed(0)}%`
}

/** A plain text table; `rows` are arrays of cells, the first row is the header. */
export function table (rows) {
  const widths = rows[0].map((_, col) => Math.max(...rows.map(row => String(row[col]).length)))
  const line = (row) => row.map((cell, col) => {
    const text = String(cell)
    return col === 0 ? text.padEnd(widths[col]) : text.padStart(widths[col])
  }).join('  ')
  return [line(rows[0]), widths.map(w => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

/** The last line of every benchmark. */
export function ratioLine (ratio) {
  return `ratio=${ratio.toFixed(3)}`
}

/**
 * Runs a benchmark's main function: prints errors, sends the summary to a parent (run-all) when there
 * is an IPC channel, prints the ratio line last, and exits (children are killed on exit).
 */
export function runBenchmark (main) {
  main().then((summary) => {
    if (typeof process.send === 'function') process.send({ summary })
    console.log(ratioLine(summary.ratio))
    process.exitCode = 0
  }, (error) => {
    console.error(error)
    process.exitCode = 1
  }).finally(() => {
    killAll()
    if (typeof process.disconnect === 'function' && process.connected) process.disconnect()
  })
}

/** Small helpers for HTTP checks from the parent (not measured). */
export async function fetchText (url, init) {
  const response = await fetch(url, init)
  const body = await response.text()
  return { status: response.status, headers: response.headers, body }
}

/** Fails with a message listing every mismatching header. */
export function assertSameHeaders (a, b, names) {
  const diff = names.filter(name => a.headers.get(name) !== b.headers.get(name))
  if (diff.length > 0) {
    throw new Error('headers differ: ' + diff.map(n => `${n}: ${JSON.stringify(a.headers.get(n))} vs ${JSON.stringify(b.headers.get(n))}`).join('; '))
  }
}

export function environmentLine () {
  return `node ${process.version}, ${availableParallelism()} cores; ${pinning.note}`
}

// ---------------------------------------------------------------------------------------------------
// The HTTP benchmarks (counter-page, counter-increment): reference and Nex servers, fresh for each
// launch, and the load generator; alternating load rounds; per-round figures and the summary. Each
// benchmark only says which request to send and how to check that both servers agree.

// BENCH_REF_SERVER / BENCH_OURS_SERVER swap in other server modules (absolute paths), e.g. a prototype
// of a framework fix under .scratch/, measured against the same reference in the same way.
const SERVERS = {
  reference: process.env.BENCH_REF_SERVER || fileURLToPath(new URL('../servers/ref-counter.js', import.meta.url)),
  ours: process.env.BENCH_OURS_SERVER || fileURLToPath(new URL('../servers/nex-counter.js', import.meta.url))
}

/**
 * `prepare({ reference, ours }, launch)` checks that both servers answer alike and resolves to
 * `{ reference: request, ours: request }` (the request shape of harness `loadRound`). `servers` replaces
 * the two server modules (absolute paths), `referenceLabel` names the reference in the summary.
 */
export async function httpBenchmark ({ title, prepare, servers = SERVERS, referenceLabel = 'reference (hand-written Fastify)' }) {
  console.log(`# ${title}`)
  console.log(environmentLine())
  if (servers !== SERVERS || process.env.BENCH_REF_SERVER || process.env.BENCH_OURS_SERVER) console.log(`servers: reference ${servers.reference}, nex ${servers.ours}`)
  console.log(`autocannon: ${settings.connections} connections, pipelining 1. ${settings.launches} launches of fresh servers; ` +
    `each: warm-up ${settings.warmup} s per side, then ${settings.rounds} rounds of ${settings.duration} s per side, alternating (ABBA)`)
  // One secret for both servers, so both sign and verify page ids alike; production mode as deployed.
  const env = { NEX_SECRET: randomBytes(32).toString('base64url'), NODE_ENV: 'production' }
  const loadgen = await startLoadGenerator()
  try {
    const { samples, perLaunch } = await overLaunches(async (launch) => {
      const started = []
      try {
        const reference = await startServer('reference', servers.reference, { env })
        started.push(reference)
        const ours = await startServer('nex', servers.ours, { env })
        started.push(ours)
        const requests = await prepare({ reference, ours }, launch)
        const side = (name, server, request) => ({
          name,
          run: (phase) => loadRound(loadgen, server, request, phase === 'warmup' ? settings.warmup : settings.duration)
        })
        return await alternate([side('reference', reference, requests.reference), side('nex', ours, requests.ours)], { rounds: settings.rounds })
      } finally {
        await stopAll(started.reverse())
      }
    })

    const rps = compare(samples, 'rps', 'nex', 'reference')
    const rows = [['launch', 'round', 'side', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'server µs/req', 'loadgen CPU', 'other load', 'nex/ref']]
    samples.nex.forEach((_, i) => {
      for (const name of ['reference', 'nex']) {
        const s = samples[name][i]
        rows.push([
          String(s.launch), String(i % settings.rounds + 1), name, fmt(s.rps), fmt(s.p50, 1), fmt(s.p99, 1), pct(s.serverCpu),
          fmt(s.usPerRequest, 1), pct(s.clientCpu), s.foreign === null ? 'n/a' : pct(s.foreign), name === 'nex' ? rps.perRound[i].toFixed(3) : ''
        ])
      }
    })
    console.log(table(rows))

    // CPU time per request: lower is better, so compare its inverse.
    const inverse = (list) => list.map(s => ({ v: 1 / s.usPerRequest }))
    const cpu = compare({ nex: inverse(samples.nex), reference: inverse(samples.reference) }, 'v', 'nex', 'reference')
    const launches = perLaunch.map(own => compare(own, 'rps', 'nex', 'reference').ratio)
    console.log(table([
      ['all rounds', 'median req/s', 'min–max req/s', 'median server µs/req'],
      [referenceLabel, fmt(rps.reference.median), `${fmt(rps.reference.min)}–${fmt(rps.reference.max)}`, fmt(1 / cpu.reference.median, 1)],
      ['nex', fmt(rps.ours.median), `${fmt(rps.ours.min)}–${fmt(rps.ours.max)}`, fmt(1 / cpu.ours.median, 1)]
    ]))
    const { retried, disturbed } = disturbance()
    if (retried > 0 || disturbed > 0) console.log(`other processes disturbed the machine: ${retried} round(s) measured again, ${disturbed} kept above the limit`)
    const saturated = [...samples.reference, ...samples.nex].filter(s => s.clientCpu > 0.95 && s.serverCpu < 0.9).length
    if (saturated > 0) console.log(`warning: the load generator was saturated in ${saturated} run(s); the ratio understates the difference`)
    console.log(`per-launch ratios (median of its rounds): ${launches.map(r => r.toFixed(3)).join(', ')}`)
    console.log(`reference=${rps.reference.median.toFixed(0)} req/s  nex=${rps.ours.median.toFixed(0)} req/s  ` +
      `ratio of medians=${rps.ratioOfMedians.toFixed(3)}  median of per-round ratios=${rps.ratio.toFixed(3)}  ` +
      `CPU-per-request ratio (ref µs / nex µs)=${cpu.ratio.toFixed(3)}`)
    return {
      reference: rps.reference.median,
      ours: rps.ours.median,
      ratio: rps.ratio,
      ratioOfMedians: rps.ratioOfMedians,
      cpuRatio: cpu.ratio,
      launchRatios: launches,
      unit: 'req/s',
      spread: { reference: [rps.reference.min, rps.reference.max], ours: [rps.ours.min, rps.ours.max] },
      retried,
      disturbed
    }
  } finally {
    await stopAll([loadgen])
  }
}

// ---------------------------------------------------------------------------------------------------
// Child side

/** Child side of `spawnChild`: answers the parent's `{ id, cmd }` messages with `handlers[cmd](message)`. */
export function serveCommands (handlers) {
  process.on('message', async (message) => {
    const handler = handlers[message.cmd]
    if (handler === undefined) return process.send({ id: message.id, error: `unknown command ${message.cmd}` })
    try {
      process.send({ id: message.id, result: await handler(message) })
    } catch (error) {
      process.send({ id: message.id, error: error?.stack ?? String(error) })
    }
  })
  // The parent went away: stop without waiting.
  process.on('disconnect', () => process.exit(0))
}

function cpuNow () {
  const usage = process.cpuUsage()
  return { cpu: usage.user + usage.system, wall: performance.now() }
}

async function serverChild (file) {
  const mod = await import(pathToFileURL(file).href)
  const app = await mod.create()
  await app.listen({ host: '127.0.0.1', port: 0 })
  serveCommands({
    cpu: () => cpuNow(),
    stop: async () => {
      await app.close()
      setImmediate(() => process.exit(0))
      return true
    }
  })
  process.send({ ready: true, port: app.server.address().port })
}

async function loadgenChild () {
  const { default: autocannon } = await import('autocannon')
  serveCommands({
    run: async ({ url, method, headers, body, perClient, connections, pipelining, duration }) => {
      let next = 0
      // A 100 ms sampling interval lets a run stop within 100 ms of `duration` (fractions allowed).
      const options = { url, method, headers, connections, pipelining, duration, sampleInt: 100 }
      if (body !== undefined && body !== null) options.body = body
      if (perClient !== null) {
        // One fixed request per connection (its own page id), built once: no per-request work here.
        options.setupClient = (client) => {
          const own = perClient[next++ % perClient.length]
          client.setHeadersAndBody({ ...headers, ...own.headers }, own.body ?? body)
        }
      }
      const start = cpuNow()
      const result = await autocannon(options)
      const end = cpuNow()
      return {
        rps: result.requests.total / result.duration,
        requests: result.requests.total,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        clientCpu: (end.cpu - start.cpu) / ((end.wall - start.wall) * 1000),
        clientCpuUs: end.cpu - start.cpu
      }
    },
    stop: () => {
      setImmediate(() => process.exit(0))
      return true
    }
  })
  process.send({ ready: true })
}

async function cpuChild (file) {
  const mod = await import(pathToFileURL(file).href)
  const render = await mod.setup()
  let sink = 0
  serveCommands({
    sample: () => render(),
    round: async ({ ms, batch = 20 }) => {
      let ops = 0
      const cpu0 = process.cpuUsage()
      const start = performance.now()
      let now = start
      do {
        // A module whose render() returns a promise says so with `export const async = true`.
        if (mod.async === true) for (let i = 0; i < batch; i++) sink += (await render()).length
        else for (let i = 0; i < batch; i++) sink += render().length
        ops += batch
        now = performance.now()
      } while (now - start < ms)
      const cpu = process.cpuUsage(cpu0)
      return { ops, ms: now - start, opsPerSec: ops / ((now - start) / 1000), cpuUs: cpu.user + cpu.system, sink: sink % 1000 }
    },
    stop: () => {
      setImmediate(() => process.exit(0))
      return true
    }
  })
  process.send({ ready: true, pid: process.pid })
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [role, file] = process.argv.slice(2)
  const roles = { server: serverChild, loadgen: loadgenChild, cpu: cpuChild }
  if (roles[role] === undefined || typeof process.send !== 'function') {
    console.error('usage: started by the bench scripts (node bench/counter-page.js), not directly')
    process.exit(2)
  }
  roles[role](file).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
