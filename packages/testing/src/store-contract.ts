/**
 * The page-store contract suite: the behaviour every `PageStore` (memory, Redis, yours) must show, as
 * tap subtests. Run it from your own test file with your store factory:
 *
 *   import t from 'tap'
 *   import { testPageStore } from '@nex/testing'
 *   await testPageStore(t, 'my store', (opts) => createMyStore(opts))
 *
 * Every store the suite creates is closed when its subtest ends.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { JsonValue, PageStore } from '@nex/state'

/** What the suite asks the factory for; a store must honour both. */
export interface PageStoreFactoryOptions {
  /** Sliding lifetime of a page in ms. */
  ttl: number
  /** Most bytes one page may hold. */
  maxPageBytes: number
}

export type PageStoreFactory = (options: PageStoreFactoryOptions) => PageStore | Promise<PageStore>

const DEFAULT_OPTIONS: PageStoreFactoryOptions = { ttl: 60_000, maxPageBytes: 4096 }

/** A fresh id in the shape the plugin issues (stores must not care, but some may index by it). */
function pageId (): string {
  return `${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}`
}

function notJsonValues (): Array<[string, unknown]> {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const sparse: number[] = [1]
  sparse[2] = 3
  class Point { x = 1 }
  return [
    ['a function', () => 1],
    ['undefined', undefined],
    ['a symbol', Symbol('s')],
    ['a BigInt', 10n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a Date', new Date()],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Point()],
    ['a cycle', cyclic],
    ['a nested function', { a: [1, { b: () => 1 }] }],
    ['an undefined property', { a: undefined }],
    ['a sparse array', sparse]
  ]
}

export async function testPageStore (t: Test, name: string, create: PageStoreFactory): Promise<void> {
  async function open (t: Test, options: Partial<PageStoreFactoryOptions> = {}): Promise<PageStore> {
    const store = await create({ ...DEFAULT_OPTIONS, ...options })
    t.teardown(() => store.close())
    return store
  }

  await t.test(`${name}: page store contract`, async (t) => {
    t.test('an unknown page reads as empty and tolerates every operation', async (t) => {
      const store = await open(t)
      const id = pageId()
      t.equal(await store.get(id, 'a'), undefined)
      t.same(await store.getAll(id), {})
      await store.touch(id)
      await store.delete(id, 'a')
      await store.clear(id)
      t.same(await store.getAll(id), {}, 'touch, delete and clear created nothing')
    })

    t.test('set, get, getAll, delete, clear', async (t) => {
      const store = await open(t)
      const id = pageId()
      const values: Record<string, JsonValue> = {
        text: 'héllo ✓',
        number: 4.5,
        zero: 0,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', [3], { four: 4 }],
        object: { nested: { deep: ['x'] }, empty: {} }
      }
      for (const [key, value] of Object.entries(values)) await store.set(id, key, value)
      for (const [key, value] of Object.entries(values)) t.strictSame(await store.get(id, key), value, key)
      t.strictSame(await store.getAll(id), values)

      await store.set(id, 'text', 'replaced')
      t.equal(await store.get(id, 'text'), 'replaced', 'set overwrites')

      await store.delete(id, 'text')
      t.equal(await store.get(id, 'text'), undefined, 'deleted key reads as undefined')
      t.notOk('text' in await store.getAll(id), 'deleted key is gone from getAll')
      t.equal(await store.get(id, 'zero'), 0, 'other keys stay')

      await store.clear(id)
      t.same(await store.getAll(id), {}, 'clear removes every key')
      await store.set(id, 'again', 1)
      t.same(await store.getAll(id), { again: 1 }, 'a cleared page can be written again')
    })

    t.test('unusual key names are ordinary keys', async (t) => {
      const store = await open(t)
      const id = pageId()
      for (const key of ['__proto__', 'constructor', 'toString', '', 'with space', 'ключ']) await store.set(id, key, key)
      const all = await store.getAll(id)
      t.equal(Object.getPrototypeOf(all), Object.prototype, 'getAll returns a plain object')
      t.ok(Object.hasOwn(all, '__proto__'), '"__proto__" is an own key, not the prototype')
      t.equal(Object.getOwnPropertyDescriptor(all, '__proto__')?.value, '__proto__')
      t.equal(await store.get(id, 'constructor'), 'constructor')
      t.equal(Object.keys(all).length, 6)
    })

    t.test('values come back as copies', async (t) => {
      const store = await open(t)
      const id = pageId()
      const original = { list: [1, 2], inner: { a: 1 } }
      await store.set(id, 'v', original)
      original.list.push(3)
      original.inner.a = 99
      t.same(await store.get(id, 'v'), { list: [1, 2], inner: { a: 1 } }, 'changing the stored object later changes nothing')

      const read = await store.get(id, 'v') as { list: number[] }
      read.list.push(4)
      t.same(await store.get(id, 'v'), { list: [1, 2], inner: { a: 1 } }, 'changing a read value changes nothing')

      const all = await store.getAll(id) as { v: { list: number[] } }
      all.v.list.length = 0
      t.same(await store.get(id, 'v'), { list: [1, 2], inner: { a: 1 } }, 'changing getAll output changes nothing')

      const fallback: number[] = []
      await store.update(id, 'items', fallback, (items) => {
        items.push(1)
        return items
      })
      t.same(fallback, [], 'update hands fn a copy of the fallback')
      await store.update(id, 'v', {}, (v) => {
        (v as { list: number[] }).list.push(5)
        throw new Error('give up')
      }).catch(() => {})
      t.same(await store.get(id, 'v'), { list: [1, 2], inner: { a: 1 } }, 'fn mutating its argument then throwing changes nothing')
    })

    t.test('non-JSON values are refused with FST_NEX_STATE_NOT_JSON and nothing is written', async (t) => {
      const store = await open(t)
      const id = pageId()
      await store.set(id, 'v', 'before')
      for (const [label, value] of notJsonValues()) {
        await t.rejects(store.set(id, 'v', value as JsonValue), { code: 'FST_NEX_STATE_NOT_JSON' }, `set refuses ${label}`)
        await t.rejects(store.set(id, 'other', value as JsonValue), { code: 'FST_NEX_STATE_NOT_JSON' }, `set of a new key refuses ${label}`)
        await t.rejects(store.update<JsonValue>(id, 'v', 'x', () => value as JsonValue), { code: 'FST_NEX_STATE_NOT_JSON' }, `update refuses ${label}`)
        await t.rejects(store.update<JsonValue>(id, 'v', 'x', async () => value as JsonValue), { code: 'FST_NEX_STATE_NOT_JSON' }, `async update refuses ${label}`)
      }
      t.same(await store.getAll(id), { v: 'before' }, 'nothing was written')
      t.equal(await store.update(id, 'v', '', (v) => `${v}!`), 'before!', 'the page still works')
    })

    t.test('update is atomic: 200 concurrent async increments end at 200', async (t) => {
      const store = await open(t)
      const id = pageId()
      const results = await Promise.all(Array.from({ length: 200 }, () =>
        store.update(id, 'n', 0, async (n) => {
          await new Promise((resolve) => setImmediate(resolve))
          return n + 1
        })))
      t.equal(await store.get(id, 'n'), 200)
      t.same([...results].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1), 'each update saw the previous one')
    })

    t.test('an update whose fn throws writes nothing, and later updates still run', async (t) => {
      const store = await open(t)
      const id = pageId()
      await store.set(id, 'n', 5)
      await t.rejects(store.update(id, 'n', 0, () => { throw new Error('sync boom') }), { message: 'sync boom' })
      await t.rejects(store.update(id, 'n', 0, async () => { throw new Error('async boom') }), { message: 'async boom' })
      await t.rejects(store.update(id, 'fresh', 0, () => { throw new Error('boom') }), { message: 'boom' })
      t.same(await store.getAll(id), { n: 5 }, 'nothing written')
      const later = await Promise.all([
        store.update(id, 'n', 0, (n) => n + 1),
        store.update(id, 'n', 0, async () => { throw new Error('middle') }).catch(() => 'failed'),
        store.update(id, 'n', 0, async (n) => n + 1)
      ])
      t.same(later, [6, 'failed', 7])
      t.equal(await store.get(id, 'n'), 7)
    })

    t.test('writes to one page are applied in call order', async (t) => {
      const store = await open(t)
      const id = pageId()
      const pending = [
        store.update(id, 'v', 0, async (v) => {
          await sleep(30)
          return v + 1
        }),
        store.set(id, 'v', 100),
        store.update(id, 'v', 0, (v) => v * 2),
        store.set(id, 'w', 'first'),
        store.delete(id, 'w'),
        store.set(id, 'x', 'kept')
      ]
      const [first, , third] = await Promise.all(pending)
      t.equal(first, 1, 'the slow update ran first')
      t.equal(third, 200, 'the update after set saw the set')
      t.same(await store.getAll(id), { v: 200, x: 'kept' })

      const cleared = [store.set(id, 'y', 1), store.clear(id), store.set(id, 'z', 2)]
      await Promise.all(cleared)
      t.same(await store.getAll(id), { z: 2 }, 'clear is ordered with the writes around it')
    })

    t.test('a write that takes a page over maxPageBytes is refused with 413 and changes nothing', async (t) => {
      const maxPageBytes = 4096
      const store = await open(t, { maxPageBytes })
      const id = pageId()
      const tooBig = 'x'.repeat(maxPageBytes + 1)
      await store.set(id, 'keep', 'small')
      await t.rejects(store.set(id, 'big', tooBig), { code: 'FST_NEX_STATE_PAGE_TOO_LARGE', statusCode: 413 })
      await t.rejects(store.set(id, 'keep', tooBig), { code: 'FST_NEX_STATE_PAGE_TOO_LARGE', statusCode: 413 })
      await t.rejects(store.update(id, 'keep', '', () => tooBig), { code: 'FST_NEX_STATE_PAGE_TOO_LARGE', statusCode: 413 })
      t.same(await store.getAll(id), { keep: 'small' }, 'previous value intact')

      const chunk = 'y'.repeat(1000)
      const written: string[] = []
      let refused: unknown
      for (let i = 0; i < 10 && refused === undefined; i++) {
        await store.set(id, `k${i}`, chunk).then(() => written.push(`k${i}`), (err: unknown) => { refused = err })
      }
      t.ok(written.length >= 2, 'writes below the limit succeed')
      t.match(refused, { code: 'FST_NEX_STATE_PAGE_TOO_LARGE', statusCode: 413 }, 'the write crossing the limit is refused')
      const all = await store.getAll(id)
      t.same(Object.keys(all).sort(), ['keep', ...written].sort(), 'earlier keys intact, refused key absent')

      await store.delete(id, written[0] as string)
      await store.set(id, 'after-delete', chunk)
      t.equal(await store.get(id, 'after-delete'), chunk, 'deleting frees room')

      const other = pageId()
      await store.set(other, 'k', chunk)
      t.equal(await store.get(other, 'k'), chunk, 'the limit is per page')
    })

    t.test('pages expire ttl after their last write', async (t) => {
      const ttl = 200
      const store = await open(t, { ttl })
      const id = pageId()
      await store.set(id, 'a', 1)
      t.equal(await store.get(id, 'a'), 1)
      await sleep(ttl * 2)
      t.equal(await store.get(id, 'a'), undefined, 'expired key reads as undefined')
      t.same(await store.getAll(id), {}, 'expired page reads as empty')
      await store.set(id, 'b', 2)
      t.same(await store.getAll(id), { b: 2 }, 'writing to an expired page starts it empty')
    })

    t.test('touch and writes slide the ttl', async (t) => {
      const ttl = 400
      const store = await open(t, { ttl })
      const touched = pageId()
      const written = pageId()
      await store.set(touched, 'a', 1)
      await store.set(written, 'a', 1)
      for (let i = 0; i < 3; i++) {
        await sleep(ttl / 2)
        await store.touch(touched)
        await store.set(written, 'b', i)
      }
      t.equal(await store.get(touched, 'a'), 1, 'alive 1.5 ttl after its write thanks to touch')
      t.equal(await store.get(written, 'a'), 1, 'alive 1.5 ttl after that key was written, thanks to later writes')
      await sleep(ttl * 2)
      t.same(await store.getAll(touched), {}, 'gone once touches stop')
      t.same(await store.getAll(written), {}, 'gone once writes stop')
    })

    t.test('pages are isolated from each other', async (t) => {
      const store = await open(t)
      const a = pageId()
      const b = pageId()
      await store.set(a, 'k', 'a')
      await store.set(b, 'k', 'b')
      t.equal(await store.get(a, 'k'), 'a')
      t.equal(await store.get(b, 'k'), 'b')
      await store.clear(a)
      t.same(await store.getAll(a), {})
      t.same(await store.getAll(b), { k: 'b' }, 'clearing one page leaves the other')

      let release = (): void => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      const slow = store.update(a, 'n', 0, async (n) => {
        await gate
        return n + 1
      })
      const other = await Promise.race([
        store.update(b, 'n', 0, (n) => n + 1).then(() => 'done'),
        sleep(2000).then(() => 'blocked')
      ])
      t.equal(other, 'done', 'a slow update on one page does not hold up another page')
      release()
      t.equal(await slow, 1)
    })

    t.test('claim (optional): each session keeps the state of its maxPages most recently used pages', async (t) => {
      const store = await open(t)
      if (store.claim === undefined) {
        t.pass('this store has no claim(): no per-session page cap')
        return
      }
      const pages = Array.from({ length: 5 }, () => pageId())
      for (const [i, id] of pages.entries()) {
        await store.set(id, 'n', i)
        await store.claim(id, 'session-a', 3)
      }
      t.same(await Promise.all(pages.map((id) => store.get(id, 'n'))), [undefined, undefined, 2, 3, 4], 'the two oldest pages of 5 dropped at a cap of 3')

      // Using a page again makes it the most recent: the next page drops another one.
      await store.claim(pages[2] as string, 'session-a', 3)
      const sixth = pageId()
      await store.set(sixth, 'n', 5)
      await store.claim(sixth, 'session-a', 3)
      t.same(await Promise.all([...pages.slice(2), sixth].map((id) => store.get(id, 'n'))), [2, undefined, 4, 5], 'the least recently used one went')

      // Sessions are counted apart, and a page never claimed is never dropped by a claim.
      const others = Array.from({ length: 3 }, () => pageId())
      for (const id of others) {
        await store.set(id, 'n', 'b')
        await store.claim(id, 'session-b', 3)
      }
      const anonymous = pageId()
      await store.set(anonymous, 'n', 'anonymous')
      t.same(await Promise.all(others.map((id) => store.get(id, 'n'))), ['b', 'b', 'b'], 'another session\'s pages stay')
      t.same(await Promise.all([pages[2], pages[4], sixth].map((id) => store.get(id as string, 'n'))), [2, 4, 5], 'and do not push out the first session\'s')
      t.equal(await store.get(anonymous, 'n'), 'anonymous', 'a page of no session is left alone')
    })

    t.test('ping resolves', async (t) => {
      const store = await open(t)
      await t.resolves(store.ping())
    })

    t.test('close: idempotent, later calls reject with FST_NEX_STATE_STORE_CLOSED', async (t) => {
      const store = await open(t)
      const id = pageId()
      await store.set(id, 'a', 1)
      await store.close()
      await t.resolves(store.close(), 'closing twice is fine')
      const closed = { code: 'FST_NEX_STATE_STORE_CLOSED' }
      await t.rejects(store.get(id, 'a'), closed)
      await t.rejects(store.getAll(id), closed)
      await t.rejects(store.set(id, 'a', 2), closed)
      await t.rejects(store.update(id, 'a', 0, (n) => n + 1), closed)
      await t.rejects(store.delete(id, 'a'), closed)
      await t.rejects(store.clear(id), closed)
      await t.rejects(store.touch(id), closed)
      await t.rejects(store.ping(), closed)
    })
  })
}
