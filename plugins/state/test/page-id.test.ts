import t from 'tap'
import fc from 'fast-check'
import { createPageIdSigner, PAGE_ID_LENGTH } from '../src/lib/page-id.js'

const SECRET = 'a'.repeat(32)
const OTHER = 'b'.repeat(32)
const signer = createPageIdSigner([SECRET])

t.test('issued ids have ≥128 random bits, a tag, and verify', async (t) => {
  const id = signer.issue()
  t.equal(id.length, PAGE_ID_LENGTH)
  t.match(id, /^[\w-]{22}\.[\w-]{22}$/)
  t.equal(Buffer.from(id.slice(0, 22), 'base64url').length, 16)
  t.ok(signer.verify(id))
  const ids = new Set(Array.from({ length: 1000 }, () => signer.issue()))
  t.equal(ids.size, 1000, 'no repeats')
})

t.test('tampered, truncated and garbage ids are refused', async (t) => {
  const id = signer.issue()
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  for (let i = 0; i < id.length; i++) {
    if (i !== 22) t.notOk(signer.verify(flip(id, i)), `character ${i} changed`)
  }
  t.notOk(signer.verify(id.slice(0, -1)), 'truncated')
  t.notOk(signer.verify(`${id}A`), 'extended')
  t.notOk(signer.verify(id.replace('.', '_')), 'no separator')
  t.notOk(signer.verify(`${id.slice(0, 22)}.${id.slice(0, 22)}`), 'nonce as tag')
  for (const garbage of ['', '.', 'x'.repeat(45), `${'A'.repeat(22)}.${'A'.repeat(22)}`, `${id.slice(0, 22)}.${'+'.repeat(22)}`, ' '.repeat(45)]) {
    t.notOk(signer.verify(garbage), JSON.stringify(garbage))
  }
  for (const notString of [undefined, null, 42, {}, [id], Buffer.from(id)]) {
    t.notOk(signer.verify(notString), `non-string ${typeof notString}`)
  }
})

t.test('non-canonical base64url variants of an issued id are refused', async (t) => {
  // 16 bytes use only 2 bits of the 22nd character; other values decode to the same bytes.
  const id = signer.issue()
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (const at of [21, 44]) {
    const variants = [...alphabet]
      .map((c) => id.slice(0, at) + c + id.slice(at + 1))
      .filter((v) => v !== id && Buffer.from(v.slice(at - 21, at + 1), 'base64url').equals(Buffer.from(id.slice(at - 21, at + 1), 'base64url')))
    t.ok(variants.length > 0, 'variants exist')
    t.ok(variants.every((v) => !signer.verify(v)), `no variant at ${at} verifies`)
  }
})

t.test('ids signed with another secret are refused', async (t) => {
  const foreign = createPageIdSigner([OTHER]).issue()
  t.notOk(signer.verify(foreign))
})

t.test('rotation: the first secret signs, every secret verifies', async (t) => {
  const oldSigner = createPageIdSigner([OTHER])
  const rotated = createPageIdSigner([SECRET, OTHER])
  const oldId = oldSigner.issue()
  const newId = rotated.issue()
  t.ok(rotated.verify(oldId), 'old ids still verify')
  t.ok(rotated.verify(newId))
  t.ok(signer.verify(newId), 'new ids are signed with the first secret')
  t.notOk(oldSigner.verify(newId))
  t.notOk(createPageIdSigner([SECRET]).verify(oldId), 'dropping the old secret retires its ids')
})

t.test('property: random strings never verify', async (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => !signer.verify(s)), { numRuns: 5000 })
  const part = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 22, maxLength: 22 })
  fc.assert(fc.property(part, part, (nonce, tag) => !signer.verify(`${nonce}.${tag}`)), { numRuns: 5000 })
  fc.assert(fc.property(fc.constant(null).map(() => signer.issue()), (id) => signer.verify(id)), { numRuns: 500 })
  t.pass('10 500 generated cases')
})
