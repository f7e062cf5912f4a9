// The cost of one CSRF token: create() for a page and verify() for a post, with the MAC of the browser's
// secret cached (a browser's next views and posts), and with cache misses (an HMAC each). In-process loop, no HTTP (after `npm run build`):
//   node plugins/security/bench/csrf-tokens.js
import { createCsrfTokens } from '../dist/lib/csrf-tokens.js'

const N = 1_000_000
const tokens = createCsrfTokens(['a-benchmark-secret-of-at-least-32-characters'])
const secret = tokens.newSecret()
const token = tokens.create(secret)
const fresh = Array.from({ length: 10_000 }, () => tokens.newSecret())

const ways = {
  'create, cached MAC': () => tokens.create(secret),
  'verify, cached MAC': () => tokens.verify(secret, token),
  // 10 000 secrets in turn through the 4 096-entry cache: every one a miss.
  'create, cache miss': (i) => tokens.create(fresh[i % fresh.length])
}

for (let round = 0; round < 3; round++) {
  for (const [name, run] of Object.entries(ways)) {
    for (let i = 0; i < 100_000; i++) run(i)
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) run(i)
    const ns = Number(process.hrtime.bigint() - start) / N
    if (round === 2) console.log(`${name.padEnd(22)} ${ns.toFixed(0)} ns`)
  }
}
