/**
 * Runs an example's `server.js` as `npm start` does, in a child process with a minimal environment,
 * and talks to it over a real socket.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** The tap test object, reduced to what these helpers use. */
interface Teardown {
  teardown (fn: () => unknown): void
}

const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 10_000

/** A port that was free on `host` a moment ago (the OS picked it). */
export async function freePort (host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface RunningServer {
  readonly child: ChildProcess
  readonly host: string
  readonly port: number
  /** Everything the process wrote so far (pino JSON lines on stdout, warnings on stderr). */
  readonly output: () => string
  /** Sends SIGTERM and resolves with how the process ended. */
  stop (): Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Attempts at a free port: another test file running at the same time may take the one we picked. */
const PORT_ATTEMPTS = 5

/**
 * Starts `node server.js` in `dir` with PORT, HOST, LOG_LEVEL=info, DRAIN_DELAY=0 and `env` (nothing else from this
 * process: NODE_ENV and NEX_SECRET are unset unless `env` sets them) and resolves once it logs that it
 * listens. A process still running at the end of the test is killed. A port taken between picking it
 * and listening on it (EADDRINUSE) is retried with another one.
 */
export async function startServer (t: Teardown, dir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(t, dir, env)
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !/EADDRINUSE/.test((error as Error).message)) throw error
    }
  }
}

async function startOnFreePort (t: Teardown, dir: string, env: Record<string, string>): Promise<RunningServer> {
  const host = env.HOST ?? '127.0.0.1'
  const port = await freePort(host)
  const child = spawn(process.execPath, [join(dir, 'server.js')], {
    cwd: dir,
    // DRAIN_DELAY 0: no load balancer watches these processes, so a production drain would only wait.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', DRAIN_DELAY: '0', ...env, HOST: host, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`server.js did not report listening within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS)
    const onData = (): void => {
      if (/"msg":"Server listening at http:\/\/[^"]+"/.test(output)) done()
    }
    const onExit = (code: number | null): void => fail(new Error(`server.js exited (${code}) before listening:\n${output}`))
    function done (): void {
      cleanup()
      resolve()
    }
    function fail (error: Error): void {
      cleanup()
      reject(error)
    }
    function cleanup (): void {
      clearTimeout(timer)
      child.stdout.off('data', onData)
      child.off('exit', onExit)
    }
    child.stdout.on('data', onData)
    child.once('exit', onExit)
  })

  return {
    child,
    host,
    port,
    output: () => output,
    async stop () {
      child.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`server.js did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${output}`)), STOP_TIMEOUT_MS)
      })
      try {
        return await Promise.race([exited, timeout])
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

export interface HttpResult {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** One HTTP/1.1 request over a real socket (no keep-alive, so the server can close promptly). */
export async function httpRequest (host: string, port: number, path: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<HttpResult> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers }, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer to ${path} within 5 s`)))
    req.on('error', reject)
    req.end(options.body)
  })
}
