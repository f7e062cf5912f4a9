// The reference of the SSE broadcast benchmark: a hand-written fan-out on plain `node:http`.
//   GET /events      SSE headers (the same ones @nex/sse sends), the response kept in a Set until it closes
//   POST /broadcast  ?n=&interval=&from=: events `data: {"t":<send time>,"i":<index>}\n\n`, each framed
//                    and encoded once and written with one res.write per connection; answers when sent
//   GET /stats       { connections, rss, heapUsed, … } (?gc=1: after a full GC)
// create() returns what bench/lib/harness.js needs of a server: listen(), close() and `server`.
import { createServer } from 'node:http'
import { broadcastParams, profiler, runBroadcast, stats } from '../lib/sse-server-common.js'

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no'
}

function sendJson (res, status, value) {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export async function create () {
  const clients = new Set()
  const profile = profiler()

  function fanOut (event) {
    const frame = Buffer.from(`data: ${JSON.stringify(event)}\n\n`)
    for (const res of clients) res.write(frame)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost')
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, SSE_HEADERS)
      res.flushHeaders()
      clients.add(res)
      res.once('close', () => clients.delete(res))
      return
    }
    const query = Object.fromEntries(url.searchParams)
    if (req.method === 'POST' && url.pathname === '/broadcast') {
      req.resume()
      let params
      try {
        params = broadcastParams(query)
      } catch (error) {
        return sendJson(res, 400, { error: error.message })
      }
      const run = (params.from >= 0 ? profile.start() : Promise.resolve()).then(() => runBroadcast(params, fanOut))
      run.then((result) => sendJson(res, 200, result), (error) => sendJson(res, 500, { error: error.message }))
      return
    }
    if (req.method === 'GET' && url.pathname === '/stats') {
      stats(clients.size, { gc: query.gc === '1' }).then((result) => sendJson(res, 200, result))
      return
    }
    sendJson(res, 404, { error: 'not found' })
  })

  return {
    server,
    listen: ({ host, port }) => new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port }, () => {
        server.off('error', reject)
        resolve()
      })
    }),
    close: async () => {
      await profile.stop()
      await new Promise((resolve) => {
        for (const res of clients) res.end()
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}
