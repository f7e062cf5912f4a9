// NET-06: the default maxConnections stays under the process's open-files limit, so a connection flood
// meets the cap (dropped at accept) before accept() fails with EMFILE. The rule on its own, the options
// built for given limits, and createServer() in a child process started under `ulimit -n 512` (the
// effective value read back from app.server, as server-options.test.ts does).
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { fdHeadroom, maxConnectionsFor, parseOpenFilesLimit } from '../src/lib/open-files.js'
import { buildServerOptions, readOpenFilesLimit } from '../src/server-options.js'

// The child imports the built files (npm run build), like the other fixtures.
const CREATE_SERVER = fileURLToPath(new URL('../dist/create-server.js', import.meta.url))

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             63432                63432                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`

t.test('parseOpenFilesLimit reads the soft "Max open files" of /proc/<pid>/limits', async (t) => {
  t.equal(parseOpenFilesLimit(LIMITS), 1024, 'the soft value, not the hard one')
  t.equal(parseOpenFilesLimit(LIMITS.replace('1024                 524288', 'unlimited            unlimited')), null, 'unlimited')
  t.equal(parseOpenFilesLimit('Max processes 10 10 processes\n'), null, 'no such line')
  t.equal(parseOpenFilesLimit(''), null)
  t.equal(parseOpenFilesLimit('Max open files            0                 0               files'), null, 'zero is no limit to work with')
  if (process.platform === 'linux') {
    const soft = Number(execFileSync('bash', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim())
    t.equal(readOpenFilesLimit(), Number.isSafeInteger(soft) ? soft : null, `this process: ${String(readOpenFilesLimit())}, as ulimit -Sn says`)
  } else {
    t.equal(readOpenFilesLimit(), null, 'unknown off Linux')
  }
})

t.test('the rule: min(10 000, soft - headroom), headroom 10 % of soft, at least 64, at most half', async (t) => {
  const table: Array<[soft: number | null, headroom: number | null, max: number]> = [
    [null, null, 10_000],
    [64, 32, 32],
    [100, 50, 50],
    [128, 64, 64],
    [256, 64, 192],
    [512, 64, 448],
    [1_024, 103, 921],
    [4_096, 410, 3_686],
    [11_000, 1_100, 9_900],
    [20_000, 2_000, 10_000],
    [1_048_576, 104_858, 10_000],
    [1, 0, 1],
    [2, 1, 1]
  ]
  for (const [soft, headroom, max] of table) {
    if (soft !== null) t.equal(fdHeadroom(soft), headroom, `headroom under ${soft}`)
    t.equal(maxConnectionsFor(soft), max, `maxConnections under ${String(soft)}: ${max}`)
  }
})

t.test('buildServerOptions: the default follows the limit, a given value wins, with a warning when the limit cannot back it', async (t) => {
  t.equal(buildServerOptions({}, () => 512).maxConnections, 448)
  t.equal(buildServerOptions({}, () => null).maxConnections, 10_000, 'unknown limit: 10 000')
  t.same(buildServerOptions({}, () => 512).warnings, [], 'no warning for the default')
  t.same(buildServerOptions({ maxConnections: 448 }, () => 512).warnings, [], 'none at the rule\'s value')
  t.same(buildServerOptions({ maxConnections: 5_000 }, () => null).warnings, [], 'none when the limit is unknown')

  const over = buildServerOptions({ maxConnections: 1_000 }, () => 512)
  t.equal(over.maxConnections, 1_000, 'a given value is used as given (refusing it would break platforms where the limit reads differently)')
  t.equal(over.warnings.length, 1)
  t.match(over.warnings[0], /^nex: maxConnections 1000 leaves fewer than 64 of the process's 512 file descriptors \(ulimit -n\).*Set maxConnections to at most 448 \(or leave it out\), or raise the open-files limit$/)
  t.throws(() => buildServerOptions({ maxConnections: 0 }, () => 512), { code: 'FST_NEX_INVALID_OPTION', message: /"maxConnections" must be a whole number of connections/ })
})

/** Runs createServer(options) in `node` under `ulimit -n <fds>`; its maxConnections and what it logged. */
function childUnder (fds: number, options: object): { maxConnections: number, logged: Array<Record<string, unknown>> } {
  const script = `
    import { createServer } from ${JSON.stringify(CREATE_SERVER)}
    const lines = []
    const app = createServer({ ...${JSON.stringify(options)}, logger: { level: 'warn', stream: { write: (line) => lines.push(JSON.parse(line)) } } })
    await app.ready()
    process.stdout.write(JSON.stringify({ maxConnections: app.server.maxConnections, logged: lines }))
    await app.close()
  `
  const output = execFileSync('bash', ['-c', `ulimit -n ${fds} && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' })
  return JSON.parse(output) as { maxConnections: number, logged: Array<Record<string, unknown>> }
}

t.test('createServer() under ulimit -n 512: maxConnections below 512 minus the headroom', { skip: process.platform === 'linux' ? false : 'reads /proc/self/limits (Linux)' }, async (t) => {
  const { maxConnections, logged } = childUnder(512, {})
  t.equal(maxConnections, 448, 'app.server.maxConnections: 512 - 64')
  t.ok(maxConnections <= 512 - 64, 'leaves at least 64 descriptors for everything else')
  t.same(logged, [], 'no warning')

  const given = childUnder(512, { maxConnections: 1_000 })
  t.equal(given.maxConnections, 1_000, 'a given value wins')
  t.match(given.logged, [{ level: 40, maxConnections: 1_000, msg: /^nex: maxConnections 1000 leaves fewer than 64 of the process's 512 file descriptors/ }], 'and a warning is logged at startup')

  t.equal(childUnder(1_024, {}).maxConnections, 921, 'ulimit -n 1024: 921')
  const current = readOpenFilesLimit()
  if (current !== null) t.equal(childUnder(current, {}).maxConnections, maxConnectionsFor(current), `this machine's limit (${current}): ${maxConnectionsFor(current)}`)
})
