/**
 * Runs the real `slowhttptest` (Debian package) and reads its per-second CSV report. Its own view of the
 * connections is the client's: a paused reader never sees the server's close (RELIABILITY §7), so the tests
 * take closes from the server side and use this for the probe column and the exit status.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const SLOWHTTPTEST = process.env.SLOWHTTPTEST ?? 'slowhttptest'

/** Why the slowhttptest rows must be skipped here, or false when the tool runs. */
export function slowhttptestMissing (): string | false {
  const probe = spawnSync(SLOWHTTPTEST, ['-h'], { stdio: 'ignore' })
  return probe.error === undefined ? false : `${SLOWHTTPTEST} is not installed (apt-get install slowhttptest)`
}

export interface SlowhttptestRow {
  seconds: number
  closed: number
  pending: number
  connected: number
  /** slowhttptest's probe got an answer within `-p` seconds in this second. */
  available: boolean
}

export interface SlowhttptestRun {
  /** The "Exit status" line, e.g. "No open connections left" or "Hit test time limit". */
  exitStatus: string
  rows: SlowhttptestRow[]
  code: number | null
  /** ms the run took. */
  ms: number
  output: string
}

/**
 * `slowhttptest <args> -g -o <tmp>`; killed after `-l` + 20 s if it hangs. `fdLimit` raises its own
 * `ulimit -n` (it needs one descriptor per connection) when the hard limit allows.
 */
export async function slowhttptest (args: string[], { fdLimit = 4_096 }: { fdLimit?: number } = {}): Promise<SlowhttptestRun> {
  const dir = mkdtempSync(join(tmpdir(), 'nex-slowhttptest-'))
  const length = Number(args[args.indexOf('-l') + 1] ?? 240)
  const started = performance.now()
  try {
    const script = `ulimit -n ${fdLimit} 2>/dev/null; exec "$0" "$@"`
    const child = spawn('bash', ['-c', script, SLOWHTTPTEST, ...args, '-g', '-o', join(dir, 'run')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    const killer = setTimeout(() => child.kill('SIGKILL'), (length + 20) * 1_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)))
    clearTimeout(killer)
    const plain = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '') // eslint-disable-line no-control-regex
    let csv = ''
    try {
      csv = readFileSync(join(dir, 'run.csv'), 'utf8')
    } catch {}
    const rows = csv.trim().split('\n').slice(1).filter((line) => line !== '').map((line) => {
      const [seconds, closed, pending, connected, available] = line.split(',').map(Number)
      return { seconds: seconds ?? 0, closed: closed ?? 0, pending: pending ?? 0, connected: connected ?? 0, available: (available ?? 0) > 0 }
    })
    return { exitStatus: /Exit status:\s*(.+)/.exec(plain)?.[1]?.trim() ?? '', rows, code, ms: performance.now() - started, output: plain }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
