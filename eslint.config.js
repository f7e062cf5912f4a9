// Lint: neostandard (the style of Fastify and its plugins), with TypeScript support.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/node_modules/**', '.scratch/**', '**/fixtures/invalid-*/**', '**/fixtures/conflict-*/**']
  })
]
