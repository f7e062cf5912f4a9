// SSE client worker of bench/sse-broadcast.js, and the parent's handle on it (`startClient`).
//
// A worker opens its share of the event-stream connections with raw `net` sockets (no Agent, so no
// pooling limit), at most `concurrency` connecting at once so the server's accept backlog never
// overflows, each from one of the given loopback source addresses. It decodes HTTP/1.1 chunked framing
// and SSE frames minimally, and for every event `data: {"t":<send time>,"i":<index>}` records
// receive time − send time (wall-clock ms, `performance.timeOrigin + performance.now()` in both
// processes). Events with i < 0 are warm-up events: counted, not recorded.
//
// Parent and worker talk over IPC (advanced serialization, so latency samples travel as a
// Float64Array): the worker sends { ready } once, then answers each { id, cmd, ... } with { id, result }
// or { id, error }. It exits when the channel closes, so it never outlives the benchmark.
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { serveCommands, spawnChild } from './harness.js'

const FILE = fileURLToPath(import.meta.url)

// ---------------------------------------------------------------------------------------------------
// Parent side

/**
 * Starts a worker (pinned to `core` when the harness can pin; `execArgv`: node options) and resolves once
 * it is ready, with the harness's child handle `{ name, request(cmd, data), stop(), kill() }`.
 */
export async function startClient (name, { core = null, env = {}, execArgv = [], readyTimeoutMs = 15_000 } = {}) {
  return await spawnChild(name, [...execArgv, FILE, 'worker'], { core, env, serialization: 'advanced', readyTimeoutMs })
}

// ---------------------------------------------------------------------------------------------------
// Worker side

const wallNow = () => performance.timeOrigin + performance.now()

// Chunked-decoder states.
const HEAD = 0
const SIZE = 1
const DATA = 2
const CRLF = 3
const DONE = 4

const state = {
  conns: [],
  held: 0,
  failed: 0,
  closedEarly: 0,
  closing: false,
  errors: new Map(),
  warmup: 0,
  // Measured events (i in 0..events-1): latency samples and per-event delivery counts.
  events: 0,
  samples: new Float64Array(0),
  count: 0,
  perEvent: new Uint32Array(0),
  outOfOrder: 0,
  other: 0,
  firstReceive: 0,
  lastReceive: 0,
  head: null,
  frame: null
}

function noteError (what) {
  state.errors.set(what, (state.errors.get(what) ?? 0) + 1)
}

// One buffer for every socket's reads (`onread`): the callback runs synchronously, so it can be shared.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024)

class Conn {
  constructor (index) {
    this.index = index
    this.socket = null
    this.phase = HEAD
    this.text = ''
    this.remaining = 0
    this.sse = ''
    this.lastIndex = -Infinity
    this.received = 0
    this.held = false
    this.chunked = false
    this.settle = null
  }

  /** Feeds the first `length` bytes of `buf`, read at wall time `now`. */
  feed (buf, length, now) {
    const read = buf.toString('latin1', 0, length)
    const s = this.text === '' ? read : this.text + read
    this.text = ''
    let pos = 0
    if (this.phase === HEAD) {
      const end = s.indexOf('\r\n\r\n')
      if (end === -1) {
        this.text = s
        return
      }
      const head = s.slice(0, end)
      pos = end + 4
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]
      if (status !== '200') return this.fail(`status ${status ?? '?'}: ${head.split('\r\n', 1)[0]}`)
      if (!/\r\ncontent-type: *text\/event-stream/i.test(head)) return this.fail('not text/event-stream')
      this.chunked = /\r\ntransfer-encoding: *chunked/i.test(head)
      this.phase = this.chunked ? SIZE : DATA
      this.remaining = Infinity
      state.head ??= head
      this.held = true
      state.held++
      this.settle?.()
    }
    while (pos < s.length) {
      if (this.phase === SIZE) {
        const nl = s.indexOf('\r\n', pos)
        if (nl === -1) {
          this.text = s.slice(pos)
          return
        }
        const size = parseInt(s.slice(pos, nl), 16)
        pos = nl + 2
        if (!(size >= 0)) return this.fail('bad chunk size')
        if (size === 0) {
          this.phase = DONE
          return
        }
        this.remaining = size
        this.phase = DATA
      } else if (this.phase === DATA) {
        const take = Math.min(this.remaining, s.length - pos)
        this.sse += s.slice(pos, pos + take)
        pos += take
        this.remaining -= take
        if (this.remaining === 0) {
          this.phase = CRLF
          this.remaining = 2
        }
        this.frames(now)
      } else if (this.phase === CRLF) {
        const take = Math.min(this.remaining, s.length - pos)
        pos += take
        this.remaining -= take
        if (this.remaining === 0) this.phase = SIZE
      } else {
        return
      }
    }
  }

  frames (now) {
    let end
    while ((end = this.sse.indexOf('\n\n')) !== -1) {
      const frame = this.sse.slice(0, end)
      this.sse = this.sse.slice(end + 2)
      this.event(frame, now)
    }
  }

  event (frame, now) {
    // The benchmark's events are one `data:` line; comments (heartbeats) and other events are counted only.
    if (!frame.startsWith('data: {')) {
      if (frame.includes('\ndata: {') || frame.startsWith('data:')) state.other++
      return
    }
    const nl = frame.indexOf('\n')
    const { t, i } = JSON.parse(nl === -1 ? frame.slice(6) : frame.slice(6, nl))
    if (i < 0) {
      state.warmup++
      return
    }
    if (i >= state.events) {
      state.other++
      return
    }
    state.frame ??= frame.replace(/"t":[\d.e+-]+/, '"t":<t>')
    if (i <= this.lastIndex) state.outOfOrder++
    this.lastIndex = i
    this.received++
    state.perEvent[i]++
    if (state.count < state.samples.length) state.samples[state.count++] = now - t
    if (state.firstReceive === 0) state.firstReceive = now
    state.lastReceive = now
  }

  fail (why) {
    noteError(why)
    this.socket?.destroy()
  }
}

/** Opens one connection; resolves once it is held (response headers in) or failed. */
function openOne (conn, { host, port, path, localAddress, timeoutMs }) {
  return new Promise((resolve) => {
    let done = false
    const finish = (ok) => {
      if (done) return
      done = true
      clearTimeout(timer)
      conn.settle = null
      if (!ok) state.failed++
      resolve(ok)
    }
    conn.settle = () => finish(true)
    const options = {
      host,
      port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (nread, buf) => {
          conn.feed(buf, nread, wallNow())
          return true
        }
      }
    }
    if (localAddress !== undefined) options.localAddress = localAddress
    const socket = connect(options)
    conn.socket = socket
    const timer = setTimeout(() => {
      noteError(`no response headers within ${timeoutMs} ms`)
      socket.destroy()
    }, timeoutMs)
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`)
    })
    socket.on('error', (error) => noteError(`${error.code ?? error.message}${conn.held ? ' (after the headers)' : ''}`))
    socket.once('close', () => {
      if (conn.held) {
        state.held--
        if (!state.closing) {
          state.closedEarly++
          noteError('closed by the server while held')
        }
      }
      conn.held = false
      finish(false)
    })
  })
}

const handlers = {
  /** Opens `count` connections (global indexes from `first`); resolves when each is held or failed. */
  open: async ({ host, port, path, count, first, sources, concurrency, timeoutMs }) => {
    const started = performance.now()
    let next = 0
    const worker = async () => {
      while (next < count) {
        const j = next++
        const conn = new Conn(first + j)
        state.conns.push(conn)
        const source = sources[(first + j) % sources.length]
        await openOne(conn, { host, port, path, timeoutMs, localAddress: source === null ? undefined : source })
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
    return { held: state.held, failed: state.failed, ms: performance.now() - started, errors: [...state.errors] }
  },

  /** Starts recording `events` measured events (i = 0..events-1), forgetting earlier ones. */
  arm: ({ events }) => {
    state.events = events
    state.samples = new Float64Array(state.conns.length * events)
    state.count = 0
    state.perEvent = new Uint32Array(events)
    state.outOfOrder = 0
    state.other = 0
    state.firstReceive = 0
    state.lastReceive = 0
    for (const conn of state.conns) {
      conn.lastIndex = -Infinity
      conn.received = 0
    }
    return true
  },

  status: () => {
    const cpu = process.cpuUsage()
    return {
      // Times the worker slept and was woken (by data arriving): what a write to a sleeping reader costs the sender.
      wakeups: process.resourceUsage().voluntaryContextSwitches,
      held: state.held,
      failed: state.failed,
      closedEarly: state.closedEarly,
      received: state.count,
      warmup: state.warmup,
      lastReceive: state.lastReceive,
      cpuUs: cpu.user + cpu.system,
      wall: performance.now(),
      errors: [...state.errors]
    }
  },

  results: () => {
    let missingConns = 0
    for (const conn of state.conns) if (conn.held && conn.received < state.events) missingConns++
    const cpu = process.cpuUsage()
    return {
      samples: state.samples.slice(0, state.count),
      perEvent: state.perEvent,
      received: state.count,
      outOfOrder: state.outOfOrder,
      other: state.other,
      missingConns,
      firstReceive: state.firstReceive,
      lastReceive: state.lastReceive,
      head: state.head,
      frame: state.frame,
      cpuUs: cpu.user + cpu.system,
      rss: process.memoryUsage().rss
    }
  },

  /** The worker's wall clock, to check it agrees with the parent's. */
  clock: () => wallNow(),

  closeAll: async () => {
    state.closing = true
    const closed = state.conns.filter(conn => conn.socket !== null && !conn.socket.destroyed).map(conn => new Promise((resolve) => {
      conn.socket.once('close', resolve)
      conn.socket.destroy()
    }))
    await Promise.all(closed)
    state.conns = []
    return true
  },

  stop: () => {
    setImmediate(() => process.exit(0))
    return true
  }
}

function worker () {
  serveCommands(handlers)
  process.send({ ready: true, pid: process.pid })
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv[2] !== 'worker' || typeof process.send !== 'function') {
    console.error('usage: started by bench/sse-broadcast.js, not directly')
    process.exit(2)
  }
  worker()
}
