/**
 * Debian's nginx in front of an app, and wrk to load it (RELIABILITY §6 NET-04 (b) and SEC-04). nginx runs
 * in the foreground (`daemon off`) from a temporary prefix holding its config, pid, logs, temp and cache
 * directories, on a free loopback port, and is stopped by the test's teardown. Both tools are required:
 * CI installs them (.ci/run), so a missing one fails the test with the install hint instead of skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

/** Debian installs nginx in /usr/sbin, which is not on every PATH. */
export const NGINX = process.env.NGINX ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx')
export const WRK = process.env.WRK ?? 'wrk'

const START_TIMEOUT = 5_000
const STOP_TIMEOUT = 5_000
const PORT_ATTEMPTS = 5

/** The tap test object, reduced to what this helper uses. */
interface Teardown { teardown (fn: () => unknown): void }

/** Throws the install hint when `command` cannot be run. */
function requireTool (command: string, versionFlag: string, apt: string): void {
  const probe = spawnSync(command, [versionFlag], { stdio: 'ignore' })
  if (probe.error !== undefined) {
    throw new Error(`${command} is required and could not be run (${probe.error.message}): apt-get install ${apt} (CI installs it in .ci/run)`)
  }
}

/** One line of the access log (`log_format nex`). */
export interface AccessEntry {
  /** Epoch ms when the request finished (`$msec`). */
  at: number
  status: number
  /** `$upstream_status`: one status per upstream attempt, e.g. "502, 200" for a retried request; "-" when none. */
  upstreamStatus: string
  method: string
  uri: string
  /** `$upstream_cache_status`: MISS, HIT, …, or "-" without a cache. */
  cacheStatus: string
}

export interface Nginx {
  port: number
  /** `http://127.0.0.1:<port>` */
  url: string
  /** The prefix directory: nginx.conf, logs, temp and cache directories. */
  dir: string
  /** Every access-log line so far, parsed. */
  accessLog: () => AccessEntry[]
  /** The error log so far (level `warn` and up, plus what nginx wrote to stderr). */
  errorLog: () => string
}

const LOG_FORMAT = "log_format nex '$msec\\t$status\\t$upstream_status\\t$request_method\\t$request_uri\\t$upstream_cache_status';"

/**
 * Starts nginx with `http` as the body of its `http {}` block, after the directives every run needs (temp
 * paths, the `nex` access log). `http` gets the port to `listen` on and the prefix directory (for a
 * `proxy_cache_path`). Resolves once nginx accepts connections; stopped (SIGTERM, then SIGKILL of its
 * process group) by the teardown of `t`.
 */
export async function startNginx (t: Teardown, http: (port: number, dir: string) => string): Promise<Nginx> {
  requireTool(NGINX, '-v', 'nginx-light')
  const dir = mkdtempSync(join(tmpdir(), 'nex-nginx-'))
  let nginx: ChildProcess | undefined
  t.teardown(async () => {
    if (nginx !== undefined) await stop(nginx)
    rmSync(dir, { recursive: true, force: true })
  })
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    writeFileSync(join(dir, 'nginx.conf'), config(dir, http(port, dir)))
    for (const stale of ['error.log', 'nginx.pid']) rmSync(join(dir, stale), { force: true })
    let stderr = ''
    // Own process group, so the fallback SIGKILL also reaches the workers.
    const child = spawn(NGINX, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
    nginx = child
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const errorLog = (): string => stderr + readIfPresent(join(dir, 'error.log'))
    const started = await accepting(child, port, dir, errorLog)
    if (started) {
      return {
        port,
        url: `http://127.0.0.1:${port}`,
        dir,
        accessLog: () => readAccessLog(join(dir, 'access.log')),
        errorLog
      }
    }
    await stop(child)
    // Another process may take the port between freePort() and nginx's bind: pick another one.
    if (!/Address already in use/.test(errorLog()) || attempt === PORT_ATTEMPTS) {
      throw new Error(`nginx did not start (exit ${child.exitCode ?? child.signalCode ?? 'none'}):\n${errorLog()}`)
    }
  }
}

function config (dir: string, http: string): string {
  // As root the workers would switch to `nobody`, which cannot enter the private temporary prefix.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : ''
  return `${user}worker_processes 1;
pid ${dir}/nginx.pid;
lock_file ${dir}/nginx.lock;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${LOG_FORMAT}
  access_log ${dir}/access.log nex;
${http}
}
`
}

/** A port of 127.0.0.1 that was free a moment ago (nginx needs the number in its config). */
async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * True once nginx has bound its port (pid file written, which follows the bind) and a connection to it
 * succeeds; false if it exits first or cannot bind (nginx retries a busy port for 2.5 s, while a connect
 * would reach the other listener); throws after START_TIMEOUT.
 */
async function accepting (child: ChildProcess, port: number, dir: string, errorLog: () => string): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || /Address already in use/.test(errorLog())) return false
    if (existsSync(join(dir, 'nginx.pid'))) {
      const connected = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
        socket.once('error', () => resolve(false))
      })
      if (connected) return true
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`nginx did not accept connections on port ${port} within ${START_TIMEOUT} ms:\n${errorLog()}`)
}

/** SIGTERM (fast shutdown: the master stops its workers), SIGKILL to the group if it hangs. */
async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {} // the group is already gone
  }, STOP_TIMEOUT)
  await exited
  clearTimeout(timer)
}

function readIfPresent (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function readAccessLog (path: string): AccessEntry[] {
  return readIfPresent(path).split('\n').filter((line) => line !== '').map((line) => {
    const [at = '', status = '', upstreamStatus = '', method = '', uri = '', cacheStatus = ''] = line.split('\t')
    return { at: Number(at) * 1_000, status: Number(status), upstreamStatus, method, uri, cacheStatus }
  })
}

export interface WrkResult {
  /** "N requests in …": responses wrk read. */
  requests: number
  /** "Non-2xx or 3xx responses: N" (0 when wrk prints no such line). */
  non2xx: number
  /** "Socket errors: connect a, read b, write c, timeout d" (all 0 when wrk prints no such line). */
  socketErrors: { connect: number, read: number, write: number, timeout: number }
  code: number | null
  output: string
}

/**
 * `wrk -t <threads> -c <connections> -d <seconds>s -s <script> <url> -- <args>`, the Lua `script` written
 * to a temporary file; killed if it outlives its duration by 20 s.
 */
export async function wrk ({ url, threads, connections, seconds, script, args = [] }: { url: string, threads: number, connections: number, seconds: number, script: string, args?: string[] }): Promise<WrkResult> {
  requireTool(WRK, '-v', 'wrk')
  const dir = mkdtempSync(join(tmpdir(), 'nex-wrk-'))
  try {
    const scriptPath = join(dir, 'script.lua')
    writeFileSync(scriptPath, script)
    const child = spawn(WRK, ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '-s', scriptPath, url, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)))
    clearTimeout(killer)
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
    return {
      requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
      socketErrors: { connect: Number(errors?.[1] ?? 0), read: Number(errors?.[2] ?? 0), write: Number(errors?.[3] ?? 0), timeout: Number(errors?.[4] ?? 0) },
      code,
      output
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
