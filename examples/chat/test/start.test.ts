// `npm start` (node server.js) in development and production, over a real socket; and the room page, its
// event stream and its action served by the started process, under the preset's security: the page has a
// strict CSP that allows only the site's own script files, and a send carries the page's CSRF cookie and
// token like a browser.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { startSuite } from '../../../test/helpers/start-suite.ts'
import { httpRequest, startServer } from '../../../test/helpers/server-process.ts'
import { csrfFrom, REFUSED } from '../../../test/helpers/csrf.ts'
import { connectSse } from './helpers/sse-client.ts'

const DIR = fileURLToPath(new URL('..', import.meta.url))

startSuite(t, { dir: DIR, marker: 'data-testid="rooms-page"' })

t.test('npm start serves /rooms/lobby, its stream and its action', async t => {
  const server = await startServer(t, DIR, { NEX_SECRET: 'a-secret-for-the-chat-start-test-0123456789' })
  const page = await httpRequest(server.host, server.port, '/rooms/lobby')
  t.equal(page.status, 200)
  t.match(page.body, 'data-testid="chat-messages"')
  t.match(page.body, 'hx-sse:connect="?/stream&amp;after=0"')
  const pageId = /data-nex-page-id="([^"]+)"/.exec(page.body)?.[1] as string
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, "script-src 'self'; script-src-attr 'none'", 'a strict CSP: scripts of this site only')
  t.notMatch(csp, /'nonce-|'unsafe-/, 'no nonce and nothing unsafe in it')
  t.match(page.body, '<script src="/_nex/htmx@4.0.1/ext/hx-sse.min.js" defer></script>', 'the scripts are files of this site')
  t.notMatch(page.body, /<script(?![^>]*\bsrc="\/_nex\/)|\bnonce=/, 'none inline, none with a nonce')
  const csrf = csrfFrom(page)

  const stream = await connectSse(`http://${server.host}:${server.port}/rooms/lobby?/stream&after=0`)
  t.teardown(() => stream.close())
  t.equal(stream.contentType, 'text/event-stream; charset=utf-8')
  const htmxSend = (text: string, headers: Record<string, string>) => httpRequest(server.host, server.port, '/rooms/lobby?/send', {
    method: 'POST',
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ author: 'npm', text }).toString()
  })
  const refused = await htmxSend('forged', { cookie: csrf.cookie })
  t.equal(refused.status, 403, 'a send without the CSRF token is refused')
  t.match(refused.body, REFUSED.csrfMissing, 'FST_NEX_SECURITY_CSRF_MISSING')
  const sent = await htmxSend('started', { ...csrf })
  t.equal(sent.status, 200, 'send answers')
  const [event, ...more] = (await stream.until(event => event.data.includes('started'))).reverse()
  t.match(event?.data, '<strong class="author" data-testid="chat-message-author">npm</strong>', 'the stream delivers the message')
  t.same(more, [], 'and only that one: the refused send was not published')

  // An open stream must not keep the process from stopping.
  t.same(await server.stop(), { code: 0, signal: null }, 'SIGTERM with a stream open: exit code 0')
  await t.rejects(stream.until(() => false, 2000), /ended|terminated|abort/i, 'the stream was ended')
  t.match(stream.events.at(-1), { event: 'shutdown' }, 'with the shutdown event')
})
