// What both servers of the SSE broadcast benchmark share (servers/sse-http.js, servers/sse-nex.js), so
// the broadcast schedule, the event payload and the figures they report are the same code on both
// sides: only the fan-out differs.
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { PerformanceObserver, performance } from 'node:perf_hooks'

// Garbage collection in this process so far (pauses of the main thread), for GET /stats.
const gcTotals = { count: 0, ms: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcTotals.count++
    gcTotals.ms += entry.duration
  }
}).observe({ entryTypes: ['gc'] })

/** Wall-clock ms with sub-ms precision, comparable across processes (unlike process.hrtime). */
export function wallNow () {
  return performance.timeOrigin + performance.now()
}

/** Query parameters of POST /broadcast: n events, one every `interval` ms, indexes from `from`. */
export function broadcastParams (query) {
  const int = (name, fallback, min) => {
    const raw = query[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
    return value
  }
  return { n: int('n', 100, 1), interval: Number(query.interval ?? 100), from: int('from', 0, -1e9) }
}

/**
 * Sends `n` events on a fixed schedule (event k is due at start + k × interval; a late one goes out as
 * soon as it can, with no catch-up burst beyond that). `send({ t, i })` fans one event out; `t` is the
 * wall-clock time just before it. Resolves, once the last one is sent, to what happened.
 */
export function runBroadcast ({ n, interval, from }, send) {
  if (!(interval >= 0 && interval <= 60_000)) throw new Error(`interval must be 0–60000 ms, got ${interval}`)
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let k = 0
    let maxLagMs = 0
    let firstSendAt = 0
    const tick = async () => {
      try {
        const now = performance.now()
        maxLagMs = Math.max(maxLagMs, now - (start + k * interval))
        const t = performance.timeOrigin + now
        if (k === 0) firstSendAt = t
        await send({ t, i: from + k })
        k++
        if (k === n) {
          resolve({ sent: n, firstSendAt, lastSendAt: t, maxLagMs, elapsedMs: performance.now() - start })
          return
        }
        setTimeout(tick, Math.max(0, start + k * interval - performance.now()))
      } catch (error) {
        reject(error)
      }
    }
    tick()
  })
}

/**
 * CPU profile of the measured broadcasts, when BENCH_SSE_PROF names a directory (Node 20 refuses
 * --cpu-prof in NODE_OPTIONS, so the server profiles itself through the inspector): `start()` on the
 * first measured broadcast (connection setup stays out of it), `stop()` when the server closes, which
 * writes <dir>/<BENCH_SSE_SIDE>-<pid>.cpuprofile (open it in Chrome DevTools or speedscope).
 */
export function profiler () {
  const dir = process.env.BENCH_SSE_PROF
  if (!dir) return { start: async () => {}, stop: async () => {} }
  let session = null
  return {
    async start () {
      if (session !== null) return
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.start')
    },
    async stop () {
      if (session === null) return
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      session = null
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${process.env.BENCH_SSE_SIDE ?? 'server'}-${process.pid}.cpuprofile`), JSON.stringify(profile))
    }
  }
}

/**
 * GET /stats: open streams, memory (after a full GC when `gc` is asked for and the process runs with
 * --expose-gc, so both sides are measured alike), GC pauses so far and the server's clock.
 */
export async function stats (connections, { gc = false } = {}) {
  if (gc && typeof globalThis.gc === 'function') {
    globalThis.gc()
    // Let the sweeper and the allocator give pages back before reading RSS.
    await new Promise((resolve) => setTimeout(resolve, 200))
    globalThis.gc()
  }
  const memory = process.memoryUsage()
  return {
    connections,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    gcCount: gcTotals.count,
    gcMs: gcTotals.ms,
    now: wallNow()
  }
}
