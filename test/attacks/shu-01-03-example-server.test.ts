/**
 * SHU-01, SHU-02 and SHU-03 (RELIABILITY §5, §6) through the examples' own `server.js` (`serve()` from nex,
 * DRAIN_DELAY from the environment), NODE_ENV=production, as `npm start` runs them.
 * packages/nex/test/shutdown.test.ts proves the protocol on a fixture app (50 keep-alive workers, hung
 * close, uncaught errors); test/realtime/shutdown.test.ts 100 SSE + 100 WebSockets on a preset fixture with
 * no drain. What was missing is the examples themselves, with a drain:
 *
 * - SHU-01, the counter example, DRAIN_DELAY=1000: 20 keep-alive workers load full page renders (`GET /`)
 *   while a simulated load balancer polls `/readyz` every 100 ms and takes the instance out after two
 *   failures; SIGTERM at 1 s. Every request is classified (RELIABILITY §5): 0 dropped (reset, hang-up,
 *   timeout), 0 refused, 0 5xx, nothing but 200; out of rotation within the drain; responses during the drain
 *   carry `Connection: close`; exit code 0, not before the drain and within drain + 2 s.
 * - SHU-02, the chat example, DRAIN_DELAY=500: 50 open room streams (SSE) at SIGTERM: each gets
 *   `event: shutdown` and then EOF (not a reset); exit 0 within drain + 2 s. (No example has a WebSocket:
 *   code 1001 is proven by test/realtime/shutdown.test.ts.)
 * - SHU-03, the counter example, DRAIN_DELAY=3000: a second SIGTERM during the drain exits 1 at once.
 *   (The hung-close half of SHU-03 needs a handler that never ends, which no example has: proven by
 *   packages/nex/test/shutdown.test.ts.)
 *
 * Scaled: 3 runs of SHU-01 instead of 10, 20 workers instead of 50, each pausing 100 ms between requests:
 * the preset's default rate limit (600 requests a minute per client IP, and every worker is 127.0.0.1)
 * would otherwise answer part of the load with 429; 50 SSE streams instead of 100.
 */
import t from 'tap'
import { Agent, request, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { startServer } from '../helpers/server-process.ts'
import { PRODUCTION } from './fixtures/sec-obs/apps.ts'

const COUNTER = fileURLToPath(new URL('../../examples/counter/', import.meta.url))
const CHAT = fileURLToPath(new URL('../../examples/chat/', import.meta.url))
const RUNS = 3
const WORKERS = 20
const PAUSE = 100
const SIGTERM_AT = 1_000
const LB_INTERVAL = 100
const LB_FAILURES = 2
const env = (drainDelay: number): Record<string, string> => ({ ...PRODUCTION, DRAIN_DELAY: String(drainDelay) } as Record<string, string>)

interface Exit { code: number | null, signal: NodeJS.Signals | null, elapsed: number }

/** How `child` ended, `elapsed` from now (call it right before the signal). */
async function exitOf (child: ChildProcess): Promise<Exit> {
  const started = performance.now()
  return await new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, elapsed: Math.round(performance.now() - started) })))
}

type Outcome = { status: number, close: boolean } | { error: string }

async function get (host: string, port: number, path: string, agent: Agent | false): Promise<Outcome> {
  return await new Promise((resolve) => {
    const req = request({ host, port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, close: res.headers.connection === 'close' }))
      res.on('close', () => { if (!res.complete) resolve({ error: 'response cut' }) })
    })
    req.setTimeout(5_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    req.end()
  })
}

t.test(`SHU-01: SIGTERM under keep-alive load behind a load balancer, counter server.js, ${RUNS} runs: 0 dropped, 0 5xx, exit 0`, async (t) => {
  const drainDelay = 1_000
  for (let run = 1; run <= RUNS; run++) {
    const server = await startServer(t, COUNTER, env(drainDelay))
    const { host, port } = server
    const report = { requests: 0, ok: 0, serverErrors: 0, other: {} as Record<number, number>, refused: 0, dropped: {} as Record<string, number>, closed: 0, outOfRotationAfter: -1 }
    const agent = new Agent({ keepAlive: true, maxSockets: WORKERS })
    const rotation = { in: true }
    let signalledAt = 0
    const balancer = (async () => {
      let failures = 0
      while (rotation.in) {
        const outcome = await get(host, port, '/readyz', false)
        failures = 'status' in outcome && outcome.status === 200 ? 0 : failures + 1
        if (failures >= LB_FAILURES) {
          rotation.in = false
          report.outOfRotationAfter = signalledAt === 0 ? -1 : Math.round(performance.now() - signalledAt)
        }
        await sleep(LB_INTERVAL)
      }
    })()
    const worker = async (): Promise<void> => {
      while (rotation.in) {
        const outcome = await get(host, port, '/', agent)
        report.requests++
        if ('error' in outcome) {
          if (outcome.error === 'ECONNREFUSED') report.refused++
          else report.dropped[outcome.error] = (report.dropped[outcome.error] ?? 0) + 1
        } else {
          if (outcome.status === 200) report.ok++
          else if (outcome.status >= 500) report.serverErrors++
          else report.other[outcome.status] = (report.other[outcome.status] ?? 0) + 1
          if (outcome.close) report.closed++
        }
        await sleep(PAUSE)
      }
    }
    const workers = Promise.all(Array.from({ length: WORKERS }, worker))
    await sleep(SIGTERM_AT)
    const exited = exitOf(server.child)
    signalledAt = performance.now()
    server.child.kill('SIGTERM')
    await Promise.all([workers, balancer])
    const exit = await exited
    agent.destroy()
    t.comment(`run ${run}: ${JSON.stringify(report)}, exit ${JSON.stringify(exit)}`)
    t.ok(report.ok > WORKERS * 5, `run ${run}: the load ran (${report.ok} pages)`)
    t.same(report.dropped, {}, `run ${run}: nothing dropped`)
    t.equal(report.serverErrors, 0, `run ${run}: no 5xx`)
    t.equal(report.refused, 0, `run ${run}: nothing refused (the balancer stopped sending first)`)
    t.same(report.other, {}, `run ${run}: nothing but 200 (no 429 either)`)
    t.ok(report.outOfRotationAfter > 0 && report.outOfRotationAfter < drainDelay, `run ${run}: out of rotation ${report.outOfRotationAfter} ms after SIGTERM, within the drain`)
    t.ok(report.closed > 0, `run ${run}: ${report.closed} responses during the drain carried Connection: close`)
    t.same([exit.code, exit.signal], [0, null], `run ${run}: exit code 0`)
    t.ok(exit.elapsed >= drainDelay && exit.elapsed < drainDelay + 2_000, `run ${run}: exited ${exit.elapsed} ms after SIGTERM (drain ${drainDelay} ms, budget + 2 s)`)
  }
})

t.test('SHU-02: SIGTERM with 50 chat room streams open (chat server.js): event shutdown, then EOF, exit 0', async (t) => {
  const drainDelay = 500
  const server = await startServer(t, CHAT, env(drainDelay))
  const { host, port } = server
  const streams = await Promise.all(Array.from({ length: 50 }, async (_, i) => await new Promise<{ ended: Promise<string> }>((resolve, reject) => {
    // What a browser's EventSource sends to its own origin.
    const headers = { accept: 'text/event-stream', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', origin: `http://${host}:${port}` }
    const req = request({ host, port, path: `/rooms/room-${i % 3}?/stream`, headers, agent: false }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`stream refused: ${res.statusCode ?? 0}`))
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      resolve({
        ended: new Promise((resolve, reject) => {
          res.on('end', () => resolve(text))
          res.on('aborted', () => reject(new Error('stream cut without EOF')))
          res.on('error', reject)
        })
      })
    })
    req.on('error', reject)
    req.end()
  })))
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  const texts = await Promise.allSettled(streams.map(async (stream) => await stream.ended))
  const exit = await exited
  const ended = texts.filter((result) => result.status === 'fulfilled').map((result) => (result as PromiseFulfilledResult<string>).value)
  t.equal(ended.length, 50, `all 50 streams ended with EOF (${texts.length - ended.length} cut)`)
  t.ok(ended.every((text) => /^event: shutdown$/m.test(text)), 'each got event: shutdown before its EOF')
  t.same([exit.code, exit.signal], [0, null], 'exit code 0')
  t.ok(exit.elapsed < drainDelay + 2_000, `exited ${exit.elapsed} ms after SIGTERM (drain ${drainDelay} ms + 2 s)`)
})

t.test('SHU-03: a second SIGTERM during the drain (counter server.js) exits 1 at once', async (t) => {
  const drainDelay = 3_000
  const server = await startServer(t, COUNTER, env(drainDelay))
  const exited = exitOf(server.child)
  server.child.kill('SIGTERM')
  await sleep(200)
  const second = performance.now()
  server.child.kill('SIGTERM')
  const exit = await exited
  const afterSecond = Math.round(performance.now() - second)
  t.same([exit.code, exit.signal], [1, null], 'exit code 1')
  t.ok(afterSecond < 300, `exited ${afterSecond} ms after the second signal, without waiting for the drain (${drainDelay} ms)`)
  t.match(server.output(), /second SIGTERM during shutdown; exiting now with code 1/, 'logged')
})
