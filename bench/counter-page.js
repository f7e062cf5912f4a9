// GET / of the counter example through Nex vs a hand-written Fastify route doing the same work
// (signed page id, same markup with the same html tag, same headers). Last line: ratio=<nex/reference>.
import { assertSameHeaders, fetchText, httpBenchmark, runBenchmark } from './lib/harness.js'

const PAGE_ID = /data-nex-page-id="([\w-]+\.[\w-]+)"/

/** The body with its page id replaced by a fixed placeholder of the same length. */
function withoutId (body) {
  const id = PAGE_ID.exec(body)?.[1]
  if (id === undefined) throw new Error('no data-nex-page-id in the page')
  return { id, body: body.replaceAll(id, '#'.repeat(id.length)) }
}

async function prepare ({ reference, ours }, launch) {
  const a = await fetchText(reference.url + '/')
  const b = await fetchText(ours.url + '/')
  if (a.status !== 200 || b.status !== 200) throw new Error(`GET / status: reference ${a.status}, nex ${b.status}`)
  assertSameHeaders(a, b, ['content-type', 'vary', 'cache-control', 'content-length'])
  const ra = withoutId(a.body)
  const rb = withoutId(b.body)
  if (a.body.length !== b.body.length || ra.body !== rb.body) {
    throw new Error(`bodies differ apart from the page id (${a.body.length} vs ${b.body.length} chars)`)
  }
  const fields = (rb.body.match(/type="hidden" name="_nex_page"/g) ?? []).length
  const scripts = (rb.body.match(/<script /g) ?? []).length
  if (launch === 0) {
    console.log(`check: both send ${Buffer.byteLength(a.body)} bytes, identical apart from the page id ` +
      `(wrapper + ${fields} hidden fields + ${scripts} script tags), same content-type/vary/cache-control`)
  }
  const request = { method: 'GET', path: '/' }
  return { reference: request, ours: request }
}

runBenchmark(() => httpBenchmark({ title: 'counter-page: GET / of examples/counter, Nex vs hand-written Fastify', prepare }))
