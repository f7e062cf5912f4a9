/**
 * Load next to an attack: a probe that keeps asking for a page on fresh connections and times each answer
 * itself, and the real autocannon CLI (bounded by count or duration) with its JSON result.
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'

const AUTOCANNON = fileURLToPath(new URL('../../../node_modules/autocannon/autocannon.js', import.meta.url))

export interface ProbeSample {
  /** ms since the probe started. */
  at: number
  /** ms from the request to the end of the response, or null if it failed. */
  ms: number | null
  status: number | null
  error: string | null
}

export interface Probe {
  /** Stops the probe (after the request in flight) and returns every sample. */
  stop: () => Promise<ProbeSample[]>
  samples: () => ProbeSample[]
}

/** One GET on its own connection, given up after `timeout` ms. */
export async function timedGet (port: number, path: string, timeout = 2_000): Promise<Omit<ProbeSample, 'at'>> {
  const started = performance.now()
  return await new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, error: null }))
      res.on('error', (error) => resolve({ ms: null, status: null, error: error.message }))
    })
    req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)))
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ms: null, status: null, error: error.code ?? error.message }))
  })
}

/** Requests `path` every `every` ms (sequentially) until stopped. */
export function startProbe (port: number, path = '/', every = 100, timeout = 2_000): Probe {
  const samples: ProbeSample[] = []
  const origin = performance.now()
  const state = { running: true }
  const loop = (async () => {
    while (state.running) {
      const at = performance.now() - origin
      samples.push({ at, ...await timedGet(port, path, timeout) })
      const wait = every - (performance.now() - origin - at)
      if (wait > 0 && state.running) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()
  return {
    stop: async () => {
      state.running = false
      await loop
      return samples
    },
    samples: () => samples
  }
}

/** The p-th percentile (0-100) of `values`, nearest-rank. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

export interface AutocannonResult {
  requests: { total: number, average: number }
  latency: { min: number, max: number, p50: number, p99: number, average: number }
  /** Keys are status codes ("503"), values { count }. */
  statusCodeStats?: Record<string, { count: number }>
  non2xx: number
  errors: number
  timeouts: number
  '1xx': number
  '2xx': number
  '3xx': number
  '4xx': number
  '5xx': number
}

/** `autocannon --json <args>` in its own process; killed if it outlives `limit` ms. */
export async function autocannon (args: string[], limit = 60_000, { nice = 0 }: { nice?: number } = {}): Promise<AutocannonResult> {
  const command = [process.execPath, AUTOCANNON, '--json', ...args]
  // `nice`: the load generator shares this machine's cores with the server; a real attacker does not.
  const child = nice === 0
    ? spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('nice', ['-n', String(nice), ...command], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const killer = setTimeout(() => child.kill('SIGKILL'), limit)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(killer)
  try {
    return JSON.parse(stdout) as AutocannonResult
  } catch {
    throw new Error(`autocannon ended with ${code} and no JSON result:\n${stderr}${stdout}`)
  }
}
