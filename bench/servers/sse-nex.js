// "Ours" in the SSE broadcast benchmark: Fastify (logger off) + @nex/sse, the routes of servers/sse-http.js.
//   GET /events      reply.sse(async (s) => { await s.subscribe('bench') })  (default heartbeat)
//   POST /broadcast  ?n=&interval=&from=: app.nexSse.publish('bench', { data: { t, i } }) on the same schedule
//   GET /stats       { connections: app.nexSse.streams, rss, heapUsed, … } (?gc=1: after a full GC)
// The stream caps are raised to fit the benchmark's connections, all from loopback addresses:
// BENCH_SSE_MAX_STREAMS (set by bench/sse-broadcast.js; default 10 000, the plugin's default).
import Fastify from 'fastify'
import nexSse from '@nex/sse'
import { broadcastParams, profiler, runBroadcast, stats } from '../lib/sse-server-common.js'

const TOPIC = 'bench'

export async function create () {
  const maxStreams = Number(process.env.BENCH_SSE_MAX_STREAMS || 10_000)
  const app = Fastify({ logger: false })
  await app.register(nexSse, { maxStreams, maxStreamsPerIp: maxStreams })
  const profile = profiler()
  app.addHook('onClose', async () => await profile.stop())

  app.get('/events', (request, reply) => reply.sse(async (stream) => {
    await stream.subscribe(TOPIC)
  }))

  app.post('/broadcast', async (request, reply) => {
    let params
    try {
      params = broadcastParams(request.query)
    } catch (error) {
      return reply.code(400).send({ error: error.message })
    }
    if (params.from >= 0) await profile.start()
    return await runBroadcast(params, (event) => app.nexSse.publish(TOPIC, { data: event }))
  })

  app.get('/stats', async (request) => await stats(app.nexSse.streams, { gc: request.query.gc === '1' }))

  return app
}
