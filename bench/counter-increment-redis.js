// The counter's `increment` action (POST /?/increment as htmx sends it, one page view per autocannon
// connection, each id from a GET of the page) through the Redis page store vs through the memory store:
// the same app (servers/nex-counter-store.js) on both sides, a real redis-server on a free loopback port,
// same load, alternating rounds in the same run. Then the Redis commands one action costs: INFO
// commandstats before and after a batch of sequential increments, with MONITOR over the same batch to
// tell the commands the app sends (round trips) from those its Lua script runs inside Redis.
// Prints redisOpsPerAction=<n>; last line: ratio=<redis/memory>. Targets: ratio ≥ 0.5, ops ≤ 2.
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startRedisServer } from '@nex/testing'
import {
  alternate, assertSameHeaders, compare, disturbance, environmentLine, fetchText, fmt, loadRound, median, overLaunches, pct,
  pinning, runBenchmark, settings, startLoadGenerator, startServer, stopAll, table
} from './lib/harness.js'

const RATIO_TARGET = 0.5
const OPS_TARGET = 2
// Sequential increments on one page view: the first ones warm the path up (script loaded, JIT), the
// rest are counted.
const OPS_WARMUP = 100
const OPS_ACTIONS = 1000

const SERVER = fileURLToPath(new URL('./servers/nex-counter-store.js', import.meta.url))
const PAGE_ID = /data-nex-page-id="([\w-]+\.[\w-]+)"/
const FORM = 'application/x-www-form-urlencoded'
// The Redis store's key for a page (packages/redis/src/redis-store.ts, default prefix and namespace).
const pageKey = (pageId) => `nex:page:{${pageId}}`

/** One page view of `server`: GET / and read its page id, as a browser does before clicking. */
async function openPage (server) {
  const { status, body } = await fetchText(server.url + '/')
  const id = PAGE_ID.exec(body)?.[1]
  if (status !== 200 || id === undefined) throw new Error(`${server.name}: GET / gave ${status} without a page id`)
  return id
}

/** What htmx 4 sends for `hx-post="?/increment"` on the counter's form: headers and the hidden field. */
function incrementRequest (pageId) {
  return {
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': FORM },
    body: `_nex_page=${encodeURIComponent(pageId)}`
  }
}

async function post (server, pageId) {
  return await fetchText(server.url + '/?/increment', { method: 'POST', ...incrementRequest(pageId) })
}

/** One increment that must answer 200 with the fragment showing `expected`. */
async function increment (server, pageId, expected) {
  const res = await post(server, pageId)
  if (res.status !== 200 || !res.body.includes(`>${expected}</div>`)) {
    throw new Error(`${server.name}: increment ${expected} answered ${res.status}: ${res.body.slice(0, 200)}`)
  }
  return res
}

/** INFO fields of one section as { name: value }. */
async function info (client, section) {
  const fields = {}
  for (const line of (await client.info(section)).split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}

/** Calls per command from INFO commandstats, without INFO itself (our own probe). */
async function commandCalls (client) {
  const calls = {}
  for (const [name, value] of Object.entries(await info(client, 'commandstats'))) {
    const command = name.replace(/^cmdstat_/, '')
    if (command !== 'info') calls[command] = Number(/calls=(\d+)/.exec(value)[1])
  }
  return calls
}

/** CPU time redis-server used so far, in µs. */
async function redisCpuUs (client) {
  const cpu = await info(client, 'cpu')
  return (Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys)) * 1e6
}

function perAction (counts, n) {
  return Object.entries(counts).filter(([, calls]) => calls > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([command, calls]) => [command, calls / n])
}

const sum = (counts) => Object.values(counts).reduce((total, calls) => total + calls, 0)
const list = (entries) => entries.map(([command, n]) => `${command} ${n.toFixed(3)}`).join(', ') || 'none'

/**
 * The Redis commands of one increment: `OPS_ACTIONS` sequential increments on a fresh page view of the
 * Redis side (after `OPS_WARMUP` uncounted ones), INFO commandstats before and after. MONITOR watches
 * the same batch; the two INFO calls mark its start and end in the monitor stream, which also says
 * whether a command came from a client or from a Lua script.
 */
async function countRedisOps (admin, server) {
  const pageId = await openPage(server)
  let count = 0
  for (let i = 0; i < OPS_WARMUP; i++) await increment(server, pageId, ++count)

  const monitor = await admin.monitor()
  const events = []
  monitor.on('monitor', (time, args, source) => events.push({ command: String(args[0]).toLowerCase(), source }))
  try {
    const before = await commandCalls(admin)
    for (let i = 0; i < OPS_ACTIONS; i++) await increment(server, pageId, ++count)
    const after = await commandCalls(admin)
    // The monitor stream runs a little behind the replies: wait (boundedly) for the second INFO in it.
    const deadline = Date.now() + 5000
    while (events.filter(e => e.command === 'info').length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    const marks = events.flatMap((e, i) => e.command === 'info' ? [i] : [])
    if (marks.length < 2) throw new Error('MONITOR did not show both INFO calls around the batch')

    const total = {}
    for (const [command, calls] of Object.entries(after)) total[command] = calls - (before[command] ?? 0)
    const sent = {}
    const scripted = {}
    for (const e of events.slice(marks[0] + 1, marks[1])) {
      const into = e.source === 'lua' ? scripted : sent
      into[e.command] = (into[e.command] ?? 0) + 1
    }
    return {
      opsPerAction: sum(total) / OPS_ACTIONS,
      breakdown: perAction(total, OPS_ACTIONS),
      sentPerAction: sum(sent) / OPS_ACTIONS,
      sent: perAction(sent, OPS_ACTIONS),
      scriptedPerAction: sum(scripted) / OPS_ACTIONS,
      scripted: perAction(scripted, OPS_ACTIONS),
      monitorAgrees: sum(sent) + sum(scripted) === sum(total)
    }
  } finally {
    monitor.disconnect()
  }
}

/** Pins redis-server to `BENCH_REDIS_CORE` when set (and taskset is available); returns a note. */
function pinRedis (pid) {
  const raw = process.env.BENCH_REDIS_CORE
  if (raw === undefined || raw === '') return 'redis-server not pinned'
  if (pinning.taskset === null) return `redis-server not pinned (${pinning.note})`
  const out = spawnSync(pinning.taskset, ['-cp', raw, String(pid)], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`taskset -cp ${raw} ${pid} failed: ${out.stderr}`)
  return `redis-server on core ${raw}`
}

async function prepare ({ memory, redis }, admin, launch) {
  // The check uses a page view of its own on each side, so both answer with a count of 1 then 2.
  const check = { memory: await openPage(memory), redis: await openPage(redis) }
  for (const expected of [1, 2]) {
    const a = await increment(memory, check.memory, expected)
    const b = await increment(redis, check.redis, expected)
    assertSameHeaders(a, b, ['content-type', 'vary', 'cache-control', 'content-length'])
    if (a.body !== b.body) throw new Error(`fragments differ: ${a.body} vs ${b.body}`)
  }
  // The Redis side really keeps the count in Redis (with a TTL); the memory side writes nothing there.
  const stored = await admin.hget(pageKey(check.redis), '.count')
  const ttl = await admin.pttl(pageKey(check.redis))
  if (stored !== '2' || !(ttl > 0)) throw new Error(`Redis holds count ${stored} with PTTL ${ttl} for the Redis side's page (want 2, > 0)`)
  if (await admin.exists(pageKey(check.memory)) !== 0) throw new Error('the memory side wrote its page to Redis')
  // Both refuse a page id they never issued.
  const forged = 'A'.repeat(22) + '.' + 'B'.repeat(22)
  const fa = await post(memory, forged)
  const fb = await post(redis, forged)
  if (fa.status !== 410 || fb.status !== 410) throw new Error(`forged page id: memory ${fa.status}, redis ${fb.status} (want 410)`)
  if (launch === 0) {
    console.log('check: same #counter-display fragment (count 1, then 2) and headers; the Redis side\'s count is in ' +
      'Redis with a TTL, the memory side writes nothing there; both refuse a forged id (410)')
  }

  const perClient = async (server) => {
    const requests = []
    for (let i = 0; i < settings.connections; i++) requests.push(incrementRequest(await openPage(server)))
    return requests
  }
  const request = (requests) => ({ method: 'POST', path: '/?/increment', headers: requests[0].headers, body: requests[0].body, perClient: requests })
  if (launch === 0) console.log(`page views: one per connection (${settings.connections} per side), each from a GET of the page`)
  return { memory: request(await perClient(memory)), redis: request(await perClient(redis)) }
}

async function main () {
  console.log('# counter-increment-redis: POST /?/increment (htmx partial), Redis store vs memory store, same app')
  console.log(environmentLine())
  const redisServer = await startRedisServer()
  const admin = new Redis(redisServer.url, { protocol: 2, lazyConnect: true })
  await admin.connect()
  const loadgen = await startLoadGenerator().catch(async (error) => {
    admin.disconnect()
    await redisServer.stop()
    throw error
  })
  try {
    console.log(`redis-server ${(await info(admin, 'server')).redis_version} on ${redisServer.url} (persistence off); ${pinRedis(redisServer.pid)}`)
    console.log(`autocannon: ${settings.connections} connections, pipelining 1. ${settings.launches} launches of fresh servers; ` +
      `each: warm-up ${settings.warmup} s per side, then ${settings.rounds} rounds of ${settings.duration} s per side, alternating (ABBA)`)
    const secret = randomBytes(32).toString('base64url')
    const env = (store) => ({ NEX_SECRET: secret, NODE_ENV: 'production', BENCH_STORE: store, BENCH_REDIS_URL: redisServer.url })
    const ops = []
    const { samples, perLaunch } = await overLaunches(async (launch) => {
      const started = []
      try {
        const memory = await startServer('memory', SERVER, { env: env('memory') })
        started.push(memory)
        const redis = await startServer('redis', SERVER, { env: env('redis') })
        started.push(redis)
        const requests = await prepare({ memory, redis }, admin, launch)
        ops.push(await countRedisOps(admin, redis))
        const memorySide = {
          name: 'memory',
          run: (phase) => loadRound(loadgen, memory, requests.memory, phase === 'warmup' ? settings.warmup : settings.duration)
        }
        const redisSide = {
          name: 'redis',
          run: async (phase) => {
            const cpu0 = await redisCpuUs(admin)
            const t0 = performance.now()
            const sample = await loadRound(loadgen, redis, requests.redis, phase === 'warmup' ? settings.warmup : settings.duration)
            const wallUs = (performance.now() - t0) * 1000
            const redisUs = await redisCpuUs(admin) - cpu0
            // The harness counts every process but the server and the load generator as other load:
            // redis-server works for this side, so its CPU is taken out of that figure.
            const foreign = sample.foreign === null ? null : Math.max(0, sample.foreign - redisUs / wallUs)
            return { ...sample, foreign, redisCpu: redisUs / wallUs, redisUsPerRequest: redisUs / sample.requests }
          }
        }
        return await alternate([memorySide, redisSide], { rounds: settings.rounds })
      } finally {
        await stopAll(started.reverse())
      }
    })
    return report(samples, perLaunch, ops)
  } finally {
    await stopAll([loadgen])
    admin.disconnect()
    await redisServer.stop()
  }
}

function report (samples, perLaunch, ops) {
  const rps = compare(samples, 'rps', 'redis', 'memory')
  const rows = [['launch', 'round', 'side', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'server µs/req', 'redis CPU', 'redis µs/req', 'loadgen CPU', 'other load', 'redis/memory']]
  samples.redis.forEach((_, i) => {
    for (const name of ['memory', 'redis']) {
      const s = samples[name][i]
      rows.push([
        String(s.launch), String(i % settings.rounds + 1), name, fmt(s.rps), fmt(s.p50, 1), fmt(s.p99, 1), pct(s.serverCpu),
        fmt(s.usPerRequest, 1), name === 'redis' ? pct(s.redisCpu) : '', name === 'redis' ? fmt(s.redisUsPerRequest, 1) : '',
        pct(s.clientCpu), s.foreign === null ? 'n/a' : pct(s.foreign), name === 'redis' ? rps.perRound[i].toFixed(3) : ''
      ])
    }
  })
  console.log(table(rows))

  // CPU time per request: lower is better, so compare its inverse.
  const inverse = (list) => list.map(s => ({ v: 1 / s.usPerRequest }))
  const cpu = compare({ redis: inverse(samples.redis), memory: inverse(samples.memory) }, 'v', 'redis', 'memory')
  const redisUs = median(samples.redis.map(s => s.redisUsPerRequest))
  const launches = perLaunch.map(own => compare(own, 'rps', 'redis', 'memory').ratio)
  console.log(table([
    ['all rounds', 'median req/s', 'min–max req/s', 'median server µs/req'],
    ['memory store', fmt(rps.reference.median), `${fmt(rps.reference.min)}–${fmt(rps.reference.max)}`, fmt(1 / cpu.reference.median, 1)],
    ['redis store', fmt(rps.ours.median), `${fmt(rps.ours.min)}–${fmt(rps.ours.max)}`, `${fmt(1 / cpu.ours.median, 1)} (+ ${fmt(redisUs, 1)} in redis-server)`]
  ]))
  const { retried, disturbed } = disturbance()
  if (retried > 0 || disturbed > 0) console.log(`other processes disturbed the machine: ${retried} round(s) measured again, ${disturbed} kept above the limit`)
  const saturated = [...samples.memory, ...samples.redis].filter(s => s.clientCpu > 0.95 && s.serverCpu < 0.9).length
  if (saturated > 0) console.log(`warning: the load generator was saturated in ${saturated} run(s); the ratio understates the difference`)
  console.log(`per-launch ratios (median of its rounds): ${launches.map(r => r.toFixed(3)).join(', ')}`)
  console.log(`memory=${rps.reference.median.toFixed(0)} req/s  redis=${rps.ours.median.toFixed(0)} req/s  ` +
    `ratio of medians=${rps.ratioOfMedians.toFixed(3)}  median of per-round ratios=${rps.ratio.toFixed(3)}  ` +
    `CPU-per-request ratio (memory µs / redis µs, app server only)=${cpu.ratio.toFixed(3)}`)

  // The command counts are the same in every launch unless something retried; the highest one is reported.
  const worst = ops.reduce((a, b) => b.opsPerAction > a.opsPerAction ? b : a)
  console.log(`\n# Redis commands per increment (${OPS_ACTIONS} sequential increments on one page view after ${OPS_WARMUP} uncounted, per launch: ` +
    `${ops.map(o => o.opsPerAction.toFixed(3)).join(', ')})`)
  console.log(`INFO commandstats delta (INFO itself excluded): ${worst.opsPerAction.toFixed(3)} per action: ${list(worst.breakdown)}`)
  console.log(`  sent by the app (round trips): ${worst.sentPerAction.toFixed(3)} per action: ${list(worst.sent)}`)
  console.log(`  run by Lua scripts inside Redis: ${worst.scriptedPerAction.toFixed(3)} per action: ${list(worst.scripted)}`)
  if (!worst.monitorAgrees) console.log('warning: MONITOR and INFO commandstats counted different totals over the batch')
  const ratioMet = rps.ratio >= RATIO_TARGET
  const opsMet = worst.opsPerAction <= OPS_TARGET
  console.log(`target ratio ≥ ${RATIO_TARGET.toFixed(2)}: ${ratioMet ? 'met' : 'MISSED'} (${rps.ratio.toFixed(3)}); ` +
    `target Redis ops per action ≤ ${OPS_TARGET}: ${opsMet ? 'met' : 'MISSED'} (${worst.opsPerAction.toFixed(3)}, ` +
    `${worst.sentPerAction.toFixed(3)} round trips)`)
  console.log(`redisOpsPerAction=${worst.opsPerAction.toFixed(3)}`)
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
    disturbed,
    redisOpsPerAction: worst.opsPerAction,
    redisRoundTripsPerAction: worst.sentPerAction,
    notes: [`counter-increment-redis.js: Redis ops per action ${worst.opsPerAction.toFixed(3)} (${list(worst.breakdown)}; ` +
      `${worst.sentPerAction.toFixed(3)} round trips), target ≤ ${OPS_TARGET}: ${opsMet ? 'met' : 'MISSED'}`]
  }
}

runBenchmark(main)
