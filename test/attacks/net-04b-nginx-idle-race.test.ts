// RELIABILITY §6 NET-04 (b): the load-balancer idle race. Debian nginx proxies to the fixture app
// (fixtures/par-net, test profile K = keepAliveTimeout 2 s) with `keepalive 32` upstream pools, and wrk
// (-c 50 per pool) sends bursts separated by idle gaps. Node closes an idle kept-alive connection
// K + 1 s = 3 s after its last response (net-keep-alive.test.ts). If nginx still holds such a connection
// in its cache, a burst that arrives as the app closes it is written into a dying socket: nginx reads a
// reset or EOF and answers 502. nginx silently retries a request that failed on a cached connection unless
// it is non-idempotent (POST, PATCH, LOCK) and already sent, so the race only reaches clients on POST: the
// POST pools show the 502s, the GET pool at most hidden retries (`$upstream_status` "502, 200").
//
// Correct setting: nginx `keepalive_timeout 1500ms` < the app's K, so nginx always closes an idle
// connection before the app does: zero 502s, no upstream error, every upstream connection closed by nginx,
// and the 400 ms gap shows connections are reused. Control: the row's `keepalive_timeout 60s` with the
// same app and the same bursts reproduces the 502s, each one a POST the app never ran.
//
// Scaled for 2 CI cores: the row's 60 s / wrk -d 30s become the profile's 3 s idle close and one
// wrk run of ~20 s per setting. The race window is a few ms wide, so the bursts are timed instead of
// random: every connection of a pool sends at the same wall-clock moments (a Lua delay() reading
// CLOCK_REALTIME), first after a 400 ms gap, then after gaps sweeping 3 005–3 025 ms (the app's close
// plus the time a burst of 50 takes). Three POST pools and one GET pool, each its own `upstream` block
// (nginx keeps one LIFO cache per block) and wrk thread, run 750 ms apart, so one run offers 15 POST
// bursts to the race. Run time ~45 s.
import t, { type Test } from 'tap'
import { PROFILE } from './fixtures/par-net/app.js'
import { startNginx, wrk, type AccessEntry } from './helpers/nginx.ts'
import { startServerChild, type ChildStats } from './helpers/server-child.ts'

const K = PROFILE.keepAliveTimeout
/** When Node closes an idle kept-alive connection (K plus its 1 s buffer). */
const APP_IDLE_CLOSE = K + 1_000
const CONNECTIONS_PER_POOL = 50
const POOLS = [
  { path: '/post-a/', method: 'POST', offset: 0 },
  { path: '/post-b/', method: 'POST', offset: 750 },
  { path: '/post-c/', method: 'POST', offset: 1_500 },
  { path: '/get/', method: 'GET', offset: 2_250 }
]
/** Idle gaps between bursts (ms): one well inside every timeout, then a sweep just past the app's close. */
const GAPS = [400, ...[5, 10, 15, 20, 25].map((ms) => APP_IDLE_CLOSE + ms)]
const REQUESTS_PER_POOL = CONNECTIONS_PER_POOL * (GAPS.length + 1)

// One wrk thread per pool. Every connection of a thread waits for the same burst times, computed from the
// wall clock shared by all threads (LuaJIT's ffi: wrk's Lua has no millisecond clock of its own).
const SCRIPT = `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } nex_timespec;
int clock_gettime(int clock, nex_timespec *ts);
]]
local CLOCK_REALTIME = 0
local now_ts = ffi.new("nex_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_REALTIME, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("pool", threads)
end

local bursts, method, path = {}, "GET", "/"
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
-- args: first burst (epoch ms), the gaps ("ms,ms,..."), then "METHOD path offset" for each thread
function init(args)
  local offset
  method, path, offset = args[2 + pool]:match("^(%S+) (%S+) (%d+)$")
  local at = tonumber(args[1]) + tonumber(offset)
  bursts[1] = at
  for gap in args[2]:gmatch("%d+") do
    at = at + tonumber(gap)
    bursts[#bursts + 1] = at
  end
end

-- Before every request: wait for the next burst; after the last one, idle until wrk's -d ends.
function delay()
  local now = now_ms()
  for _, at in ipairs(bursts) do
    if at > now then return math.floor(at - now + 0.5) end
  end
  return 3600000
end

function request()
  if method == "POST" then return wrk.format("POST", path, form, "n=1") end
  return wrk.format("GET", path)
end
`

/** nginx's messages for a request that failed on an upstream connection. */
const UPSTREAM_FAILURE = /upstream prematurely closed connection|\(104: Connection reset by peer\)|\(32: Broken pipe\)/

interface Run {
  /** Epoch ms of the first pool's first burst. */
  firstBurst: number
  log: AccessEntry[]
  /** Error-log lines of failed upstream attempts. */
  failures: string[]
  stats: ChildStats
  /** Responses wrk read, and how many were not 2xx/3xx. */
  wrk: { requests: number, non2xx: number }
}

/** The fixture app behind nginx with upstream `keepalive_timeout`, loaded by the timed bursts. */
async function runBursts (t: Test, keepaliveTimeout: string): Promise<Run> {
  const app = await startServerChild(t)
  const nginx = await startNginx(t, (port) => `
  ${POOLS.map((_, index) => `upstream pool${index} { server 127.0.0.1:${app.port}; keepalive 32; keepalive_timeout ${keepaliveTimeout}; }`).join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    ${POOLS.map(({ path }, index) => `location ${path} { proxy_pass http://pool${index}/; }`).join('\n    ')}
  }`)
  const firstBurst = Date.now() + 1_000
  const lastBurst = firstBurst + Math.max(...POOLS.map(({ offset }) => offset)) + GAPS.reduce((sum, gap) => sum + gap, 0)
  const result = await wrk({
    url: nginx.url,
    threads: POOLS.length,
    connections: POOLS.length * CONNECTIONS_PER_POOL,
    seconds: Math.ceil((lastBurst + 1_000 - Date.now()) / 1_000),
    script: SCRIPT,
    args: [String(firstBurst), GAPS.join(','), ...POOLS.map(({ method, path, offset }) => `${method} ${path}count ${offset}`)]
  })
  t.equal(result.code, 0, 'wrk ran', { output: result.output })
  return {
    firstBurst,
    log: nginx.accessLog(),
    failures: nginx.errorLog().split('\n').filter((line) => UPSTREAM_FAILURE.test(line)),
    stats: await app.stats(),
    wrk: { requests: result.requests, non2xx: result.non2xx }
  }
}

/** Which burst of its pool (0 = the first, 1 = after the 400 ms gap, …) a logged request belonged to. */
function burstOf (run: Run, entry: AccessEntry): number {
  const pool = POOLS.find(({ path }) => entry.uri.startsWith(path))
  let at = run.firstBurst + (pool?.offset ?? 0)
  let burst = 0
  for (const gap of GAPS) {
    at += gap
    if (entry.at < at) break
    burst++
  }
  return burst
}

const count = <T>(items: T[], test: (item: T) => boolean): number => items.filter(test).length
/** Upstream attempts that failed (`$upstream_status` lists one status per attempt). */
const failedAttempts = (entry: AccessEntry): number => entry.upstreamStatus.split(', ').filter((status) => status === '502').length

/** What both settings must show: every request answered once, and the log and error log agree. */
function checkAccounting (t: Test, run: Run): void {
  t.equal(run.log.length, POOLS.length * REQUESTS_PER_POOL, `nginx logged all ${POOLS.length * REQUESTS_PER_POOL} requests`)
  t.ok(run.log.every(({ status }) => status === 200 || status === 502), 'every answer is 200 or 502')
  const ok = count(run.log, ({ status }) => status === 200)
  t.equal(run.stats.app.counted, ok, `the app ran the handler exactly once per 200 (${ok}): no failed POST was executed, no retried GET twice`)
  t.same(run.wrk, { requests: run.log.length, non2xx: count(run.log, ({ status }) => status !== 200) }, 'wrk read the same answers as the nginx log')
  t.equal(run.failures.length, run.log.reduce((sum, entry) => sum + failedAttempts(entry), 0), 'each upstream failure in the error log is a failed attempt in $upstream_status')
}

t.test(`NET-04 (b) nginx upstream keepalive_timeout 1500ms < app keepAliveTimeout ${K} ms: zero 502s`, async (t) => {
  const run = await runBursts(t, '1500ms')
  checkAccounting(t, run)
  t.equal(count(run.log, ({ status }) => status === 502), 0, 'zero 502s in the nginx access log')
  t.same(run.failures, [], 'no upstream failure in the nginx error log')
  t.equal(count(run.log, ({ upstreamStatus }) => upstreamStatus.includes(',')), 0, 'no request needed a second upstream attempt')
  const connections = run.stats.connections
  t.ok(connections.some(({ requests }) => requests.length >= 2), 'upstream connections were reused (the 400 ms gaps)')
  const closed = connections.filter(({ closedAt }) => closedAt !== null)
  t.ok(closed.length > 0 && closed.every(({ clientEnded }) => clientEnded), `all ${closed.length} closed upstream connections were closed by nginx, none by the app's idle timer`)
  t.comment(`${run.log.length} requests over ${connections.length} upstream connections, ${run.stats.app.counted} handled`)
})

t.test('NET-04 (b) control: the row\'s keepalive_timeout 60s > app keepAliveTimeout: the race reproduces 502s on POST', async (t) => {
  const run = await runBursts(t, '60s')
  checkAccounting(t, run)
  const posts = run.log.filter(({ method }) => method === 'POST')
  const gets = run.log.filter(({ method }) => method === 'GET')
  const post502 = posts.filter(({ status }) => status === 502)
  const retriedGets = count(gets, (entry) => failedAttempts(entry) > 0)
  const perBurst = POOLS.filter(({ method }) => method === 'POST').map(({ path }) => GAPS.map((_, index) => count(post502, (entry) => entry.uri.startsWith(path) && burstOf(run, entry) === index + 1)))
  t.comment(`${post502.length} of ${posts.length} POSTs answered 502 (per pool and burst after each gap of ${GAPS.join(', ')} ms: ${perBurst.map((pool) => pool.join(' ')).join(' | ')}); ${retriedGets} of ${gets.length} GETs hit the race and were retried by nginx; ${run.failures.length} upstream failures logged`)
  t.ok(post502.length > 0, `POSTs answered 502 (${post502.length}): nginx reused connections the app was closing`)
  t.equal(count(run.log, (entry) => failedAttempts(entry) > 0 && burstOf(run, entry) <= 1), 0, 'none in the first burst or after the 400 ms gap: only connections idle up to the app\'s close are hit')
  t.equal(count(gets, ({ status }) => status === 502), 0, 'no GET answered 502: nginx retries an idempotent request that failed on a cached connection')
  t.ok(run.stats.connections.some(({ closedAt, clientEnded }) => closedAt !== null && !clientEnded), 'the app closed idle upstream connections itself (nginx would have kept them 60 s)')
})
