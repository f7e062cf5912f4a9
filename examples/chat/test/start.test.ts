// `npm start` (node server.js) in development and production, over a real socket; and the room page and
// its event stream served by the started process.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { startSuite } from '../../../test/helpers/start-suite.ts'
import { httpRequest, startServer } from '../../../test/helpers/server-process.ts'
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

  const stream = await connectSse(`http://${server.host}:${server.port}/rooms/lobby?/stream&after=0`)
  t.teardown(() => stream.close())
  t.equal(stream.contentType, 'text/event-stream; charset=utf-8')
  const sent = await httpRequest(server.host, server.port, '/rooms/lobby?/send', {
    method: 'POST',
    headers: { 'hx-request': 'true', 'hx-request-type': 'partial', 'x-nex-page-id': pageId, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ author: 'npm', text: 'started' }).toString()
  })
  t.equal(sent.status, 200, 'send answers')
  const [event] = await stream.until(event => event.data.includes('started'))
  t.match(event?.data, '<strong class="author" data-testid="chat-message-author">npm</strong>', 'the stream delivers the message')

  // An open stream must not keep the process from stopping.
  t.same(await server.stop(), { code: 0, signal: null }, 'SIGTERM with a stream open: exit code 0')
  await t.rejects(stream.until(() => false, 2000), /ended|terminated|abort/i, 'the stream was ended')
  t.match(stream.events.at(-1), { event: 'shutdown' }, 'with the shutdown event')
})
