// The CSRF token scheme (lib/csrf-tokens.ts): a token verifies only for the cookie secret and app secrets it
// was made with; every token is masked afresh (BREACH); tampering, truncation and foreign tokens fail;
// rotation verifies tokens of the previous app secret; the MAC cache is bounded and stays correct when
// entries are evicted.
import t from 'tap'
import fc from 'fast-check'
import { createCsrfTokens, CSRF_TOKEN_LENGTH } from '../src/lib/csrf-tokens.js'

const APP_SECRET = 'a'.repeat(32)
const NEXT_APP_SECRET = 'b'.repeat(32)

t.test('a token verifies for its cookie secret only, and no two tokens are alike', async (t) => {
  const tokens = createCsrfTokens([APP_SECRET])
  const secret = tokens.newSecret()
  const other = tokens.newSecret()
  t.ok(tokens.isSecret(secret))
  t.not(secret, other)
  const minted = Array.from({ length: 200 }, () => tokens.create(secret))
  t.equal(new Set(minted).size, 200, 'a fresh mask per token: a compressed page never repeats one (BREACH)')
  t.ok(minted.every((token) => token.length === CSRF_TOKEN_LENGTH && /^[\w-]+$/.test(token)), 'base64url, fixed length')
  t.ok(minted.every((token) => Buffer.from(token, 'base64url').toString('base64url') === token), 'canonical encoding')
  t.ok(minted.every((token) => tokens.verify(secret, token)), 'every token of the secret verifies')
  t.notOk(tokens.verify(other, minted[0] as string), "another browser's secret")
  t.notOk(createCsrfTokens([NEXT_APP_SECRET]).verify(secret, minted[0] as string), 'another app secret')
})

t.test('tampered, truncated and malformed tokens fail', async (t) => {
  const tokens = createCsrfTokens([APP_SECRET])
  const secret = tokens.newSecret()
  const token = tokens.create(secret)
  for (let i = 0; i < token.length; i++) {
    // Every other character, so the last one's spare (zero) bits are changed too: the encoding is canonical.
    for (const replacement of ['A', 'B', '+', '/']) {
      if (replacement === token[i]) continue
      t.notOk(tokens.verify(secret, token.slice(0, i) + replacement + token.slice(i + 1)), `character ${i} → ${replacement}`)
    }
  }
  for (const bad of ['', token.slice(1), `${token}A`, `${token.slice(0, -1)}=`, '!'.repeat(CSRF_TOKEN_LENGTH), 'A'.repeat(CSRF_TOKEN_LENGTH)]) {
    t.notOk(tokens.verify(secret, bad), JSON.stringify(bad))
  }
})

t.test('cookie values that are not secrets are refused as secrets', async (t) => {
  const tokens = createCsrfTokens([APP_SECRET])
  for (const value of [undefined, null, 42, '', 'short', 'x'.repeat(25), `${'x'.repeat(23)}=`, `${'x'.repeat(23)};`, ['x'.repeat(24)]]) {
    t.notOk(tokens.isSecret(value), JSON.stringify(value))
  }
  t.ok(tokens.isSecret('AZaz09-_'.repeat(3)))
})

t.test('rotation: tokens are signed with the first app secret and verified with each', async (t) => {
  const before = createCsrfTokens([APP_SECRET])
  const after = createCsrfTokens([NEXT_APP_SECRET, APP_SECRET])
  const secret = before.newSecret()
  const old = before.create(secret)
  t.ok(after.verify(secret, old), 'a page rendered before the rotation still posts')
  const fresh = after.create(secret)
  t.ok(after.verify(secret, fresh))
  t.notOk(before.verify(secret, fresh), 'new tokens are signed with the new secret')
  t.throws(() => createCsrfTokens([]), TypeError)
})

t.test('the MAC cache is bounded; evicted secrets still verify', async (t) => {
  const tokens = createCsrfTokens([APP_SECRET], 2)
  const secrets = Array.from({ length: 5 }, () => tokens.newSecret())
  const minted = secrets.map((secret) => tokens.create(secret))
  secrets.forEach((secret, i) => {
    t.ok(tokens.verify(secret, minted[i] as string), `secret ${i}`)
    t.notOk(tokens.verify(secret, minted[(i + 1) % 5] as string), `secret ${i} with the next one's token`)
  })
})

t.test('property: no string but a token of the secret verifies', async (t) => {
  const tokens = createCsrfTokens([APP_SECRET])
  const secret = tokens.newSecret()
  const genuine = new Set(Array.from({ length: 20 }, () => tokens.create(secret)))
  fc.assert(fc.property(
    fc.oneof(fc.string(), fc.string({ minLength: CSRF_TOKEN_LENGTH, maxLength: CSRF_TOKEN_LENGTH }), fc.base64String({ minLength: 40, maxLength: 48 })),
    (candidate) => genuine.has(candidate) || !tokens.verify(secret, candidate)
  ), { numRuns: 3000 })
  t.pass('3000 candidates refused')
})
