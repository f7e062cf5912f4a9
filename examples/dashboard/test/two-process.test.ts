// The dashboard as two processes sharing one Redis through REDIS_URL (as behind a load balancer): a
// stream on either process gets the same bytes for each second, and exactly one event per second, since
// only the process that claims a second publishes it. Needs redis-server.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startRedisServer } from '@nex/testing'
import { startServer, type RunningServer } from '../../../test/helpers/server-process.ts'
import { openStream, step, ticks } from './helpers/event-stream.ts'

const DASHBOARD = fileURLToPath(new URL('..', import.meta.url))
const SECRET = 'two-process-secret-shared-by-both-processes-0123'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const env = { REDIS_URL: redis.url, NEX_SECRET: SECRET }
const [a, b] = await Promise.all([startServer(t, DASHBOARD, env), startServer(t, DASHBOARD, env)]) as [RunningServer, RunningServer]
t.teardown(() => Promise.all([a.stop(), b.stop()]))

const baseOf = (server: RunningServer): string => `http://${server.host}:${server.port}`

t.test('streams on both processes get one identical event per second', async t => {
  const [onA, onB] = await Promise.all([openStream(t, baseOf(a)), openStream(t, baseOf(b))])
  const [seenA, seenB] = await Promise.all([ticks(onA, 5), ticks(onB, 5)])

  for (const [name, seen] of [['a', seenA], ['b', seenB]] as const) {
    const steps = seen.slice(1).map((tick, i) => step(seen[i]?.dataPoints ?? '', tick.dataPoints))
    t.ok(steps.every(s => s === 1 || s === 2), `process ${name}: one event per second, never two for the same second (steps ${steps.join(', ')})`)
  }
  const framesOfB = new Map(seenB.map(tick => [tick.dataPoints, tick.frame]))
  const shared = seenA.filter(tick => framesOfB.has(tick.dataPoints))
  t.ok(shared.length >= 4, `both processes' streams saw the same seconds (${shared.length} of 5 in common)`)
  for (const tick of shared) t.equal(framesOfB.get(tick.dataPoints), tick.frame, `second ${tick.dataPoints}: the same bytes on both processes`)
})
