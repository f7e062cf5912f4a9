/**
 * SEC-09 (RELIABILITY §6, §4.8): static files, traversal and dotfiles, with raw request lines (bytes as
 * written: no client normalises `..` or decodes `%2e`, like `curl --path-as-is`) against the counter
 * example built with the `nex` preset in production, serving a copy of its `public/` with files planted
 * where an attacker would look: `public/.env`, `public/.git/config`, `public/.git/HEAD`,
 * `public/sub/.hidden`, and `secret.txt` next to (outside) `public/`. Each holds a unique marker.
 *
 * The copy lives in a temporary folder below this fixture folder (removed at the end), with `src` linked
 * to the example's: route modules resolve their packages from the repository. examples/ is not written.
 *
 * Every traversal (`/../`, `%2e%2e`, `..%2f`, `%5c`, `\`, `%00`, double encoding, `/static/` prefixed as
 * the row writes them) → 400 (the preset's host guard refuses dot-segments before any route), 403 or 404;
 * `/.env`, `/.git/config`, `/.git/HEAD` and `/sub/.hidden` → exactly 404; no marker in any answer; the
 * real files (`/styles.css`, `/favicon.ico`) still 200. packages/nex/test/static-files.test.ts proves
 * nexStatic alone; this is the preset and an example's real folder.
 */
import t from 'tap'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { createApp } from 'nex'
import { exchange } from './helpers/raw-http.ts'
import { PRODUCTION } from './fixtures/sec-obs/apps.ts'

const COUNTER = fileURLToPath(new URL('../../examples/counter/', import.meta.url))
const HERE = fileURLToPath(new URL('./fixtures/sec-obs/', import.meta.url))
const PLANTED: Record<string, string> = {
  'public/.env': 'MARKER-DOTENV-4f1c',
  'public/.git/config': 'MARKER-GITCONFIG-9a2e',
  'public/.git/HEAD': 'MARKER-GITHEAD-77b0',
  'public/sub/.hidden': 'MARKER-HIDDEN-31d5',
  'public/sub/visible.txt': 'visible file',
  'secret.txt': 'MARKER-OUTSIDE-c0de'
}
const MARKER = /MARKER-/

const DOTFILES = ['/.env', '/.git/config', '/.git/HEAD', '/sub/.hidden', '/.git/', '/.env.local']
const TRAVERSALS = [
  '/../secret.txt', '/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt',
  '/..%2fsecret.txt', '/..%2Fsecret.txt', '/%2e%2e%2fsecret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/..%5Csecret.txt',
  '/..\\secret.txt', '/sub\\..\\..\\secret.txt', '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt', '/..;/secret.txt',
  '/styles.css/../../secret.txt', '/favicon.ico/..%2f..%2fsecret.txt', '/sub/../../secret.txt', '/./secret.txt',
  '/styles.css%00', '/styles.css%00.js', '/%00', '/.env%00', '/.env%00.css', '/%2eenv', '/%2Eenv', '/.%65nv', '/.%67it/config', '/%2egit/config',
  '/./.env', '/sub/../.env', '//.env', '/.env/', '/.git%2fconfig', '/sub%2f.hidden',
  '/static/../secret.txt', '/static/%2e%2e/secret.txt', '/static/..%2fsecret.txt', '/static/%5c..%5csecret.txt', '/static/.env', '/static/.git/config'
]

t.test('traversal and dotfiles over raw sockets: 400/403/404, dotfiles 404, never the content', async (t) => {
  const dir = mkdtempSync(join(HERE, 'tmp-sec-09-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(COUNTER, 'public'), join(dir, 'public'), { recursive: true })
  symlinkSync(join(COUNTER, 'src'), join(dir, 'src'))
  for (const [file, content] of Object.entries(PLANTED)) {
    mkdirSync(join(dir, file, '..'), { recursive: true })
    writeFileSync(join(dir, file), content)
  }
  const app = await createApp({ dir, env: PRODUCTION, secret: PRODUCTION.NEX_SECRET, server: { logger: false }, security: { rateLimit: false } })
  t.teardown(async () => await app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  const get = async (target: string): Promise<{ status: number, body: string }> => {
    const { responses } = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, { timeout: 3_000 })
    const response = responses[0]
    return { status: response?.status ?? 0, body: response?.body.toString('latin1') ?? '' }
  }

  for (const path of ['/styles.css', '/favicon.ico', '/sub/visible.txt']) {
    t.equal((await get(path)).status, 200, `${path}: 200 (a real file)`)
  }
  const statuses: Record<number, string[]> = {}
  for (const target of DOTFILES) {
    const { status, body } = await get(target)
    t.equal(status, 404, `${target}: 404`)
    t.notMatch(body, MARKER, `${target}: not served`)
  }
  for (const target of TRAVERSALS) {
    const { status, body } = await get(target)
    ;(statuses[status] ??= []).push(target)
    t.ok([400, 403, 404].includes(status), `${target}: ${status}`)
    t.notMatch(body, MARKER, `${target}: nothing planted in the answer`)
  }
  t.comment(`traversal answers: ${JSON.stringify(statuses)}`)
  t.equal((await get('/styles.css')).status, 200, 'the server still serves files afterwards')
})
