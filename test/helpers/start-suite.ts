/**
 * The `npm start` checks every example shares: `node server.js` serves the app on HOST:PORT in
 * development and in production (with NEX_SECRET, and without it through the generated .nex-secret),
 * and exits 0 on SIGTERM.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort, httpRequest, startServer } from './server-process.ts'

export interface StartSuiteOptions {
  /** The example's folder (holding package.json, server.js, app.js). */
  dir: string
  /** Markup the home page must contain. */
  marker: string
}

const SECRET = 'a-production-secret-of-at-least-32-characters'
const PAGE_ID = /data-nex-page-id="([^"]+)"/

async function canListenOn (host: string): Promise<boolean> {
  try {
    await freePort(host)
    return true
  } catch {
    return false
  }
}

export function startSuite (t: Test, { dir, marker }: StartSuiteOptions): void {
  const secretFile = join(dir, '.nex-secret')

  t.test('npm start runs node server.js', async t => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
    t.equal(pkg.scripts?.start, 'node server.js')
  })

  t.test('development: serves on HOST:PORT, exits 0 on SIGTERM', async t => {
    const hadSecretFile = existsSync(secretFile)
    // Another loopback address proves HOST is used: the server must not answer on 127.0.0.1.
    const host = await canListenOn('127.0.0.2') ? '127.0.0.2' : '127.0.0.1'
    const server = await startServer(t, dir, { HOST: host })
    const home = await httpRequest(server.host, server.port, '/')
    t.equal(home.status, 200, `GET / on ${host}`)
    t.match(home.body, marker)
    t.match(server.output(), /no secret configured/, 'the missing secret is a warning in development')
    if (host === '127.0.0.1') {
      t.pass('nothing listens on 127.0.0.1', { skip: '127.0.0.2 is not usable here, so HOST cannot be told apart' })
    } else {
      await t.rejects(httpRequest('127.0.0.1', server.port, '/'), { code: 'ECONNREFUSED' }, 'nothing listens on 127.0.0.1')
    }
    t.same(await server.stop(), { code: 0, signal: null }, 'SIGTERM: exit code 0')
    t.equal(existsSync(secretFile), hadSecretFile, 'development writes no .nex-secret')
  })

  t.test('production with NEX_SECRET', async t => {
    const hadSecretFile = existsSync(secretFile)
    const server = await startServer(t, dir, { NODE_ENV: 'production', NEX_SECRET: SECRET })
    const home = await httpRequest(server.host, server.port, '/')
    t.equal(home.status, 200)
    t.match(home.body, marker)
    t.notMatch(server.output(), /no secret configured/, 'no warning')
    const missing = await httpRequest(server.host, server.port, '/no/such/page')
    t.equal(missing.status, 404, 'an unknown URL is 404')
    t.notMatch(missing.body, /<pre>|at [\w.]+ \(/, 'without a stack trace')
    t.same(await server.stop(), { code: 0, signal: null }, 'SIGTERM: exit code 0')
    t.equal(existsSync(secretFile), hadSecretFile, 'NEX_SECRET is used, no .nex-secret is written')
  })

  t.test('production without NEX_SECRET keeps a generated secret in .nex-secret', async t => {
    const hadSecretFile = existsSync(secretFile)
    if (!hadSecretFile) t.teardown(() => rmSync(secretFile, { force: true }))

    const first = await startServer(t, dir, { NODE_ENV: 'production' })
    const home = await httpRequest(first.host, first.port, '/')
    t.equal(home.status, 200)
    t.match(home.body, marker)
    t.same(await first.stop(), { code: 0, signal: null }, 'SIGTERM: exit code 0')
    t.ok(existsSync(secretFile), '.nex-secret exists')
    if (!hadSecretFile) t.equal(statSync(secretFile).mode & 0o777, 0o600, 'readable by its owner only')

    // A page rendered by the first process is still valid after a restart: same secret.
    const pageId = PAGE_ID.exec(home.body)?.[1]
    if (pageId === undefined) throw new Error('no page id on the home page')
    const second = await startServer(t, dir, { NODE_ENV: 'production' })
    const fragment = await httpRequest(second.host, second.port, '/', {
      headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId }
    })
    t.equal(fragment.status, 200, 'a page id from before the restart is accepted')
    t.same(await second.stop(), { code: 0, signal: null })
  })
}
