// Every published package is importable from plain Node (no TypeScript loader) once `npm install` ran at
// the root, and its types resolve: existing Fastify apps are plain Node.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))

interface Manifest {
  name: string
  private?: boolean
  types?: string
  exports?: Record<string, { types?: string, default?: string } | string>
  peerDependencies?: Record<string, string>
}

const workspaces = ['packages', 'plugins'].flatMap(group =>
  readdirSync(join(root, group)).map(name => join(root, group, name)).filter(dir => existsSync(join(dir, 'package.json'))))

for (const dir of workspaces) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
  if (manifest.private === true) continue
  t.test(manifest.name, async t => {
    const main = manifest.exports?.['.']
    t.ok(typeof main === 'object' && main.types !== undefined && main.default !== undefined, 'exports "." has types and default')
    if (typeof main !== 'object') return
    t.ok(existsSync(join(dir, main.types as string)), `${main.types} exists`)
    t.ok(existsSync(join(dir, main.default as string)), `${main.default} exists`)
    if (dir.includes('/plugins/')) t.equal(manifest.peerDependencies?.fastify?.startsWith('^5'), true, 'peer dependency on fastify 5')
    const script = `const m = await import(${JSON.stringify(manifest.name)}); console.log(JSON.stringify(Object.keys(m).sort()))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8'
    })
    const names = JSON.parse(out) as string[]
    t.ok(names.length > 0, `plain Node imports ${manifest.name}: ${names.join(', ')}`)
    if (dir.includes('/plugins/')) t.ok(names.includes('default'), 'a plugin has a default export')
  })
}
