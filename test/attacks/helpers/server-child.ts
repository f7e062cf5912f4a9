/**
 * The fixture app (`fixtures/par-net/server.js`) in a child process: its own RSS, heap and file
 * descriptors, an optional `ulimit -n`, `--expose-gc`, and a free port picked by the OS (port 0, so two
 * children never race for one). The test asks it over IPC what its server saw.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { AppStats, BuildOptions, ConnectionSnapshot } from '../fixtures/par-net/app.js'

const SERVER = fileURLToPath(new URL('../fixtures/par-net/server.js', import.meta.url))
const START_TIMEOUT = 15_000
const ASK_TIMEOUT = 5_000

/** The tap test object, reduced to what this helper uses. */
interface Teardown { teardown (fn: () => unknown): void }

export interface ChildStats extends ConnectionSnapshot {
  app: AppStats
  /** `server.getConnections()`. */
  serverConnections: number
  rss: number
  heapUsed: number
  /** Own property names of Object.prototype in the child (grows if something polluted it). */
  prototypeNames: number
}

export interface ServerChild {
  port: number
  child: ChildProcess
  /** What the server saw so far. */
  stats: () => Promise<ChildStats>
  /** The same after two full garbage collections (needs `exposeGc`). */
  statsAfterGc: () => Promise<ChildStats>
  /** True while the process runs. */
  alive: () => boolean
  /** stderr and stdout so far. */
  output: () => string
}

export interface ChildOptions {
  /** App options (createServer options plus `downstream`), passed as JSON. */
  app?: BuildOptions
  /** `ulimit -n` for the child (through bash). */
  fdLimit?: number
  /** Start node with --expose-gc. */
  exposeGc?: boolean
}

export async function startServerChild (t: Teardown, options: ChildOptions = {}): Promise<ServerChild> {
  const nodeArgs = [...(options.exposeGc === true ? ['--expose-gc'] : []), SERVER]
  const env = { PATH: process.env.PATH ?? '', NEX_FIXTURE: JSON.stringify(options.app ?? {}) }
  const stdio: Array<'ignore' | 'pipe' | 'ipc'> = ['ignore', 'pipe', 'pipe', 'ipc']
  const child = options.fdLimit === undefined
    ? spawn(process.execPath, nodeArgs, { env, stdio })
    : spawn('bash', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, process.execPath, ...nodeArgs], { env, stdio })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fixture server did not listen within ${START_TIMEOUT} ms:\n${output}`)), START_TIMEOUT)
    child.on('message', (message: { type?: string, port?: number }) => {
      if (message.type !== 'listening') return
      clearTimeout(timer)
      resolve(message.port ?? 0)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the fixture server exited (${code ?? signal}) before listening:\n${output}`))
    })
  })

  let nextId = 0
  const ask = async (cmd: 'stats' | 'gc'): Promise<ChildStats> => {
    const id = ++nextId
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`the fixture server did not answer "${cmd}" within ${ASK_TIMEOUT} ms`)) }, ASK_TIMEOUT)
      const onMessage = (message: { id?: number, stats?: ChildStats }): void => {
        if (message.id !== id || message.stats === undefined) return
        cleanup()
        resolve(message.stats)
      }
      const onExit = (): void => { cleanup(); reject(new Error(`the fixture server exited:\n${output}`)) }
      function cleanup (): void {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.send({ id, cmd })
    })
  }

  return {
    port,
    child,
    stats: async () => await ask('stats'),
    statsAfterGc: async () => await ask('gc'),
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => output
  }
}
