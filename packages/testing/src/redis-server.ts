/**
 * A throwaway real `redis-server` for tests: spawned on a free 127.0.0.1 port with persistence off,
 * ready when it answers PING. Needs the binary (Debian/Ubuntu: `apt-get install redis-server`).
 *
 *   const redis = await startRedisServer()
 *   t.teardown(() => redis.stop())
 *   const client = new Redis(redis.url)
 *
 * `pause()`/`resume()` send SIGSTOP/SIGCONT (a stalled server: TCP up, no replies); `crash()` kills it
 * (connections refused) and `restart()` brings it back on the same port (an outage and recovery). No Redis client library is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RedisServerOptions {
  /** The redis-server binary. Default `/usr/bin/redis-server`, else `redis-server` on PATH. */
  binary?: string
  /** Extra command-line arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[]
  /** Most ms to wait for the server to answer PING after a start. Default 10 000. */
  startTimeout?: number
}

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Process id of the current server process (changes on `restart()`). */
  readonly pid: number
  /** Kills the server and waits for it to exit. Idempotent. */
  stop (): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause (): void
  /** Unfreezes a paused server (SIGCONT). */
  resume (): void
  /**
   * Kills the server (SIGKILL) and keeps its port for `restart()`: connections are refused meanwhile
   * (a crashed Redis). Unlike `stop()`, the server can come back.
   */
  crash (): Promise<void>
  /** Stops the server (if running) and starts a new one on the same port (data is lost: persistence is off). */
  restart (): Promise<void>
}

const DEFAULT_BINARY = '/usr/bin/redis-server'
const STOP_TIMEOUT = 5000

export async function startRedisServer (options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? findBinary()
  const extraArgs = options.args ?? []
  const startTimeout = options.startTimeout ?? 10_000
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'nex-redis-'))
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let stopped = false

  // Never leave a server behind when the test process exits without calling stop().
  const killOnExit = (): void => { child?.kill('SIGKILL') }
  process.once('exit', killOnExit)

  async function start (): Promise<void> {
    const output: string[] = []
    const proc = spawn(binary, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', ...extraArgs
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    let exitInfo: string | null = null
    exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        exitInfo = `exited with ${signal ?? `code ${code}`}`
        resolve()
      })
    })
    let spawnError: Error | null = null
    proc.once('error', (err) => { spawnError = err })
    const keep = (chunk: Buffer): void => {
      output.push(chunk.toString())
      if (output.length > 50) output.shift()
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)

    const deadline = Date.now() + startTimeout
    for (;;) {
      if (spawnError !== null) throw new Error(`redis-server could not be started (${binary}): ${(spawnError as Error).message}`)
      if (exitInfo !== null) throw new Error(`redis-server ${exitInfo} before accepting connections:\n${output.join('')}`)
      if (await pingOnce(port, 500)) return
      if (Date.now() > deadline) {
        proc.kill('SIGKILL')
        throw new Error(`redis-server did not answer PING on port ${port} within ${startTimeout} ms:\n${output.join('')}`)
      }
      await sleep(25)
    }
  }

  async function kill (): Promise<void> {
    const proc = child
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGKILL')
    const timeout = sleep(STOP_TIMEOUT).then(() => { throw new Error(`redis-server (pid ${proc.pid}) did not exit within ${STOP_TIMEOUT} ms`) })
    await Promise.race([exited, timeout])
  }

  try {
    await start()
  } catch (err) {
    await kill().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    process.off('exit', killOnExit)
    throw err
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid () {
      return child?.pid ?? -1
    },
    async stop () {
      if (stopped) return
      stopped = true
      try {
        await kill()
      } finally {
        rmSync(dir, { recursive: true, force: true })
        process.off('exit', killOnExit)
      }
    },
    pause () {
      child?.kill('SIGSTOP')
    },
    resume () {
      child?.kill('SIGCONT')
    },
    async crash () {
      if (stopped) throw new Error('startRedisServer: crash() after stop()')
      await kill()
    },
    async restart () {
      if (stopped) throw new Error('startRedisServer: restart() after stop()')
      await kill()
      await start()
    }
  }
}

function findBinary (): string {
  try {
    accessSync(DEFAULT_BINARY, constants.X_OK)
    return DEFAULT_BINARY
  } catch {}
  const onPath = (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => join(dir, 'redis-server'))
  for (const candidate of onPath) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  throw new Error('startRedisServer: no redis-server binary found at /usr/bin/redis-server or on PATH. ' +
    'Install it (Debian/Ubuntu: `apt-get install redis-server`) or pass the "binary" option')
}

/** A port that was free a moment ago: listen on port 0, read the port, close. */
function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => port > 0 ? resolve(port) : reject(new Error('startRedisServer: no free port found')))
    })
  })
}

/** True when the server on `port` answers `PING` with `+PONG` within `timeout` ms. */
function pingOnce (port: number, timeout: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeout)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'))
    })
    socket.once('error', () => finish(false))
    socket.once('close', () => finish(false))
  })
}
