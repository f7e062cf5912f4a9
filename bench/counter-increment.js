// The counter's `increment` action (POST /?/increment from htmx, with the page id header and the form's
// hidden field) through Nex vs a hand-written Fastify route doing the same work (verify the page id with
// the signer, atomic update in a memory store, same fragment and headers). One page view (its own id,
// from a GET of the page) per autocannon connection, on both sides. Last line: ratio=<nex/reference>.
import { assertSameHeaders, fetchText, httpBenchmark, runBenchmark, settings } from './lib/harness.js'

const PAGE_ID = /data-nex-page-id="([\w-]+\.[\w-]+)"/
const FORM = 'application/x-www-form-urlencoded'

/** One page view of `server`: GET / and read its page id, as a browser does before clicking. */
async function openPage (server) {
  const { status, body } = await fetchText(server.url + '/')
  const id = PAGE_ID.exec(body)?.[1]
  if (status !== 200 || id === undefined) throw new Error(`${server.name}: GET / gave ${status} without a page id`)
  return id
}

/** What htmx 4 sends for `hx-post="?/increment"` on the counter's form: headers and the hidden field. */
function incrementRequest (pageId) {
  return {
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': FORM },
    body: `_nex_page=${encodeURIComponent(pageId)}`
  }
}

async function post (server, pageId) {
  return await fetchText(server.url + '/?/increment', { method: 'POST', ...incrementRequest(pageId) })
}

async function prepare ({ reference, ours }, launch) {
  // The check uses a page view of its own on each side, so both answer with a count of 1 then 2.
  const check = { reference: await openPage(reference), ours: await openPage(ours) }
  for (const expected of [1, 2]) {
    const a = await post(reference, check.reference)
    const b = await post(ours, check.ours)
    if (a.status !== 200 || b.status !== 200) throw new Error(`POST /?/increment status: reference ${a.status}, nex ${b.status}`)
    assertSameHeaders(a, b, ['content-type', 'vary', 'cache-control', 'content-length'])
    if (a.body !== b.body || !a.body.includes(`>${expected}</div>`)) throw new Error(`fragments differ: ${a.body} vs ${b.body}`)
  }
  // Both refuse a page id they never issued.
  const forged = 'A'.repeat(22) + '.' + 'B'.repeat(22)
  const fa = await post(reference, forged)
  const fb = await post(ours, forged)
  if (fa.status !== 410 || fb.status !== 410) throw new Error(`forged page id: reference ${fa.status}, nex ${fb.status} (want 410)`)
  if (launch === 0) console.log('check: same #counter-display fragment (count 1, then 2), same headers; both refuse a forged id (410)')

  const perClient = async (server) => {
    const list = []
    for (let i = 0; i < settings.connections; i++) list.push(incrementRequest(await openPage(server)))
    return list
  }
  const request = (list) => ({ method: 'POST', path: '/?/increment', headers: list[0].headers, body: list[0].body, perClient: list })
  if (launch === 0) console.log(`page views: one per connection (${settings.connections} per side), each from a GET of the page`)
  return { reference: request(await perClient(reference)), ours: request(await perClient(ours)) }
}

runBenchmark(() => httpBenchmark({ title: 'counter-increment: POST /?/increment (htmx partial), Nex vs hand-written Fastify', prepare }))
