import t from 'tap'
import { createMemoryStore } from '../src/index.js'
// The contract suite from source: @nex/testing's build depends on this package's.
import { testPageStore } from '../../../packages/testing/src/store-contract.js'

const id = (n: number): string => `page-${n}`

await testPageStore(t, 'createMemoryStore', (options) => createMemoryStore(options))

t.test('least recently used pages are evicted beyond maxPages', async (t) => {
  const store = createMemoryStore({ maxPages: 3 })
  t.teardown(() => store.close())
  for (let n = 0; n < 3; n++) await store.set(id(n), 'n', n)
  await store.get(id(0), 'n')
  await store.set(id(3), 'n', 3)
  t.equal(store.size, 3)
  t.equal(await store.get(id(1), 'n'), undefined, 'the least recently used page went')
  t.equal(await store.get(id(0), 'n'), 0, 'a recently read page stayed')
  for (let n = 4; n < 100; n++) await store.set(id(n), 'n', n)
  t.equal(store.size, 3, 'never more than maxPages')
})

t.test('least recently used pages are evicted beyond maxBytes', async (t) => {
  const store = createMemoryStore({ maxBytes: 10_000, maxPageBytes: 2000 })
  t.teardown(() => store.close())
  const value = 'x'.repeat(1500)
  for (let n = 0; n < 50; n++) {
    await store.set(id(n), 'v', value)
    t.ok(store.bytes <= 10_000, `bytes bounded after page ${n}`)
  }
  t.ok(store.size >= 5 && store.size < 10, `only what fits is kept (${store.size} pages)`)
  t.equal(await store.get(id(49), 'v'), value, 'the newest page is kept')
  t.equal(await store.get(id(0), 'v'), undefined, 'the oldest page went')
})

t.test('size and bytes follow the pages held', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  t.equal(store.size, 0)
  t.equal(store.bytes, 0)
  await store.set(id(1), 'a', 'x'.repeat(100))
  const one = store.bytes
  t.ok(one > 100, 'counts the value and overhead')
  await store.set(id(1), 'b', 'x'.repeat(100))
  t.ok(store.bytes > one + 100, 'a second key adds its bytes')
  await store.set(id(1), 'b', 'x')
  t.ok(store.bytes < one + 100, 'a smaller value releases bytes')
  await store.delete(id(1), 'b')
  t.equal(store.bytes, one, 'deleting a key gives its bytes back exactly')
  await store.set(id(2), 'a', 1)
  t.equal(store.size, 2)
  await store.delete(id(2), 'a')
  t.equal(store.size, 1, 'a page whose last key is deleted is dropped')
  await store.clear(id(1))
  t.equal(store.size, 0)
  t.equal(store.bytes, 0)
  await store.touch(id(3))
  await store.get(id(4), 'a')
  await store.getAll(id(5))
  await store.delete(id(6), 'a')
  t.equal(store.size, 0, 'reads, touch and delete on unknown pages allocate nothing')
})

t.test('the per-page queue map stays bounded and drains', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  await Promise.all(Array.from({ length: 200 }, (_, n) => store.set(id(n), 'v', n)))
  t.equal(store.pendingPages, 0, 'plain writes to idle pages never queue')

  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const pending = Array.from({ length: 500 }, (_, n) => store.update(id(n % 50), 'v', 0, async (v) => {
    await gate
    return v + 1
  }))
  t.equal(store.pendingPages, 50, 'one entry per page with writes in flight, not per write')
  release()
  await Promise.all(pending)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(store.pendingPages, 0, 'entries are deleted once each chain drains')

  await store.update(id(1), 'v', 0, async () => { throw new Error('boom') }).catch(() => {})
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(store.pendingPages, 0, 'a failed update drains too')
})

t.test('options are validated with coded errors', async (t) => {
  const invalid = { code: 'FST_NEX_STATE_INVALID_OPTION' }
  t.throws(() => createMemoryStore({ ttl: 0 }), { ...invalid, message: /"ttl" must be a positive integer, got 0/ })
  t.throws(() => createMemoryStore({ maxPages: 1.5 }), invalid)
  t.throws(() => createMemoryStore({ maxBytes: -1 }), invalid)
  t.throws(() => createMemoryStore({ maxPageBytes: '10' as unknown as number }), { ...invalid, message: /got "10"/ })
  t.throws(() => createMemoryStore({ maxPageBytes: 2000, maxBytes: 1000 }), { ...invalid, message: /at most maxBytes \(1000\)/ })
})

t.test('NOT_JSON errors name the key and what is wrong', async (t) => {
  const store = createMemoryStore()
  t.teardown(() => store.close())
  await t.rejects(store.set(id(1), 'cart', { items: [{ added: new Date() }] } as never), {
    code: 'FST_NEX_STATE_NOT_JSON',
    statusCode: 500,
    message: /key "cart" is not JSON: a Date at \.items\[0\]\.added/
  })
  await t.rejects(store.set(id(1), 'n', 1n as unknown as number), { message: /"n" is not JSON: a bigint/ })
  const deep: unknown[] = []
  let cursor = deep
  for (let i = 0; i < 100_000; i++) cursor = (cursor[0] = []) as unknown[]
  await t.rejects(store.set(id(1), 'deep', deep as never), { code: 'FST_NEX_STATE_NOT_JSON', message: /nested too deeply/ })
})
