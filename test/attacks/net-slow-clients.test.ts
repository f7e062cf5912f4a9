// RELIABILITY §6 NET-01 (slowloris), NET-02 (slow body, R-U-Dead-Yet) and NET-03 (slow read) with the
// real slowhttptest against the fixture app in its own process (test profile: H = 2 s, I = 0.5 s,
// R = 3 s, C = 3 s). Closes are taken from the server side (RELIABILITY §7); slowhttptest supplies its
// probe column and exit status. The raw-socket versions of each row (one socket per state, the 503
// before the 408, the 16 MiB slow read) are in packages/nex/test/server-attacks.test.ts.
//
// Scaled for CI (2 cores, two test files at once), each row keeping its meaning:
//   NET-01 -c 500 -r 200 -l 20  ->  -c 200 -r 100 -l 10 (all sockets are closed by ~4.5 s anyway)
//   NET-02 -c 300 -r 150 -l 20  ->  -c 150 -r 150 -l 8  (closed by ~3.5 s)
//   NET-03 -c 200 -r 100 -l 20  ->  -c 100 -r 100 -l 10 (still longer than the 2·C bound; /big is 4 MiB)
import t from 'tap'
import { PROFILE } from './fixtures/par-net/app.js'
import { startServerChild, type ChildStats, type ServerChild } from './helpers/server-child.ts'
import { slowhttptest, slowhttptestMissing } from './helpers/slowhttptest.ts'
import { startProbe } from './helpers/load.ts'
import { deadline, until } from './helpers/raw-http.ts'

const skip = slowhttptestMissing()
const H = PROFILE.headersTimeout
const I = PROFILE.connectionsCheckingInterval
const R = PROFILE.requestTimeout
const C = PROFILE.connectionTimeout
const MB = 1024 * 1024

const lifetime = (connection: ChildStats['connections'][number]): number =>
  connection.closedAt === null ? Number.POSITIVE_INFINITY : connection.closedAt - connection.openedAt

/** Waits until the server holds `count` connections (server.getConnections()), for at most `limit` ms. */
async function settle (child: ServerChild, count: number, limit: number): Promise<ChildStats> {
  return await until(async () => {
    const stats = await child.stats()
    return stats.serverConnections === count ? stats : undefined
  }, limit) ?? await child.stats()
}

t.test('NET-01 slowloris (slowhttptest -H): 408 + close within H + I, probe answered throughout, connections back to baseline', { skip }, async (t) => {
  const child = await startServerChild(t)
  const baseline = (await child.stats()).serverConnections
  const probe = startProbe(child.port, '/', 200)
  const run = await slowhttptest(['-H', '-c', '200', '-r', '100', '-i', '1', '-x', '24', '-l', '10', '-p', '2', '-u', `http://127.0.0.1:${child.port}/`])
  const samples = await probe.stop()
  const stats = await settle(child, baseline, 2_000)

  // Slowloris sockets never complete a request; the probes (slowhttptest's and ours) always do.
  const loris = stats.connections.filter((connection) => connection.requests.length === 0)
  const lifetimes = loris.map(lifetime)
  t.comment(`${loris.length} slowloris sockets, closed after ${Math.round(Math.min(...lifetimes))}–${Math.round(Math.max(...lifetimes))} ms; slowhttptest: ${run.exitStatus} in ${Math.round(run.ms)} ms`)
  t.equal(loris.length, 200, 'the server saw all 200 slowloris connections')
  t.ok(lifetimes.every((ms) => ms >= H * 0.95), 'none closed before headersTimeout')
  t.ok(lifetimes.every((ms) => ms <= deadline(H, I)), `every one closed by the server within ${deadline(H, I)} ms (H·1.2 + I)`)
  t.equal(stats.clientErrors.ERR_HTTP_REQUEST_TIMEOUT, 200, 'each was answered 408 Request Timeout before the close')
  t.equal(run.exitStatus, 'No open connections left', 'slowhttptest saw every connection closed')
  t.ok(run.rows.length > 0 && run.rows.every((row) => row.available), 'slowhttptest: "service available: YES" every second')
  t.ok(samples.length >= 10 && samples.every((sample) => sample.status === 200), `our probe: ${samples.length} requests, all 200`)
  t.equal(stats.serverConnections, baseline, `server.getConnections() back to the baseline (${baseline})`)
})

t.test('NET-02 slow body (slowhttptest -B, requestTimeout path): 408 + close within R + I, all closed', { skip }, async (t) => {
  // handlerTimeout above requestTimeout for this run, so that requestTimeout (Node's 408) is what ends
  // the requests, as in the catalogue. The profile's 1 s handlerTimeout answers first: next test.
  const child = await startServerChild(t, { app: { handlerTimeout: 5_000 } })
  const baseline = (await child.stats()).serverConnections
  const run = await slowhttptest(['-B', '-f', 'application/x-www-form-urlencoded', '-c', '150', '-r', '150', '-i', '1', '-s', '8192', '-l', '8', '-p', '2', '-u', `http://127.0.0.1:${child.port}/form`])
  const stats = await settle(child, baseline, 2_000)

  const slow = stats.connections.filter((connection) => connection.requests.includes('POST /form'))
  const lifetimes = slow.map(lifetime)
  t.comment(`${slow.length} slow-body sockets, closed after ${Math.round(Math.min(...lifetimes))}–${Math.round(Math.max(...lifetimes))} ms; slowhttptest: ${run.exitStatus}`)
  t.equal(slow.length, 150, 'the server saw all 150 slow bodies')
  t.ok(lifetimes.every((ms) => ms >= R * 0.95), 'none closed before requestTimeout')
  t.ok(lifetimes.every((ms) => ms <= deadline(R, I)), `every one closed by the server within ${deadline(R, I)} ms (R·1.2 + I)`)
  t.equal(stats.clientErrors.ERR_HTTP_REQUEST_TIMEOUT, 150, 'each was answered 408 Request Timeout')
  t.ok(slow.every((connection) => connection.statuses.length === 0), 'the handler never answered a partial body')
  t.equal(stats.app.handled, 0, 'no handler ran (slowhttptest\'s probe GET /form is a 404)')
  t.equal(run.exitStatus, 'No open connections left', 'slowhttptest saw every connection closed')
  t.ok(run.rows.every((row) => row.available), 'service available every second')
  t.equal(stats.serverConnections, baseline, 'connections back to the baseline')
})

t.test('NET-02 slow body with the test profile: handlerTimeout answers 503 at 1 s, all closed within R + I', { skip }, async (t) => {
  const child = await startServerChild(t)
  const baseline = (await child.stats()).serverConnections
  const run = await slowhttptest(['-B', '-f', 'application/x-www-form-urlencoded', '-c', '150', '-r', '150', '-i', '1', '-s', '8192', '-l', '8', '-p', '2', '-u', `http://127.0.0.1:${child.port}/form`])
  const stats = await settle(child, baseline, 2_000)

  const slow = stats.connections.filter((connection) => connection.requests.includes('POST /form'))
  const lifetimes = slow.map(lifetime)
  t.comment(`closed after ${Math.round(Math.min(...lifetimes))}–${Math.round(Math.max(...lifetimes))} ms; ${slow.filter((connection) => connection.clientEnded).length} by a client FIN`)
  t.equal(slow.length, 150, 'the server saw all 150 slow bodies')
  t.ok(slow.every((connection) => connection.statuses.join() === '503'), 'each got one answer: 503 (FST_ERR_HANDLER_TIMEOUT)')
  t.ok(lifetimes.every((ms) => ms <= deadline(R, I)), `every one closed within ${deadline(R, I)} ms`)
  t.equal(stats.app.handled, 0, 'no handler ran')
  t.equal(run.exitStatus, 'No open connections left', 'slowhttptest saw every connection closed')
  t.equal(stats.serverConnections, baseline, 'connections back to the baseline')
})

t.test('NET-03 slow read (slowhttptest -X on /big): sockets destroyed server-side within 2·C, RSS back within +10 MB', { skip }, async (t) => {
  const child = await startServerChild(t, { exposeGc: true })
  const before = await child.statsAfterGc()
  const run = await slowhttptest(['-X', '-c', '100', '-r', '100', '-w', '1', '-y', '16', '-n', '5', '-z', '8', '-k', '3', '-l', '10', '-p', '2', '-u', `http://127.0.0.1:${child.port}/big`])
  // slowhttptest still counts its sockets as connected at the end (it never reads far enough to see the
  // close), which is why the close is taken from the server.
  const stats = await settle(child, before.serverConnections, 2_000)
  const after = await child.statsAfterGc()

  const big = stats.connections.filter((connection) => connection.requests.includes('GET /big'))
  const stuck = big.filter((connection) => lifetime(connection) >= C * 0.95)
  const lifetimes = big.map(lifetime)
  t.comment(`${big.length} /big connections (${stuck.length} stuck readers), longest lived ${Math.round(Math.max(...lifetimes))} ms; ` +
    `RSS ${Math.round(before.rss / MB)} MB before, ${Math.round(after.rss / MB)} MB after; slowhttptest: ${run.exitStatus}`)
  t.ok(stuck.length >= 100, `all 100 slow readers were held until connectionTimeout (${stuck.length})`)
  t.ok(lifetimes.every((ms) => ms <= 2 * C * 1.2), `every one destroyed by the server within 2·C·1.2 = ${2 * C * 1.2} ms`)
  t.equal(stats.serverConnections, before.serverConnections, 'connections back to the baseline')
  t.ok(after.rss <= before.rss + 10 * MB, `RSS within +10 MB of the baseline (${((after.rss - before.rss) / MB).toFixed(1)} MB)`)
  t.ok(run.rows.every((row) => row.available), 'service available every second')
})
