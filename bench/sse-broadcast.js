// SSE broadcast: N concurrent event streams held by one server process, then EVENTS events broadcast at
// RATE per second, each carrying its send time. Reference: a hand-written `node:http` fan-out
// (servers/sse-http.js); ours: Fastify + @nex/sse (servers/sse-nex.js). Each side runs in a fresh
// server process, in the same run (reference first; a second launch runs nex first, so a drift of the
// machine hits both alike), with the connections opened by separate client processes
// (lib/sse-client.js). Reports delivery latency p50/p99/max, server RSS per idle stream, delivered
// messages/s, missed deliveries, and where the server's time goes (CPU and GC per message).
// Usage: node bench/sse-broadcast.js [N] [EVENTS] [RATE]   (or env N, EVENTS, RATE; see bench/README.md)
// Prints `rss_ratio=<nex/reference RSS per idle stream>`, then as its last line
// `ratio=<nex p99 / reference p99>` (lower is better). Targets: N held, ratio ≤ 2, rss_ratio ≤ 2.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { environmentLine, fmt, median, pct, pinning, runBenchmark, settings, startServer, table } from './lib/harness.js'
import { startClient } from './lib/sse-client.js'

const P99_TARGET = 2
const RSS_TARGET = 2

// BENCH_SSE_REF_SERVER / BENCH_SSE_OURS_SERVER (absolute paths) swap in other server modules with the
// same routes, e.g. an A/A check or a prototype of a plugin change measured against the same reference.
const SIDES = {
  reference: { name: 'reference', label: 'reference (node:http)', file: process.env.BENCH_SSE_REF_SERVER || fileURLToPath(new URL('./servers/sse-http.js', import.meta.url)) },
  nex: { name: 'nex', label: 'nex (Fastify + @nex/sse)', file: process.env.BENCH_SSE_OURS_SERVER || fileURLToPath(new URL('./servers/sse-nex.js', import.meta.url)) }
}

// ---------------------------------------------------------------------------------------------------
// Settings

function positiveInt (name, raw, fallback) {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return value
}

function positiveNumber (name, raw, fallback) {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!(value > 0 && value <= 1000)) throw new Error(`${name} must be a number of events per second in (0, 1000], got ${JSON.stringify(raw)}`)
  return value
}

/** Ephemeral ports the kernel hands out for outgoing connections. */
function ephemeralPorts () {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return high - low + 1
  } catch {
    return 16_384
  }
}

/** The soft limit of open files of this process (inherited by the children). */
function openFileLimit () {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' })
  const value = out.stdout?.trim()
  return out.status === 0 && /^\d+$/.test(value) ? Number(value) : Infinity
}

function readConfig () {
  const [argN, argEvents, argRate] = process.argv.slice(2)
  const env = process.env
  const n = positiveInt('N', argN ?? env.N, 10_000)
  const events = positiveInt('EVENTS', argEvents ?? env.EVENTS, 100)
  const rate = positiveNumber('RATE', argRate ?? env.RATE, 10)
  const clients = Math.min(n, positiveInt('BENCH_SSE_CLIENTS', env.BENCH_SSE_CLIENTS, 4))
  // Two sides' connections may sit in TIME_WAIT at once: one loopback source address per half port range.
  const sources = positiveInt('BENCH_SSE_SOURCES', env.BENCH_SSE_SOURCES, Math.max(1, Math.ceil(2 * n / ephemeralPorts())))
  if (sources > 250) throw new Error(`BENCH_SSE_SOURCES: at most 250 loopback addresses (127.0.0.1–127.0.0.250), got ${sources}`)
  return Object.freeze({
    n,
    events,
    rate,
    interval: 1000 / rate,
    clients,
    sources: sources === 1 ? [null] : Array.from({ length: sources }, (_, i) => `127.0.0.${i + 1}`),
    concurrency: positiveInt('BENCH_SSE_CONCURRENCY', env.BENCH_SSE_CONCURRENCY, 256),
    warmup: env.BENCH_SSE_WARMUP === '0' ? 0 : positiveInt('BENCH_SSE_WARMUP', env.BENCH_SSE_WARMUP, 10),
    launches: positiveInt('BENCH_SSE_LAUNCHES', env.BENCH_SSE_LAUNCHES, 2),
    connectTimeoutMs: positiveInt('BENCH_SSE_CONNECT_TIMEOUT_S', env.BENCH_SSE_CONNECT_TIMEOUT_S, 30) * 1000,
    // Quiet time after which undelivered events count as missed, and the longest wait for them.
    drainQuietMs: positiveInt('BENCH_SSE_DRAIN_QUIET_S', env.BENCH_SSE_DRAIN_QUIET_S, 5) * 1000,
    prof: env.BENCH_SSE_PROF ? resolvePath(env.BENCH_SSE_PROF) : null
  })
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const wallNow = () => performance.timeOrigin + performance.now()
const kb = (bytes) => bytes / 1024
const mb = (bytes) => bytes / 1024 / 1024

async function getJson (url, { method = 'GET', timeoutMs = 30_000 } = {}) {
  const response = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) })
  const body = await response.text()
  if (response.status !== 200) throw new Error(`${method} ${url}: ${response.status} ${body.slice(0, 300)}`)
  return JSON.parse(body)
}

const serverStats = (server, gc = false) => getJson(`${server.url}/stats${gc ? '?gc=1' : ''}`)

function broadcast (server, { n, interval, from }) {
  return getJson(`${server.url}/broadcast?n=${n}&interval=${interval}&from=${from}`, { method: 'POST', timeoutMs: n * interval + 300_000 })
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/**
 * CPU time (µs) used so far by all processes, from /proc/stat, as { busy, softirq }; null elsewhere.
 * Softirq is apart: the kernel accounts loopback TCP receive work there, not to the process that caused
 * it, so during a broadcast it is mostly the benchmark's own traffic.
 */
function machineCpuUs () {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]
    const [user, nice, system, , , irq, softirq, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
    return { busy: (user + nice + system + irq + steal) / CLOCK_TICKS * 1e6, softirq: softirq / CLOCK_TICKS * 1e6 }
  } catch {
    return null
  }
}

/** Nearest-rank quantile of a sorted array. */
function quantile (sorted, q) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

const sum = (list, field) => list.reduce((total, item) => total + item[field], 0)

function errorSummary (lists) {
  const merged = new Map()
  for (const list of lists) for (const [what, count] of list) merged.set(what, (merged.get(what) ?? 0) + count)
  return [...merged].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([what, count]) => `${count}× ${what}`).join('; ')
}

/** Polls `read()` (→ number) until it reaches `target`, stops growing for `quietMs`, or `maxMs` passed. */
async function waitFor (read, target, { quietMs, maxMs, every = 200 }) {
  const start = performance.now()
  let last = -1
  let lastChange = start
  for (;;) {
    const value = await read()
    const now = performance.now()
    if (value >= target) return value
    if (value !== last) {
      last = value
      lastChange = now
    }
    if (now - lastChange >= quietMs || now - start >= maxMs) return value
    await sleep(every)
  }
}

/** Wall-clock offset of another process (its clock − ours) and the uncertainty of the estimate, in ms. */
async function clockOffset (read) {
  let best = null
  for (let i = 0; i < 3; i++) {
    const t0 = wallNow()
    const theirs = await read()
    const t1 = wallNow()
    const estimate = { offset: theirs - (t0 + t1) / 2, error: (t1 - t0) / 2 }
    if (best === null || estimate.error < best.error) best = estimate
  }
  return best
}

// What other processes cost the run (the rules of lib/harness.js: BENCH_MAX_FOREIGN_PCT, BENCH_RETRIES,
// BENCH_QUIET_WAIT_S), except that each side of each launch has its own retries and quiet-wait budget,
// so a busy spell during one side does not leave the other measured disturbed.
const disturbance = { retried: 0, disturbed: 0, waitedMs: 0 }

/**
 * Waits until the machine is quiet (all processes together, ours idle, under `settings.maxForeign` of a
 * core over 250 ms), spending at most `budget.ms`; resolves to the time waited.
 */
async function waitForQuiet (budget) {
  const start = performance.now()
  while (budget.ms > 0) {
    const cpu0 = machineCpuUs()
    if (cpu0 === null) return 0
    const t0 = performance.now()
    await sleep(250)
    const cpu1 = machineCpuUs()
    const load = (cpu1.busy + cpu1.softirq - cpu0.busy - cpu0.softirq) / ((performance.now() - t0) * 1000)
    if (load <= settings.maxForeign) break
    budget.ms -= performance.now() - t0
  }
  return performance.now() - start
}

// ---------------------------------------------------------------------------------------------------
// One side: start the server, hold N streams, broadcast, collect, stop

async function measureSide (side, config, launch) {
  const { n, events, interval } = config
  const log = (text) => console.log(`  ${side.name}${config.launches > 1 ? ` (launch ${launch + 1})` : ''}: ${text}`)
  const env = {
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--expose-gc'].filter(Boolean).join(' '),
    NODE_ENV: 'production',
    BENCH_SSE_MAX_STREAMS: String(n + 100),
    BENCH_SSE_SIDE: `${side.name}-${launch + 1}`,
    BENCH_SSE_PROF: config.prof ?? ''
  }
  const server = await startServer(side.name, side.file, { env })
  const clients = []
  try {
    await sleep(300)
    const base = await serverStats(server, true)
    const serverClock = await clockOffset(async () => (await serverStats(server)).now)

    for (let c = 0; c < config.clients; c++) {
      clients.push(await startClient(`${side.name}-client${c + 1}`, { core: pinning.client }))
    }
    const clientClocks = await Promise.all(clients.map(client => clockOffset(() => client.request('clock'))))
    const worstClock = [serverClock, ...clientClocks].reduce((worst, c) => Math.abs(c.offset) - c.error > Math.abs(worst.offset) - worst.error ? c : worst)
    if (Math.abs(worstClock.offset) - worstClock.error > 1) {
      console.log(`  warning: a child's wall clock differs from the parent's by ${worstClock.offset.toFixed(2)} ± ${worstClock.error.toFixed(2)} ms; latencies are off by as much`)
    }

    // Open the streams: each client its share, at most `concurrency` connecting at once in all.
    const shares = clients.map((_, c) => Math.floor(n / clients.length) + (c < n % clients.length ? 1 : 0))
    const perClientConcurrency = Math.max(1, Math.floor(config.concurrency / clients.length))
    const openStart = performance.now()
    let first = 0
    const opened = await Promise.all(clients.map((client, c) => {
      const request = client.request('open', {
        host: '127.0.0.1',
        port: server.info.port,
        path: '/events',
        count: shares[c],
        first,
        sources: config.sources,
        concurrency: perClientConcurrency,
        timeoutMs: config.connectTimeoutMs
      })
      first += shares[c]
      return request
    }))
    const openMs = performance.now() - openStart
    const held = sum(opened, 'held')
    if (held < n) {
      throw new Error(`${side.name}: only ${held} of ${n} streams opened (${sum(opened, 'failed')} failed: ${errorSummary(opened.map(o => o.errors))}). ` +
        'Check `ulimit -n` (server and clients), the ephemeral port range (BENCH_SSE_SOURCES spreads connections over 127.0.0.x) ' +
        'and the accept backlog (BENCH_SSE_CONCURRENCY lowers the connects in flight).')
    }
    const onServer = await waitFor(async () => (await serverStats(server)).connections, n, { quietMs: 5000, maxMs: 15_000 })
    if (onServer !== n) throw new Error(`${side.name}: the clients hold ${n} streams but the server counts ${onServer}`)
    log(`${fmt(n)} streams held, opened in ${(openMs / 1000).toFixed(1)} s (${fmt(n / (openMs / 1000))}/s)`)

    // Idle memory: every stream open, nothing sent yet; after a full GC, as for the baseline.
    await sleep(1000)
    const idle = await serverStats(server, true)

    const status = () => Promise.all(clients.map(client => client.request('status')))
    if (config.warmup > 0) {
      await broadcast(server, { n: config.warmup, interval, from: -config.warmup })
      const got = await waitFor(async () => sum(await status(), 'warmup'), n * config.warmup, { quietMs: config.drainQuietMs, maxMs: 60_000 })
      if (got < n * config.warmup) throw new Error(`${side.name}: warm-up delivered ${got} of ${n * config.warmup} messages`)
    }

    // The measured broadcast, again (on the same streams) when other processes disturbed it.
    const budget = { ms: settings.quietWaitMs, retriesLeft: settings.retries }
    let sample = null
    for (;;) {
      disturbance.waitedMs += await waitForQuiet(budget)
      log(`broadcasting ${events} events at ${config.rate}/s to ${fmt(n)} streams`)
      const attempt = await measuredBroadcast(server, clients, config)
      if (sample === null || (attempt.foreign ?? 0) < (sample.foreign ?? 0)) sample = attempt
      if ((sample.foreign ?? 0) <= settings.maxForeign || budget.retriesLeft === 0) break
      budget.retriesLeft--
      disturbance.retried++
      log(`other processes used ${pct(attempt.foreign)} of a core during the broadcast; broadcasting again`)
    }
    if ((sample.foreign ?? 0) > settings.maxForeign) disturbance.disturbed++
    Object.assign(sample, {
      side: side.name,
      launch: launch + 1,
      held: n,
      openMs,
      baseRss: base.rss,
      idleRss: idle.rss,
      rssPerConn: (idle.rss - base.rss) / n,
      heapPerConn: (idle.heapUsed - base.heapUsed) / n
    })
    log(`p50 ${sample.p50.toFixed(1)} ms, p99 ${sample.p99.toFixed(1)} ms, ${fmt(sample.msgsPerSec)} msg/s, ` +
      `${fmt(sample.missed)} missed, RSS ${fmt(kb(sample.rssPerConn), 1)} KB per idle stream`)
    return sample
  } finally {
    // Clients close first (so the server has nothing to end), then everything stops.
    await Promise.all(clients.map(client => Promise.race([client.request('closeAll'), sleep(15_000)]).catch(() => {})))
    await Promise.all(clients.map(client => client.stop()))
    await server.stop()
  }
}

/** One recorded broadcast of `config.events` events to the held streams, and its figures. */
async function measuredBroadcast (server, clients, config) {
  const { n, events, interval } = config
  const status = () => Promise.all(clients.map(client => client.request('status')))
  await Promise.all(clients.map(client => client.request('arm', { events })))
  const before = { server: await server.request('cpu'), stats: await serverStats(server), clients: await status(), machine: machineCpuUs(), self: process.cpuUsage(), wall: performance.now() }
  const sent = await broadcast(server, { n: events, interval, from: 0 })
  const expected = n * events
  await waitFor(async () => sum(await status(), 'received'), expected, { quietMs: config.drainQuietMs, maxMs: 120_000 })
  const after = { server: await server.request('cpu'), clients: await status(), machine: machineCpuUs(), self: process.cpuUsage(before.self), wall: performance.now() }
  const results = await Promise.all(clients.map(client => client.request('results')))
  const end = await serverStats(server)
  const gcMs = end.gcMs - before.stats.gcMs

  const all = new Float64Array(sum(results, 'received'))
  let offset = 0
  for (const r of results) {
    all.set(r.samples, offset)
    offset += r.samples.length
  }
  all.sort()
  const perEvent = new Float64Array(events)
  for (const r of results) for (let i = 0; i < events; i++) perEvent[i] += r.perEvent[i]
  const lastReceive = Math.max(...results.map(r => r.lastReceive))
  const wallUs = (after.wall - before.wall) * 1000
  const serverCpuUs = after.server.cpu - before.server.cpu
  const clientCpuUs = sum(after.clients, 'cpuUs') - sum(before.clients, 'cpuUs')
  const known = before.machine !== null && after.machine !== null
  const foreign = known ? Math.max(0, (after.machine.busy - before.machine.busy - serverCpuUs - clientCpuUs - after.self.user - after.self.system) / wallUs) : null
  const softirq = known ? (after.machine.softirq - before.machine.softirq) / wallUs : null
  return {
    p50: quantile(all, 0.5),
    p90: quantile(all, 0.9),
    p99: quantile(all, 0.99),
    max: all.length > 0 ? all[all.length - 1] : NaN,
    delivered: all.length,
    expected,
    missed: expected - all.length,
    missingConns: sum(results, 'missingConns'),
    outOfOrder: sum(results, 'outOfOrder'),
    eventsWithMisses: perEvent.filter(count => count < n).length,
    // Delivered messages per second over the broadcast: first send to last receive.
    msgsPerSec: all.length / ((lastReceive - sent.firstSendAt) / 1000),
    sendRate: events > 1 ? (events - 1) / ((sent.lastSendAt - sent.firstSendAt) / 1000) : NaN,
    maxLagMs: sent.maxLagMs,
    serverCpu: serverCpuUs / wallUs,
    usPerMsg: serverCpuUs / Math.max(1, all.length),
    gcUsPerMsg: gcMs * 1000 / Math.max(1, all.length),
    gcCount: end.gcCount - before.stats.gcCount,
    wakeupsPerMsg: (sum(after.clients, 'wakeups') - sum(before.clients, 'wakeups')) / Math.max(1, all.length),
    clientCpu: clientCpuUs / wallUs,
    softirq,
    foreign,
    closedEarly: Math.max(...after.clients.map(s => s.closedEarly)),
    endConnections: end.connections,
    frame: results.find(r => r.frame !== null)?.frame ?? null,
    responseHead: results.find(r => r.head !== null)?.head ?? null
  }
}

/** Both sides send the same frames and stream headers; stops the benchmark if not. */
function checkSameWire (samples) {
  const frames = new Set()
  for (const s of samples) {
    if (s.frame === null || !/^data: \{"t":<t>,"i":\d+\}$/.test(s.frame)) throw new Error(`${s.side}: unexpected event frame ${JSON.stringify(s.frame)}`)
    frames.add(s.frame.replace(/"i":\d+/, '"i":<i>'))
  }
  const header = (head, name) => new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(head ?? '')?.[1] ?? null
  const names = ['content-type', 'cache-control', 'x-accel-buffering', 'transfer-encoding']
  const ref = samples.find(s => s.side === 'reference')
  for (const s of samples) {
    const diff = names.filter(name => header(s.responseHead, name) !== header(ref.responseHead, name))
    if (diff.length > 0) {
      throw new Error(`stream headers differ (${s.side} vs reference): ` + diff.map(name => `${name}: ${header(s.responseHead, name)} vs ${header(ref.responseHead, name)}`).join('; '))
    }
  }
  return [...frames][0]
}

// ---------------------------------------------------------------------------------------------------

async function main () {
  const config = readConfig()
  console.log('# sse-broadcast: N event streams, broadcast with send timestamps; Fastify + @nex/sse vs hand-written node:http')
  console.log(environmentLine())
  console.log(`N=${fmt(config.n)} streams, ${config.events} events at ${config.rate}/s (+${config.warmup} warm-up events), ` +
    `${config.clients} client processes${pinning.client !== null ? ` on core ${pinning.client}` : ''}, ` +
    `source ${config.sources[0] === null ? '127.0.0.1' : `127.0.0.1–${config.sources.at(-1)}`}, ${config.concurrency} connects in flight, ` +
    `${config.launches} launch(es), reference first`)
  const limit = openFileLimit()
  if (config.n + 200 > limit) throw new Error(`N=${config.n} needs more open files than \`ulimit -n\` allows (${limit}): raise it, or lower N`)
  if (config.prof !== null) console.log(`CPU profiles of the servers go to ${config.prof}`)
  if (process.env.BENCH_SSE_REF_SERVER || process.env.BENCH_SSE_OURS_SERVER) console.log(`servers: reference ${SIDES.reference.file}, nex ${SIDES.nex.file}`)

  const samples = []
  for (let launch = 0; launch < config.launches; launch++) {
    const order = launch % 2 === 0 ? [SIDES.reference, SIDES.nex] : [SIDES.nex, SIDES.reference]
    for (const side of order) samples.push(await measureSide(side, config, launch))
  }
  const frame = checkSameWire(samples)
  console.log(`check: both sides send \`${frame.replace(/\n/g, '\\n')}\\n\\n\` (one chunk per event) with the same stream headers`)

  const rows = [['launch', 'side', 'held', 'open/s', 'RSS base MB', 'RSS held MB', 'RSS/stream KB', 'heap/stream KB', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms',
    'msg/s', 'missed', 'send rate/s', 'max lag ms', 'server CPU', 'server µs/msg', 'GC µs/msg', 'clients CPU', 'client wakeups/msg', 'softirq', 'other load']]
  for (const s of samples) {
    rows.push([
      String(s.launch), s.side, fmt(s.held), fmt(s.held / (s.openMs / 1000)), fmt(mb(s.baseRss), 1), fmt(mb(s.idleRss), 1), fmt(kb(s.rssPerConn), 2), fmt(kb(s.heapPerConn), 2),
      fmt(s.p50, 1), fmt(s.p90, 1), fmt(s.p99, 1), fmt(s.max, 1), fmt(s.msgsPerSec), fmt(s.missed), fmt(s.sendRate, 2), fmt(s.maxLagMs, 1),
      pct(s.serverCpu), fmt(s.usPerMsg, 2), `${fmt(s.gcUsPerMsg, 2)} (${s.gcCount})`, pct(s.clientCpu), fmt(s.wakeupsPerMsg, 3), s.softirq === null ? 'n/a' : pct(s.softirq), s.foreign === null ? 'n/a' : pct(s.foreign)
    ])
  }
  console.log(table(rows))

  const bySide = (name) => samples.filter(s => s.side === name)
  const perLaunch = Array.from({ length: config.launches }, (_, i) => ({
    reference: samples.find(s => s.launch === i + 1 && s.side === 'reference'),
    nex: samples.find(s => s.launch === i + 1 && s.side === 'nex')
  }))
  const ratios = perLaunch.map(l => l.nex.p99 / l.reference.p99)
  const rssRatios = perLaunch.map(l => l.nex.rssPerConn / l.reference.rssPerConn)
  const ratio = median(ratios)
  const rssRatio = median(rssRatios)
  const med = (name, field) => median(bySide(name).map(s => s[field]))

  const problems = samples.filter(s => s.missed > 0 || s.closedEarly > 0 || s.outOfOrder > 0)
  for (const s of problems) {
    console.log(`warning: ${s.side} (launch ${s.launch}): ${fmt(s.missed)} deliveries missed (${s.missingConns} streams short, ${s.eventsWithMisses} events), ` +
      `${s.closedEarly} streams closed by the server, ${s.outOfOrder} out of order`)
  }
  const busyClients = samples.filter(s => s.clientCpu > 0.9)
  if (busyClients.length > 0) console.log(`warning: the client processes used ${busyClients.map(s => pct(s.clientCpu)).join(', ')} of their core: latencies include client-side queueing`)
  if (disturbance.retried > 0 || disturbance.disturbed > 0 || disturbance.waitedMs > 1000) {
    console.log(`other processes disturbed the machine: ${disturbance.retried} broadcast(s) run again, ${disturbance.disturbed} kept above ` +
      `${pct(settings.maxForeign)} of a core, ${(disturbance.waitedMs / 1000).toFixed(1)} s spent waiting for quiet`)
  }

  const held = samples.every(s => s.held === config.n && s.closedEarly === 0)
  console.log(table([
    ['median over launches', 'p50 ms', 'p99 ms', 'msg/s', 'RSS/stream KB', 'server µs/msg'],
    [SIDES.reference.label, fmt(med('reference', 'p50'), 1), fmt(med('reference', 'p99'), 1), fmt(med('reference', 'msgsPerSec')), fmt(kb(med('reference', 'rssPerConn')), 2), fmt(med('reference', 'usPerMsg'), 2)],
    [SIDES.nex.label, fmt(med('nex', 'p50'), 1), fmt(med('nex', 'p99'), 1), fmt(med('nex', 'msgsPerSec')), fmt(kb(med('nex', 'rssPerConn')), 2), fmt(med('nex', 'usPerMsg'), 2)]
  ]))
  if (config.launches > 1) console.log(`per-launch ratios: p99 ${ratios.map(r => r.toFixed(3)).join(', ')}; RSS ${rssRatios.map(r => r.toFixed(3)).join(', ')}`)
  const verdict = (ok) => ok ? 'met' : 'MISSED'
  console.log(`targets: ${fmt(config.n)} streams held ${verdict(held)}; p99 ratio ${ratio.toFixed(3)} ≤ ${P99_TARGET} ${verdict(ratio <= P99_TARGET)}; ` +
    `RSS ratio ${rssRatio.toFixed(3)} ≤ ${RSS_TARGET} ${verdict(rssRatio <= RSS_TARGET)}`)
  console.log(`rss_ratio=${rssRatio.toFixed(3)}`)
  return {
    reference: med('reference', 'p99'),
    ours: med('nex', 'p99'),
    ratio,
    rssRatio,
    launchRatios: ratios,
    unit: 'ms p99 (lower is better)',
    retried: disturbance.retried,
    disturbed: disturbance.disturbed,
    notes: [`sse-broadcast (N=${config.n}): p99 ${med('reference', 'p99').toFixed(1)} ms reference vs ${med('nex', 'p99').toFixed(1)} ms nex, ` +
      `RSS per idle stream ${fmt(kb(med('reference', 'rssPerConn')), 1)} vs ${fmt(kb(med('nex', 'rssPerConn')), 1)} KB, rss_ratio=${rssRatio.toFixed(3)} (target ≤ ${RSS_TARGET}) ${verdict(rssRatio <= RSS_TARGET)}`]
  }
}

runBenchmark(main)
