// PAR-06: the JSON body parser createServer() installs. The depth scan on its own (strings with brackets,
// escapes, unicode, exactly maxJsonDepth vs one more, random JSON against a reference depth), then the
// parser through inject(): deep bodies refused with 400 before JSON.parse, everything else exactly as
// Fastify's own parser answers it (empty body, invalid JSON, __proto__/constructor poisoning).
import t, { type Test } from 'tap'
import fc from 'fast-check'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import { createServer } from '../src/create-server.js'
import { exceedsJsonDepth } from '../src/lib/json-depth.js'
import type { NexServerOptions } from '../src/server-options.js'

const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth)

/** The nesting depth of a parsed value (a scalar is 0, `[]` is 1). */
function depthOf (value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0)
}

t.test('exceedsJsonDepth: exactly the limit passes, one more does not', async (t) => {
  t.notOk(exceedsJsonDepth(nested(64), 64), '64 nested arrays')
  t.ok(exceedsJsonDepth(nested(65), 64), '65 nested arrays')
  t.notOk(exceedsJsonDepth('{"a":'.repeat(64) + '1' + '}'.repeat(64), 64), '64 nested objects')
  t.ok(exceedsJsonDepth('{"a":'.repeat(65) + '1' + '}'.repeat(65), 64), '65 nested objects')
  t.notOk(exceedsJsonDepth('[{"a":[{"b":[1]}]}]', 5), 'mixed, 5 deep, limit 5')
  t.ok(exceedsJsonDepth('[{"a":[{"b":[1]}]}]', 4), 'mixed, 5 deep, limit 4')
  t.notOk(exceedsJsonDepth('[[1],[2],[3],[[4]]]'.repeat(100), 3), 'depth is nesting, not how many brackets')
  t.ok(exceedsJsonDepth('['.repeat(65_536), 64), 'unclosed, stops at the first level over')
  t.notOk(exceedsJsonDepth('', 64), 'empty')
  t.notOk(exceedsJsonDepth('42', 0), 'a scalar is depth 0')
  t.ok(exceedsJsonDepth('[]', 0))
})

t.test('exceedsJsonDepth: brackets inside strings do not count; escapes end strings where JSON does', async (t) => {
  const deepText = '['.repeat(1_000) + '{'.repeat(1_000)
  t.notOk(exceedsJsonDepth(JSON.stringify({ text: deepText }), 1), 'brackets in a value')
  t.notOk(exceedsJsonDepth(JSON.stringify({ [deepText]: 1 }), 1), 'brackets in a key')
  t.notOk(exceedsJsonDepth('["\\"[[[[", "]]]]"]', 1), 'an escaped quote does not end the string')
  t.notOk(exceedsJsonDepth('["\\\\", "[[[["]', 1), 'an escaped backslash: the quote after it does end the string')
  t.ok(exceedsJsonDepth('["\\\\"[[', 1), 'so brackets after that quote count')
  t.notOk(exceedsJsonDepth('["\\u005b\\u005b\\u005b"]', 1), '\\u005b is "[" only once parsed')
  t.notOk(exceedsJsonDepth('["é[✓{😀[", "𝄞]]"]', 1), 'multi-byte characters and surrogate pairs are skipped')
  t.ok(exceedsJsonDepth('["é✓😀", ["𝄞"]]', 1), 'and brackets after them still count')
  t.notOk(exceedsJsonDepth('"[[[[[[', 1), 'an unterminated string: the rest is inside it')
  t.notOk(exceedsJsonDepth(']]]]]][[', 2), 'stray closers let depth go below 0; invalid JSON is the parser\'s to refuse')
})

t.test('exceedsJsonDepth agrees with the depth of random JSON', async (t) => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
    const text = JSON.stringify(value)
    return exceedsJsonDepth(text, limit) === (depthOf(JSON.parse(text)) > limit)
  }), { numRuns: 3_000 })
  t.pass('3 000 random values, random limits')
})

/** createServer() or plain Fastify with the same routes: /json echoes what the parser produced. */
async function build (t: Test, kind: 'nex' | 'fastify', options: NexServerOptions & FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = (kind === 'nex' ? createServer(options) : Fastify(options as FastifyServerOptions & { http2?: false })) as unknown as FastifyInstance
  app.post('/json', async (request) => ({ body: request.body as unknown }))
  app.post('/small', { bodyLimit: 16 }, async (request) => ({ body: request.body as unknown }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const post = async (app: FastifyInstance, payload: string, url = '/json', type = 'application/json'): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } })

/** What a client sees: status and body. */
const seen = (response: LightMyRequestResponse): { status: number, body: unknown } =>
  ({ status: response.statusCode, body: JSON.parse(response.body) as unknown })

t.test('createServer(): bodies deeper than 64 are refused with 400 before JSON.parse, never echoed', async (t) => {
  const app = await build(t, 'nex')
  t.same(seen(await post(app, nested(64))).status, 200, '64 deep: parsed')
  t.same(JSON.parse((await post(app, JSON.stringify({ a: [{ b: 'x[[[[' }] }))).body), { body: { a: [{ b: 'x[[[[' }] } }, 'a normal body parses as ever')

  for (const [what, body] of [['65 nested arrays', nested(65)], ['64 KiB of unclosed [', '['.repeat(65_536)], ['65 nested objects', '{"a":'.repeat(65) + '1' + '}'.repeat(65)]]) {
    const started = performance.now()
    const response = await post(app, body as string)
    const ms = performance.now() - started
    t.same(seen(response), {
      status: 400,
      body: { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', error: 'Bad Request', message: 'Body is JSON nested deeper than 64 levels (the maxJsonDepth server option)' }
    }, `${what}: 400 FST_ERR_CTP_INVALID_JSON_BODY naming the limit, nothing of the body (${ms.toFixed(2)} ms)`)
  }

  const charset = await post(app, nested(65), '/json', 'application/json; charset=utf-8')
  t.equal(charset.statusCode, 400, 'also with a charset parameter')
  const tight = await build(t, 'nex', { maxJsonDepth: 2 })
  t.equal((await post(tight, '[[1]]')).statusCode, 200, 'maxJsonDepth: 2 takes 2 levels')
  t.equal(JSON.parse((await post(tight, '[[[1]]]')).body).message, 'Body is JSON nested deeper than 2 levels (the maxJsonDepth server option)')
})

t.test('everything else is answered exactly as Fastify\'s own parser answers it', async (t) => {
  const nex = await build(t, 'nex')
  const plain = await build(t, 'fastify', { bodyLimit: 65_536 })
  const cases: Record<string, [payload: string, url?: string]> = {
    'an empty body': [''],
    'invalid JSON': ['{"a":'],
    'a scalar': ['42'],
    'stray closers': [']]]]'],
    '__proto__ poisoning': ['{"__proto__":{"admin":true}}'],
    'nested __proto__ poisoning': ['{"a":{"__proto__":{"admin":true}}}'],
    'constructor poisoning': ['{"constructor":{"prototype":{"admin":true}}}'],
    'over a route\'s bodyLimit': ['{"a":"0123456789abcdef"}', '/small'],
    unicode: ['{"é":"✓ 😀 \\u005b"}']
  }
  for (const [what, [payload, url]] of Object.entries(cases)) {
    t.same(seen(await post(nex, payload, url)), seen(await post(plain, payload, url)), what)
  }
  t.equal((await post(nex, '{"__proto__":{"admin":true}}')).statusCode, 400, 'poisoning still answers 400')

  const removing = await build(t, 'nex', { onProtoPoisoning: 'remove', onConstructorPoisoning: 'remove' })
  t.same(JSON.parse((await post(removing, '{"__proto__":{"admin":true},"a":1}')).body), { body: { a: 1 } },
    'onProtoPoisoning: "remove" is honoured (the options reach Fastify\'s parser)')
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched')
})

t.test('the parser is the root\'s, so encapsulated plugins get it; an app can still bring its own', async (t) => {
  const app = createServer()
  await app.register(async (child) => {
    child.post('/child', async (request) => request.body)
  }, { prefix: '/plugin' })
  t.teardown(() => app.close())
  t.equal((await post(app as unknown as FastifyInstance, nested(65), '/plugin/child')).statusCode, 400, 'a route in a child plugin')

  const own = createServer()
  t.throws(() => own.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => { done(null, body) }),
    { code: 'FST_ERR_CTP_ALREADY_PRESENT' }, 'documented: adding another application/json parser needs a remove first')
  own.removeContentTypeParser('application/json')
  own.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => { done(null, { raw: body }) })
  own.post('/json', async (request) => request.body)
  t.teardown(() => own.close())
  t.same(JSON.parse((await post(own as unknown as FastifyInstance, nested(65))).body), { raw: nested(65) }, 'after removeContentTypeParser, the app\'s own parser')
})

t.test('maxJsonDepth is checked at startup with FST_NEX_INVALID_OPTION', async (t) => {
  for (const value of [0, -1, 1.5, '64', Number.NaN, null]) {
    t.throws(() => createServer({ maxJsonDepth: value as number }), {
      code: 'FST_NEX_INVALID_OPTION',
      message: new RegExp(`^nex: option "maxJsonDepth" must be a whole number of levels from 1 to ${Number.MAX_SAFE_INTEGER}, got `)
    }, String(value))
  }
})
