// The pure parts: origin comparison, the token bucket, connection slots.
import t from 'tap'
import { canonicalOrigin, isSameOrigin } from '../src/lib/origin.js'
import { createTokenBucket } from '../src/lib/token-bucket.js'
import { createConnectionSlots } from '../src/lib/connection-slots.js'

t.test('canonicalOrigin', async (t) => {
  t.equal(canonicalOrigin('https://Example.COM'), 'https://example.com')
  t.equal(canonicalOrigin('https://example.com:443'), 'https://example.com')
  t.equal(canonicalOrigin('http://example.com:8080/'), 'http://example.com:8080')
  t.equal(canonicalOrigin('http://[::1]:3000'), 'http://[::1]:3000')
  for (const bad of ['null', '', 'example.com', 'file:///etc', 'ws://example.com', 'https://u:p@example.com', 'https://example.com/path', 'https://example.com?q', '*']) {
    t.equal(canonicalOrigin(bad), null, bad)
  }
})

t.test('isSameOrigin compares host and port with the Host header', async (t) => {
  t.ok(isSameOrigin('http://example.com', 'example.com'))
  t.ok(isSameOrigin('https://example.com', 'EXAMPLE.com:443'), 'default port, case')
  t.ok(isSameOrigin('https://example.com', 'example.com'), 'scheme not compared (TLS-terminating proxy)')
  t.ok(isSameOrigin('http://127.0.0.1:3000', '127.0.0.1:3000'))
  t.notOk(isSameOrigin('http://127.0.0.1:3001', '127.0.0.1:3000'))
  t.notOk(isSameOrigin('http://evil.example', 'example.com'))
  t.notOk(isSameOrigin('http://example.com.evil.example', 'example.com'))
  t.notOk(isSameOrigin('http://example.com', undefined))
  t.notOk(isSameOrigin('http://example.com', ''))
  t.notOk(isSameOrigin('null', 'example.com'))
  t.notOk(isSameOrigin('http://example.com', 'example.com/@evil'))
})

t.test('token bucket: a burst of capacity, then the refill rate', async (t) => {
  const bucket = createTokenBucket(3, 300, 0)
  t.same([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false])
  t.equal(bucket.take(50), false, 'half a token')
  t.equal(bucket.take(100), true, 'one token after 100 ms')
  t.equal(bucket.take(100), false)
  t.same([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)], [true, true, true, false], 'never above capacity')
  t.equal(bucket.take(5), false, 'a clock going back adds nothing')
})

t.test('connection slots: total and per address, released and forgotten', async (t) => {
  const slots = createConnectionSlots(3, 2)
  t.equal(slots.acquire('a'), null)
  t.equal(slots.acquire('a'), null)
  t.equal(slots.acquire('a'), 'maxConnectionsPerIp')
  t.equal(slots.acquire('b'), null)
  t.equal(slots.acquire('c'), 'maxConnections')
  t.equal(slots.size, 3)
  slots.release('a')
  t.equal(slots.acquire('c'), null)
  slots.release('unknown')
  t.equal(slots.size, 3)
  for (const address of ['a', 'b', 'c']) slots.release(address)
  t.equal(slots.size, 0)
  t.equal(slots.acquire('a'), null)
  t.equal(slots.acquire('a'), null)
})
