// The pure helpers: flash lists, reserved keys, the sealed cookie's size and keys.
import t from 'tap'
import Fastify from 'fastify'
import { appendFlash, asFlashes, checkFlash, checkUserKey, FLASH_KEY, hasFlashes, isReservedKey } from '../src/lib/flash.js'
import { deriveCookieKeys, fromCookieValue, sealedCookieBytes, TIMESTAMP_BYTES, toCookieValue } from '../src/lib/sealed-cookie.js'
import nexSession from '../src/index.js'
import { SECRET } from './helpers.js'

t.test('appendFlash appends in order, per type, without changing its argument', async (t) => {
  const empty = {}
  const one = appendFlash(empty, 'info', 'a')
  t.same(empty, {}, 'argument unchanged')
  const two = appendFlash(one, 'info', 'b')
  t.same(one, { info: ['a'] })
  t.same(appendFlash(two, 'error', 'c'), { info: ['a', 'b'], error: ['c'] })
  t.same(appendFlash(two, 'info', 'a'), { info: ['a', 'b'] }, 'a message already waiting is not added twice')
  t.same(appendFlash(JSON.parse('{"__proto__":["x"]}'), 'info', 'a'), { info: ['a'] }, 'a stored "__proto__" key is dropped, never followed')
  t.same(appendFlash('garbage', 'info', 'a'), { info: ['a'] }, 'a malformed stored value counts as none')
})

t.test('asFlashes keeps only lists of strings under valid types', async (t) => {
  t.same(asFlashes({ info: ['a', 1, 'b'], bad: 'x', 'no spaces': ['c'], empty: [] }), { info: ['a', 'b'] })
  t.same(asFlashes(null), {})
  t.same(asFlashes([['a']]), {})
  t.notOk(hasFlashes({}))
  t.ok(hasFlashes({ info: ['a'] }))
})

t.test('checkFlash and reserved keys', async (t) => {
  t.doesNotThrow(() => checkFlash('success', ''))
  t.doesNotThrow(() => checkFlash('form-error_2', 'x'))
  for (const type of ['', '1info', 'a b', 'x'.repeat(33), null, '__proto__']) {
    t.throws(() => checkFlash(type, 'x'), { code: 'FST_NEX_SESSION_INVALID_FLASH' }, String(type))
  }
  t.throws(() => checkFlash('info', { text: 'x' }), { code: 'FST_NEX_SESSION_INVALID_FLASH', message: /message must be a string, got a object/ })
  t.ok(isReservedKey(FLASH_KEY))
  t.ok(isReservedKey('__nex_anything'))
  t.notOk(isReservedKey('_nex'))
  t.notOk(isReservedKey('user'))
  t.throws(() => checkUserKey('__nexus'), { code: 'FST_NEX_SESSION_RESERVED_KEY', message: /"__nexus" is reserved/ })
})

t.test('sealedCookieBytes is exact for what secure-session produces', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(nexSession, { secret: SECRET, backend: 'cookie' })
  await app.ready()
  const sealer = app as unknown as {
    createSecureSession (data: Record<string, unknown>): unknown
    encodeSecureSession (session: unknown, name: string): string
  }
  const mismatches: string[] = []
  for (let length = 0; length < 400; length++) {
    const payload = { id: 'i'.repeat(22), data: { text: 'é'.repeat(length % 7) + 'x'.repeat(length) } }
    const value = toCookieValue(sealer.encodeSecureSession(sealer.createSecureSession({ ...payload }), 'nexSealedSession'))
    const predicted = sealedCookieBytes('nex_session', Buffer.byteLength(JSON.stringify(payload)) + TIMESTAMP_BYTES)
    const actual = Buffer.byteLength(`nex_session=${value}`)
    if (predicted !== actual) mismatches.push(`${length}: predicted ${predicted}, actual ${actual}`)
  }
  t.same(mismatches, [], 'predicted = actual for 400 payload sizes (multi-byte characters included)')
})

t.test('the separator stand-in round-trips and needs no escaping', async (t) => {
  const sealed = 'ab+/cd==;ef+/gh'
  const value = toCookieValue(sealed)
  t.equal(value, 'ab+/cd==.ef+/gh')
  t.match(value, /^[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]+$/, 'only cookie-octets')
  t.equal(fromCookieValue(value), sealed)
})

t.test('deriveCookieKeys: one 32-byte key per secret, stable, never the secret itself', async (t) => {
  const [a, b] = deriveCookieKeys([SECRET, `${SECRET}!`])
  t.equal(a?.length, 32)
  t.not(a?.toString('hex'), b?.toString('hex'), 'different secrets, different keys')
  t.equal(deriveCookieKeys([SECRET])[0]?.toString('hex'), a?.toString('hex'), 'stable')
  t.notOk(Buffer.from(SECRET).subarray(0, 32).equals(a as Buffer))
})
