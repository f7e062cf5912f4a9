// The pure helpers: flash lists, reserved keys, the flash cookie, the sealed cookie's size and keys.
import { createHmac, hkdfSync } from 'node:crypto'
import t from 'tap'
import Fastify from 'fastify'
import { appendFlash, asFlashes, checkFlash, checkUserKey, FLASH_KEY, hasFlashes, isReservedKey, mergeFlashes } from '../src/lib/flash.js'
import { createFlashCookieCodec, FLASH_COOKIE_LIMIT, FLASH_COOKIE_MAX_AGE, flashCookieName } from '../src/lib/flash-cookie.js'
import { deriveCookieKeys, fromCookieValue, sealedCookieBytes, TIMESTAMP_BYTES, toCookieValue } from '../src/lib/sealed-cookie.js'
import nexSession from '../src/index.js'
import { OTHER_SECRET, SECRET } from './helpers.js'

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

t.test('mergeFlashes: the first\'s messages, then the second\'s, each once', async (t) => {
  const first = { error: ['a'], info: ['b'] }
  t.same(mergeFlashes(first, { info: ['b', 'c'], success: ['d'] }), { error: ['a'], info: ['b', 'c'], success: ['d'] })
  t.same(first, { error: ['a'], info: ['b'] }, 'arguments unchanged')
  t.same(mergeFlashes({}, {}), {})
})

t.test('the flash cookie codec: signed, expiring, rotating, bounded', async (t) => {
  const now = Date.now()
  const codec = createFlashCookieCodec([SECRET])
  const flashes = { error: ['Please log in.'], info: ['é ✓ "quoted" ;,= \\ and a ] bracket'] }
  const { value, flashes: kept } = codec.encode('f', flashes, { type: 'error', message: 'Please log in.' }, now)
  t.same(kept, flashes, 'all kept when they fit')
  t.match(value, /^[\w-]+\.[\w-]{22}$/, 'base64url payload and a 128-bit tag: only cookie-octets, nothing to escape')
  t.same(codec.decode(value, now), flashes, 'round-trips (unicode, quotes, cookie separators)')
  t.same(codec.decode(value, now + (FLASH_COOKIE_MAX_AGE - 1) * 1000), flashes, 'valid for its lifetime')
  t.equal(codec.decode(value, now + (FLASH_COOKIE_MAX_AGE + 1) * 1000), null, 'expired after it, whatever the browser does')

  t.equal(createFlashCookieCodec([OTHER_SECRET]).decode(value, now), null, 'another secret: refused')
  t.same(createFlashCookieCodec([OTHER_SECRET, SECRET]).decode(value, now), flashes, 'rotation: an older secret still verifies')
  const rotated = createFlashCookieCodec([OTHER_SECRET, SECRET]).encode('f', { a: ['x'] }, { type: 'a', message: 'x' }, now).value
  t.equal(codec.decode(rotated, now), null, 'and the first one signs')

  const [payload = '', tag = ''] = value.split('.')
  const unsigned = Buffer.from(JSON.stringify([Math.floor(now / 1000) + 60, { error: ['forged'] }])).toString('base64url')
  for (const bad of [`${unsigned}.${tag}`, `${payload}.`, payload, `.${tag}`, `${payload}x.${tag}`, '', 'a.b', `${payload}.${tag}.${tag}`]) {
    t.equal(codec.decode(bad, now), null, `refused: ${bad.slice(0, 30)}`)
  }
  // Correctly signed, but not [expiry, flashes]: still nothing (the payload is never trusted blindly).
  const key = Buffer.from(hkdfSync('sha256', SECRET, '', 'nex:session-flash:v1', 32))
  const signed = (json: string): string => {
    const body = Buffer.from(json).toString('base64url')
    return `${body}.${createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url')}`
  }
  const future = Math.floor(now / 1000) + 60
  t.same(codec.decode(signed(JSON.stringify([future, { error: ['made here'] }])), now), { error: ['made here'] }, 'the test signs as the codec does')
  for (const json of ['not json', '{}', '[]', `["${future}", {}]`, `[${future}]`, `[${future}, "x"]`, `[${future - 120}, {"a":["b"]}]`]) {
    const decoded = codec.decode(signed(json), now)
    t.ok(decoded === null || Object.keys(decoded).length === 0, `signed ${json}: no flashes`)
  }
  t.same(codec.decode(codec.encode('f', JSON.parse('{"__proto__":["x"],"ok":["y"]}'), { type: 'ok', message: 'y' }, now).value, now), { ok: ['y'] },
    'a "__proto__" type is dropped on the way in')

  const many: Record<string, string[]> = { info: Array.from({ length: 60 }, (_, i) => `message ${i}`), error: ['newest'] }
  const fitted = codec.encode('nex_session_flash', many, { type: 'error', message: 'newest' }, now)
  t.ok('nex_session_flash='.length + fitted.value.length <= FLASH_COOKIE_LIMIT, 'trimmed to the limit')
  t.same(fitted.flashes.error, ['newest'], 'the newest kept')
  const info = fitted.flashes.info ?? []
  t.same(info, many.info?.slice(60 - info.length), `the oldest dropped first (${info.length} of 60 info kept)`)
  t.same(codec.decode(fitted.value, now), fitted.flashes, 'what is kept is what the cookie holds')
  t.throws(() => codec.encode('f', { info: ['x'.repeat(1_600)] }, { type: 'info', message: 'x'.repeat(1_600) }, now),
    { code: 'FST_NEX_SESSION_FLASH_TOO_LARGE', statusCode: 500, message: /this message alone would make it \d+ bytes, over its 2048-byte limit/ })
  t.equal(flashCookieName('sid'), 'sid_flash')
})
