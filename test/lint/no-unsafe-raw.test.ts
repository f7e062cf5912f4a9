/**
 * SEC-02 (RELIABILITY §6): the raw-helper lint. `nex/no-unsafe-raw` (eslint-rules/nex-html.js) lets `raw()`
 * and `new SafeHtml()` take constant markup only, and reports the ways around it: aliases, `.map(raw)`,
 * namespaces, re-exports, dynamic imports, subclasses and the SafeHtml brand's key. `nex/raw-disable-reason`
 * makes every exception say why. RuleTester runs the cases (under tap instead of mocha); then the ESLint
 * Node API lints a temporary file with the repository's own eslint.config.js, proving the wiring that
 * `npm run lint` uses in CI.
 */
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint, RuleTester, type Linter } from 'eslint'
import { plugins } from 'neostandard'
import nexHtml from '../../eslint-rules/nex-html.js'

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const APP_FILE = join(REPO_ROOT, 'examples', 'chat', 'src', 'pages', 'probe.ts')
const rule = nexHtml.rules['no-unsafe-raw']

// RuleTester calls describe()/it() (mocha's API): collect the cases, then run each as a tap subtest.
const cases: Array<{ title: string, run: () => void }> = []
const groups: string[] = []
RuleTester.describe = (title: string, fn: () => void) => {
  groups.push(title)
  try { fn() } finally { groups.pop() }
}
RuleTester.it = (title: string, run: () => void) => { cases.push({ title: [...groups, title].join(' > '), run }) }
RuleTester.itOnly = RuleTester.it

const ts = new RuleTester({ languageOptions: { parser: plugins['typescript-eslint'].parser as Linter.Parser } })
const js = new RuleTester()

const valid: RuleTester.ValidTestCase[] = [
  { name: 'string literal', code: "import { raw } from '@nex/html'\nraw('<hr>')" },
  { name: 'template literal without interpolation', code: "import { raw } from '@nex/html'\nraw(`<hr>`)" },
  { name: 'conditional of literals', code: "import { raw } from '@nex/html'\nraw(done ? ' checked' : '')" },
  {
    name: 'conditional inside html',
    code: `import { html, raw } from '@nex/html'
html\`<input\${done ? raw(' checked') : ''}>\``
  },
  { name: '&& yields a falsy left side or the literal', code: "import { raw } from '@nex/html'\nraw(done && ' checked')" },
  { name: '|| of literals', code: "import { raw } from '@nex/html'\nraw('a' || `b`)" },
  { name: 'as const', code: "import { raw } from '@nex/html'\nraw('<hr>' as const)" },
  { name: 'new SafeHtml with a literal', code: "import { SafeHtml } from '@nex/html'\nnew SafeHtml('<br>')" },
  { name: 'instanceof check', code: "import { SafeHtml } from '@nex/html'\nexport const ok = (x: unknown) => x instanceof SafeHtml" },
  { name: 'SafeHtml as a type', code: "import { SafeHtml } from '@nex/html'\nexport function f (x: SafeHtml): SafeHtml { return x }" },
  { name: 'type-only imports', code: "import { type SafeHtml } from '@nex/html'\nimport type { raw } from '@nex/html'\nlet x: SafeHtml | undefined\ntype R = typeof raw" },
  { name: 'typeof raw in a type', code: "import { raw } from '@nex/html'\nexport type Raw = typeof raw" },
  {
    name: 'namespace with literals and other helpers',
    code: `import * as h from '@nex/html'
h.raw('<hr>')
h.html\`<p>\${input}</p>\`
h.join([input])
new h.SafeHtml('')`
  },
  { name: "another module's raw", code: "import { raw } from './strings.js'\nraw(userInput)" },
  { name: 'a local function named raw', code: 'function raw (x: string) { return x }\nraw(userInput)' },
  { name: 'a parameter shadowing the import', code: "import { raw } from '@nex/html'\nexport function f (raw: (x: string) => string) { return raw(userInput) }" },
  { name: 'a local variable shadowing the import (chat index)', code: "import { raw } from '@nex/html'\nexport function go (ctx: any) { const raw = ctx.body.room; return String(raw) }" },
  {
    name: 'the implementation in packages/html/src',
    filename: join(REPO_ROOT, 'packages', 'html', 'src', 'index.ts'),
    code: "export class SafeHtml { constructor (readonly value: string) {} }\nexport const raw = (m: string) => new SafeHtml(String(m))\nconst k = Symbol.for('@nex/html.safe')"
  }
]

const invalid: RuleTester.InvalidTestCase[] = [
  { name: 'raw(userInput)', code: "import { raw } from '@nex/html'\nraw(userInput)", errors: [{ messageId: 'unsafeCall', line: 2, column: 1 }] },
  {
    name: 'template with an interpolation',
    code: `import { raw } from '@nex/html'
raw(\`<b>\${name}</b>\`)`,
    errors: [{ messageId: 'unsafeCall' }]
  },
  { name: 'a call', code: "import { raw } from '@nex/html'\nraw(String(x))", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'member of a request', code: "import { raw } from '@nex/html'\nraw(req.query.x)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'aliased import', code: "import { raw as r } from '@nex/html'\nr(userInput)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'new SafeHtml(x)', code: "import { SafeHtml } from '@nex/html'\nnew SafeHtml(x)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'aliased SafeHtml', code: "import { SafeHtml as S } from '@nex/html'\nnew S(x)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'imported from nex', code: "import { raw } from 'nex'\nraw(x)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'namespace member calls', code: "import * as h from '@nex/html'\nh.raw(x)\nnew h.SafeHtml(x)\nh['raw'](x)", errors: [{ messageId: 'unsafeCall', line: 2 }, { messageId: 'unsafeCall', line: 3 }, { messageId: 'unsafeCall', line: 4 }] },
  { name: 'namespace used dynamically', code: "import * as h from '@nex/html'\nh[key](x)\nuse(h)", errors: [{ messageId: 'dynamicNamespace' }, { messageId: 'dynamicNamespace' }] },
  { name: 'a branch that is not a literal', code: "import { raw } from '@nex/html'\nraw(flag ? x : '')", errors: [{ messageId: 'unsafeCall' }] },
  { name: '|| and ?? may yield their left side', code: "import { raw } from '@nex/html'\nraw(x || '<b>')\nraw(x ?? '')", errors: [{ messageId: 'unsafeCall' }, { messageId: 'unsafeCall' }] },
  { name: 'no argument, spread, extra argument', code: "import { raw } from '@nex/html'\nraw()\nraw(...parts)\nraw('a', x)", errors: [{ messageId: 'unsafeCall' }, { messageId: 'unsafeCall' }, { messageId: 'unsafeCall' }] },
  { name: 'a cast of a variable', code: "import { raw } from '@nex/html'\nraw(x as string)", errors: [{ messageId: 'unsafeCall' }] },
  { name: 'raw passed as a callback', code: "import { raw } from '@nex/html'\nmessages.map(raw)", errors: [{ messageId: 'asValue' }] },
  { name: 'raw aliased through a variable', code: "import { raw } from '@nex/html'\nconst r = raw\nr(x)", errors: [{ messageId: 'asValue' }] },
  { name: 'raw cast before the call', code: "import { raw } from '@nex/html'\n;(raw as any)(x)", errors: [{ messageId: 'asValue' }] },
  { name: 'a subclass of SafeHtml', code: "import { SafeHtml } from '@nex/html'\nclass Evil extends SafeHtml {}", errors: [{ messageId: 'asValue' }] },
  { name: 're-export of an import', code: "import { raw } from '@nex/html'\nexport { raw }", errors: [{ messageId: 'reexport' }] },
  { name: 're-export from', code: "export { raw as trusted, html } from '@nex/html'\nexport { SafeHtml } from 'nex'", errors: [{ messageId: 'reexport' }, { messageId: 'reexport' }] },
  { name: 'export *', code: "export * from '@nex/html'", errors: [{ messageId: 'reexport' }] },
  { name: 'dynamic import and require', code: "const { raw } = await import('@nex/html')\nconst m = require('@nex/html')", errors: [{ messageId: 'dynamicImport' }, { messageId: 'dynamicImport' }] },
  { name: 'forged brand', code: "const fake = { [Symbol.for('@nex/html.safe')]: true, value: x }\nconst key = `@nex/html.safe`", errors: [{ messageId: 'brand' }, { messageId: 'brand' }] },
  {
    name: 'relative import into packages/html/src, from its tests',
    filename: join(REPO_ROOT, 'packages', 'html', 'test', 'probe.test.ts'),
    code: "import { raw } from '../src/index.js'\nraw(x)",
    errors: [{ messageId: 'unsafeCall' }]
  }
]

ts.run('nex/no-unsafe-raw (TypeScript)', rule, {
  valid: valid.map(test => ({ filename: APP_FILE, ...test })),
  invalid: invalid.map(test => ({ filename: APP_FILE, ...test }))
})
js.run('nex/no-unsafe-raw (JavaScript)', rule, {
  valid: [{
    name: 'html in a .js file',
    filename: join(REPO_ROOT, 'bench', 'servers', 'probe.js'),
    code: `import { html } from '@nex/html'
html\`<div>\${x}</div>\``
  }],
  invalid: [{
    name: 'raw() of a template with interpolations in a .js file (bench/servers/ref-counter.js before SEC-02)',
    filename: join(REPO_ROOT, 'bench', 'servers', 'probe.js'),
    code: `import { raw } from '@nex/html'
raw(\`<div data-nex-page-id="\${pageId}">\${body}</div>\`)`,
    errors: [{ messageId: 'unsafeCall' }]
  }]
})

t.test('RuleTester cases', async t => {
  t.equal(cases.length, valid.length + invalid.length + 2, 'every case was collected')
  for (const { title, run } of cases) {
    t.test(title, async t => {
      run()
      t.pass()
    })
  }
})

t.test('the repository config reports raw(req.query.x) in a temporary file', async t => {
  // A real file outside the repository (nobody else's `eslint .` sees it), linted with the repository's
  // own eslint.config.js: the same config `npm run lint` loads in CI.
  const dir = await mkdtemp(join(tmpdir(), 'nex-sec02-lint-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const eslint = new ESLint({ cwd: dir, overrideConfigFile: join(REPO_ROOT, 'eslint.config.js') })
  const lint = async (name: string, code: string) => {
    const file = join(dir, name)
    await writeFile(file, code)
    const [result] = await eslint.lintFiles([file])
    if (result === undefined) throw new Error(`no result for ${name}`)
    t.equal(result.messages.filter(m => m.fatal === true).length, 0, `${name} parses`)
    return result.messages.filter(m => m.ruleId?.startsWith('nex/') === true).map(m => `${m.ruleId as string}@${m.line}`)
  }

  const unsafe = "import { raw } from '@nex/html'\n\nexport function page (req: { query: { x: string } }) {\n  return raw(req.query.x)\n}\n"
  t.same(await lint('page.ts', unsafe), ['nex/no-unsafe-raw@4'], 'TypeScript: an error')
  t.same(await lint('server.js', unsafe.replace(': { query: { x: string } }', '')), ['nex/no-unsafe-raw@4'], 'JavaScript: an error')
  const [result] = await eslint.lintText(unsafe, { filePath: join(dir, 'page.ts') })
  t.equal(result?.errorCount, 1, 'severity error, so `npm run lint` fails')

  const justified = "import { raw } from '@nex/html'\n\nexport function page (markup: string) {\n  // eslint-disable-next-line nex/no-unsafe-raw -- markup comes from a constant table\n  return raw(markup)\n}\n"
  t.same(await lint('justified.ts', justified), [], 'a disable directive with a reason silences it')
  t.same(await lint('unexplained.ts', justified.replace(' -- markup comes from a constant table', '')), ['nex/raw-disable-reason@4'],
    'a directive without a reason is an error')
  t.same(await lint('bare.ts', justified.replace('nex/no-unsafe-raw -- markup comes from a constant table', '')), ['nex/raw-disable-reason@4'],
    'a directive for every rule needs a reason too')
  t.same(await lint('file-wide.ts', `/* eslint-disable nex/no-unsafe-raw -- trust me */\n${unsafe}`), ['nex/raw-disable-reason@1'],
    'a file-wide disable is an error')
})
