// SSE framing: the pure formatters to the letter, then fuzzed through a real `eventsource` client, which
// must get back exactly what was sent (data, event name, id), and field values with line breaks refused.
import t from 'tap'
import fc from 'fast-check'
import { EventSource } from 'eventsource'
import { html, raw } from '@nex/html'
import { errors, formatComment, formatMessage, parseLastEventId, type SseMessage, type SseStream } from '../src/index.js'
import { deferred, open, serve } from './helpers.js'

const INVALID_FIELD = { code: 'FST_NEX_SSE_INVALID_FIELD', statusCode: 500 }
const INVALID_DATA = { code: 'FST_NEX_SSE_INVALID_DATA', statusCode: 500 }

t.test('formatMessage: data lines', async (t) => {
  t.equal(formatMessage({ data: 'hello' }), 'data: hello\n\n')
  t.equal(formatMessage({ data: 'a\nb' }), 'data: a\ndata: b\n\n', 'LF')
  t.equal(formatMessage({ data: 'a\r\nb' }), 'data: a\ndata: b\n\n', 'CRLF is one break, not two')
  t.equal(formatMessage({ data: 'a\rb' }), 'data: a\ndata: b\n\n', 'a lone CR breaks the line for clients, so it is split too')
  t.equal(formatMessage({ data: 'a\r\n\r\nb\n' }), 'data: a\ndata: \ndata: b\ndata: \n\n', 'empty lines and a trailing newline survive')
  t.equal(formatMessage({ data: '\n' }), 'data: \ndata: \n\n')
  t.equal(formatMessage({ data: '' }), 'data: \n\n', 'empty data is still one data line (the event is dispatched)')
  t.equal(formatMessage({ data: ' leading space' }), 'data:  leading space\n\n', 'the space after the colon is the one clients strip')
  t.equal(formatMessage({ data: 'data: x\n\nevent: evil' }), 'data: data: x\ndata: \ndata: event: evil\n\n', 'data cannot forge fields or end the event')
  t.equal(formatMessage({ data: 'nul\0inside' }), 'data: nul\0inside\n\n', 'NUL is fine in data')
})

t.test('formatMessage: values other than strings', async (t) => {
  t.equal(formatMessage({ data: { a: 1, text: 'x\ny' } }), 'data: {"a":1,"text":"x\\ny"}\n\n', 'objects as JSON, on one line')
  t.equal(formatMessage({ data: [1, 'two'] }), 'data: [1,"two"]\n\n')
  t.equal(formatMessage({ data: 42 }), 'data: 42\n\n')
  t.equal(formatMessage({ data: null }), 'data: null\n\n')
  t.equal(formatMessage({ data: false }), 'data: false\n\n')
  t.equal(formatMessage({ data: html`<p class="x">${'<b>&'}</p>` }), 'data: <p class="x">&lt;b&gt;&amp;</p>\n\n', 'html`` is sent raw (already escaped)')
  t.equal(formatMessage({ data: html`<ul>\n<li>${'a'}</li>\n</ul>` }), 'data: <ul>\ndata: <li>a</li>\ndata: </ul>\n\n', 'multi-line markup')
  t.equal(formatMessage({ data: raw('<i>') }), 'data: <i>\n\n')
  t.equal(formatMessage({ data: { toJSON: () => 'custom' } }), 'data: "custom"\n\n')

  t.throws(() => formatMessage({ data: 10n }), { ...INVALID_DATA, message: /a bigint/ })
  t.throws(() => formatMessage({ data: () => 1 }), { ...INVALID_DATA, message: /a function/ })
  t.throws(() => formatMessage({ data: Symbol('s') }), { ...INVALID_DATA, message: /a symbol/ })
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  t.throws(() => formatMessage({ data: cycle }), { ...INVALID_DATA, message: /cycle/ })
  t.throws(() => formatMessage({ data: { n: 1n } }), INVALID_DATA, 'a bigint nested in an object')
})

t.test('formatMessage: event, id, retry, comment', async (t) => {
  t.equal(formatMessage({ event: 'ping' }), 'event: ping\ndata: \n\n', 'a named event without data gets a data line, or clients drop it')
  t.equal(formatMessage({ event: 'update', data: 'x' }), 'event: update\ndata: x\n\n')
  t.equal(formatMessage({ event: '', data: 'x' }), 'data: x\n\n', 'an empty name is an unnamed message')
  t.equal(formatMessage({ id: 7, data: 'x' }), 'id: 7\ndata: x\n\n', 'numeric id')
  t.equal(formatMessage({ id: 0, data: 'x' }), 'id: 0\ndata: x\n\n')
  t.equal(formatMessage({ id: 'abc-1', data: 'x' }), 'id: abc-1\ndata: x\n\n', 'string id')
  t.equal(formatMessage({ id: '', data: 'x' }), 'id: \ndata: x\n\n', 'an empty id (resets the last event id) is allowed')
  t.equal(formatMessage({ retry: 2500 }), 'retry: 2500\n\n', 'retry alone dispatches nothing')
  t.equal(formatMessage({ retry: 0, data: 'x' }), 'retry: 0\ndata: x\n\n')
  t.equal(formatMessage({ event: 'e', id: 3, retry: 10, data: 'd' }), 'event: e\nid: 3\nretry: 10\ndata: d\n\n')
  t.equal(formatMessage({ comment: 'note', data: 'x' }), ': note\ndata: x\n\n')
  t.equal(formatMessage({ comment: 'a\nb\r\ndata: forged' }), ': a\n: b\n: data: forged\n\n', 'every comment line stays a comment')

  for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
    t.throws(() => formatMessage({ id: bad, data: 'x' }), { ...INVALID_FIELD, message: /"id"/ }, `id ${bad}`)
  }
  t.throws(() => formatMessage({ id: true as unknown as string, data: 'x' }), { ...INVALID_FIELD, message: /"id" field of an event is not a string/ })
  for (const bad of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
    t.throws(() => formatMessage({ retry: bad }), { ...INVALID_FIELD, message: /"retry"/ }, `retry ${String(bad)}`)
  }
  t.throws(() => formatMessage({ event: 42 as unknown as string }), { ...INVALID_FIELD, message: /"event" field of an event is not a string/ })
})

t.test('formatMessage: CR, LF or NUL in event or id are refused', async (t) => {
  for (const field of ['event', 'id'] as const) {
    for (const bad of ['a\nb', 'a\rb', 'a\r\nb', '\n', 'end\n', 'a\0b']) {
      const error = t.throws(() => formatMessage({ [field]: bad, data: 'x' }), INVALID_FIELD, `${field} ${JSON.stringify(bad)}`) as Error
      t.match(error.message, new RegExp(`the "${field}" field of an event contains (a line break|a NUL character)`))
      t.match(error.message, /put multi-line text in data/, 'the message says how to fix it')
    }
  }
})

t.test('formatComment', async (t) => {
  t.equal(formatComment(''), ': \n\n')
  t.equal(formatComment('keep-alive'), ': keep-alive\n\n')
  t.equal(formatComment('a\nb'), ': a\n: b\n\n')
  t.equal(formatComment('a\rdata: x'), ': a\n: data: x\n\n')
})

t.test('parseLastEventId', async (t) => {
  t.equal(parseLastEventId('0'), 0)
  t.equal(parseLastEventId('1712345678901234'), 1712345678901234, 'ids of the event log (clock in microseconds)')
  t.equal(parseLastEventId(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
  for (const bad of [undefined, '', ' 1', '1 ', '-1', '1.5', '1e3', 'abc', '0x10', '9007199254740993', '1'.repeat(21)]) {
    t.equal(parseLastEventId(bad), null, `${JSON.stringify(bad)} is no position`)
  }
  t.equal(parseLastEventId(['1', '2']), null, 'a repeated header')
})

// Fuzzing through a real client. Units for text: any code point (no lone surrogates: they cannot be UTF-8
// encoded), with line breaks, NUL, spaces and colons made frequent.
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
const lineChar = fc.oneof(
  { weight: 6, arbitrary: anyChar },
  { weight: 3, arbitrary: fc.constantFrom('\n', '\r', '\r\n', '\n\n', '\r\r') },
  { weight: 1, arbitrary: fc.constantFrom('\0', ' ', ':', 'data: ', 'id: ', '\u2028', '\ufeff') }
)
const fieldChar = fc.oneof(
  { weight: 8, arbitrary: anyChar.filter(c => !/[\r\n\0]/.test(c)) },
  { weight: 1, arbitrary: fc.constantFrom(' ', ':', '\ufeff') }
)
const text = fc.string({ unit: lineChar, maxLength: 30 })
const fieldText = fc.string({ unit: fieldChar, maxLength: 12 })
// Longer than any generated name, so it cannot collide with one.
const END = 'end-of-this-batch'

type DataKind = { kind: 'text', value: string } | { kind: 'html', value: string } | { kind: 'json', value: unknown }
const dataArb: fc.Arbitrary<DataKind> = fc.oneof(
  { weight: 4, arbitrary: text.map(value => ({ kind: 'text' as const, value })) },
  { weight: 1, arbitrary: text.map(value => ({ kind: 'html' as const, value })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(value => ({ kind: 'json' as const, value })) }
)
const messageArb: fc.Arbitrary<Generated> = fc.record({
  data: fc.option(dataArb, { nil: undefined }),
  event: fc.option(fieldText, { nil: undefined }),
  id: fc.option(fc.oneof(fieldText, fc.maxSafeNat()), { nil: undefined }),
  retry: fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
  comment: fc.option(text, { nil: undefined })
}, { requiredKeys: [] })
interface Generated { data?: DataKind, event?: string, id?: string | number, retry?: number, comment?: string }

function toMessage (generated: Generated): SseMessage {
  const message: SseMessage = {}
  if (generated.data !== undefined) {
    const data = generated.data
    // eslint-disable-next-line nex/no-unsafe-raw -- fuzzes the framing of SafeHtml data; nothing is rendered in a page
    message.data = data.kind === 'html' ? raw(data.value) : data.value
  }
  if (generated.event !== undefined) message.event = generated.event
  if (generated.id !== undefined) message.id = generated.id
  if (generated.retry !== undefined) message.retry = generated.retry
  if (generated.comment !== undefined) message.comment = generated.comment
  return message
}

interface Received { type: string, data: string, lastEventId: string | null }

/** What a client must see for a message: nothing when it has neither data nor a name. */
function expected (generated: Generated): Received | null {
  const named = generated.event !== undefined && generated.event !== ''
  if (generated.data === undefined && !named) return null
  const data = generated.data
  // The protocol has no way to carry CR: every line break arrives as LF.
  // A string is sent as text whatever made it; other JSON values as JSON.
  const value = data === undefined ? '' : data.value
  const wire = typeof value === 'string' ? value.replace(/\r\n|\r/g, '\n') : JSON.stringify(value)
  return { type: named ? generated.event as string : 'message', data: wire, lastEventId: generated.id === undefined ? null : String(generated.id) }
}

t.test('fuzz: what eventsource parses is exactly what was sent', async (t) => {
  let current: SseStream | null = null
  const connected = deferred()
  const { base } = await serve(t, {}, {
    routes: (app) => app.get('/fuzz', (_request, reply) => reply.sse(async (stream) => {
      current = stream
      stream.comment('ready')
      connected.resolve()
      await stream.whenClosed()
    }))
  })
  const source = new EventSource(`${base}/fuzz`)
  t.teardown(() => source.close())
  let received: Received[] = []
  let waiting: (() => void) | null = null
  const listened = new Set<string>()
  const record = (event: Event): void => {
    if (!(event instanceof MessageEvent)) return // the client's own `error`/`open` events
    if (event.type === END) {
      waiting?.()
      return
    }
    received.push({ type: event.type, data: event.data as string, lastEventId: event.lastEventId })
  }
  const listen = (name: string): void => {
    if (listened.has(name)) return
    listened.add(name)
    source.addEventListener(name, record)
  }
  listen('message')
  listen(END)
  await connected.promise
  const stream = current as unknown as SseStream

  let runs = 0
  await fc.assert(fc.asyncProperty(fc.array(messageArb, { maxLength: 8 }), async (batch) => {
    runs++
    received = []
    for (const generated of batch) if (generated.event !== undefined && generated.event !== '') listen(generated.event)
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the end of batch ${runs} never arrived; got ${JSON.stringify(received)}`)), 5000)
      waiting = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    for (const generated of batch) if (!stream.send(toMessage(generated))) throw new Error('the stream closed')
    stream.send({ event: END, data: '' })
    await done
    const wanted = batch.map(expected).filter((item): item is Received => item !== null)
    // Without an id of its own, what lastEventId shows is the client's business (eventsource 4: '').
    const seen = received.map((got, i) => wanted[i]?.lastEventId === null ? { ...got, lastEventId: null } : got)
    if (JSON.stringify(seen) !== JSON.stringify(wanted)) {
      throw new Error(`sent ${JSON.stringify(batch)}\nwanted ${JSON.stringify(wanted)}\ngot ${JSON.stringify(received)}`)
    }
  }), { numRuns: 80 })
  t.equal(runs, 80)
  t.notOk(stream.closed, 'one connection carried every run')
})

t.test('fuzz: event names and ids with CR, LF or NUL are always refused, and nothing reaches the wire', async (t) => {
  const badText = fc.tuple(fieldText, fc.constantFrom('\r', '\n', '\r\n', '\0'), fc.string({ unit: lineChar, maxLength: 8 }))
    .map(([before, bad, after]) => before + bad + after)
  await fc.assert(fc.property(badText, fc.constantFrom('event', 'id'), dataArb, (bad, field, data) => {
    // eslint-disable-next-line nex/no-unsafe-raw -- fuzzes the framing of SafeHtml data; nothing is rendered in a page
    const message: SseMessage = { data: data.kind === 'html' ? raw(data.value) : data.value, [field]: bad }
    let code: unknown
    try {
      formatMessage(message)
    } catch (error) {
      code = (error as { code?: string }).code
    }
    return code === 'FST_NEX_SSE_INVALID_FIELD'
  }), { numRuns: 300 })

  // The same through a stream: send throws, the stream stays usable, and the next event is intact.
  let current: SseStream | null = null
  const connected = deferred()
  const { base } = await serve(t, {}, {
    routes: (app) => app.get('/s', (_request, reply) => reply.sse(async (stream) => {
      current = stream
      stream.comment('ready')
      connected.resolve()
      await stream.whenClosed()
    }))
  })
  const client = await open(base, '/s')
  t.teardown(() => client.close())
  await connected.promise
  const stream = current as unknown as SseStream
  await client.until(/: ready\n\n/)
  const before = client.text.length
  let refused = 0
  await fc.assert(fc.property(badText, fc.constantFrom('event', 'id'), (bad, field) => {
    try {
      stream.send({ data: 'never', [field]: bad })
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_NEX_SSE_INVALID_FIELD') refused++
      return true
    }
    return false
  }), { numRuns: 100 })
  t.equal(refused, 100)
  t.ok(stream.send({ event: 'fine', data: 'ok' }))
  const text = await client.until(/event: fine\n/)
  t.equal(text.slice(before), 'event: fine\ndata: ok\n\n', 'nothing of the refused events was written')
})

t.test('errors are exported as a catalogue', async (t) => {
  t.equal(new errors.FST_NEX_SSE_INVALID_FIELD('event', 'contains a line break').code, 'FST_NEX_SSE_INVALID_FIELD')
  t.ok(new errors.FST_NEX_SSE_INVALID_DATA('a bigint') instanceof TypeError)
})
