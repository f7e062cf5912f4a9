/**
 * Page-id flood against Redis (RELIABILITY MEM-02): ids the server never issued are refused with 410
 * before anything is looked up, so they create no keys; ids it issued but that were never written
 * create none either; and every key that does exist carries a TTL.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import nexState from '@nex/state'
import nexRoutes from '@nex/routes'
import { createRedisStore } from '@nex/redis'
import { startRedisServer } from '@nex/testing'

const redis = await startRedisServer()
t.teardown(() => redis.stop())
const inspector = new Redis(redis.url)
t.teardown(() => { inspector.disconnect() })

const store = createRedisStore({ url: redis.url })
const app = Fastify()
await app.register(nexState, { secret: 'flood-test-secret-flood-test-secret-0123456', store })
await app.register(nexRoutes, { dir: fileURLToPath(new URL('./fixtures/outage', import.meta.url)), dev: false, assets: false })
app.addHook('onClose', () => store.close())
t.teardown(() => app.close())

const keyCount = async (): Promise<number> => (await inspector.keys('*')).length

/** A well-formed id (22 + 1 + 22 base64url characters) with a tag the server never made. */
const forgedId = (): string => `${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}`

t.test('2 000 forged page ids in headers and form fields: all 410 + HX-Refresh, no key created', async (t) => {
  const before = await keyCount()
  const statuses = new Map<number, number>()
  let refreshes = 0
  for (let batch = 0; batch < 20; batch++) {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => {
      const id = i % 3 === 0 ? `${forgedId()}x` : forgedId()
      return i % 2 === 0
        ? app.inject({ method: 'POST', url: '/?/increment', headers: { 'hx-request': 'true', 'x-nex-page-id': id } })
        : app.inject({ method: 'POST', url: '/?/increment', payload: new URLSearchParams({ _nex_page: id }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    }))
    for (const answer of answers) {
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1)
      if (answer.headers['hx-refresh'] === 'true') refreshes++
    }
  }
  t.same([...statuses], [[410, 2000]], 'every forged id is refused with 410')
  t.equal(refreshes, 2000, 'each with HX-Refresh: true')
  t.equal(await keyCount(), before, 'Redis holds no key for any of them')
})

t.test('issued ids that were never written create no key; written pages all carry a TTL', async (t) => {
  const before = await keyCount()
  const readOnly = await Promise.all(Array.from({ length: 50 }, () => app.nexState.issuePageId()))
  for (const id of readOnly) {
    const answer = await app.inject({ url: '/api/count', headers: { 'hx-request': 'true', 'x-nex-page-id': id } })
    t.equal(answer.statusCode, 200)
  }
  t.equal(await keyCount(), before, 'reads and the TTL touch of an unknown page create nothing')

  const written = Array.from({ length: 50 }, () => app.nexState.issuePageId())
  for (const id of written) {
    const answer = await app.inject({ method: 'POST', url: '/?/increment', headers: { 'hx-request': 'true', 'x-nex-page-id': id } })
    t.equal(answer.statusCode, 200)
  }
  const keys = await inspector.keys('*')
  t.equal(keys.length, before + 50, 'one key per written page')
  const ttls = await Promise.all(keys.map((key) => inspector.pttl(key)))
  t.ok(ttls.every((ttl) => ttl > 0), `every key has a TTL (min ${Math.min(...ttls)} ms)`)
})
