// Lint: neostandard (the style of Fastify and its plugins), with TypeScript support.
import neostandard from 'neostandard'
import nexHtml from './eslint-rules/nex-html.js'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/node_modules/**', '.scratch/**', '**/fixtures/invalid-*/**', '**/fixtures/conflict-*/**']
  }),
  {
    // SEC-02: raw() and new SafeHtml() only on constant markup; every exception says why
    // (eslint-rules/nex-html.js, proven by test/lint/no-unsafe-raw.test.ts).
    name: 'nex/html',
    files: ['**/*.{js,mjs,cjs,jsx,ts,mts,cts,tsx}'],
    plugins: { nex: nexHtml },
    rules: {
      'nex/no-unsafe-raw': 'error',
      'nex/raw-disable-reason': 'error'
    }
  }
]
