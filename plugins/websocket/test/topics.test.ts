// Topics: sockets subscribe through the app's event log; publish reaches subscribers only; every
// subscription is released when its socket closes.
import t from 'tap'
import { createMemoryEventLog, createMemoryPubSub, type EventLog, type MemoryPubSub } from '@nex/pubsub'
import type { Unsubscribe } from '../src/index.js'
import { captureLogs, connect, sleep, startServer, waitFor } from './helpers.js'

/** A real in-process log whose bus tells how many topics have subscribers. */
function observableLog (): { topics: EventLog, bus: MemoryPubSub } {
  const bus = createMemoryPubSub()
  return { topics: createMemoryEventLog({ pubsub: bus }), bus }
}

t.test('publish reaches the two subscribed sockets, not the unsubscribed one; subscriptions end with their sockets', async (t) => {
  const { topics, bus } = observableLog()
  t.teardown(async () => { await topics.close(); await bus.close() })
  const { url, app } = await startServer(t, { topics }, (app) => {
    app.nexWebSocket.route('/news', async (socket) => {
      if (socket.request.query && (socket.request.query as Record<string, string>).subscribe === 'no') {
        socket.send('ready')
        return
      }
      await socket.subscribe('news')
      socket.send('ready')
    })
  })
  t.equal(app.nexTopics, topics, 'the log given is the app\'s nexTopics')

  const a = await connect(`${url}/news`)
  const b = await connect(`${url}/news`)
  const outsider = await connect(`${url}/news?subscribe=no`)
  for (const client of [a, b, outsider]) t.equal(await client.next(), 'ready')
  t.equal(bus.topicCount, 1)

  await app.nexWebSocket.publish('news', { event: 'headline', data: { title: 'Hello' } })
  await app.nexWebSocket.publish('news', 'plain text')
  await app.nexWebSocket.publish('news', [1, 2, 3])
  for (const client of [a, b]) {
    t.equal(await client.next(), '{"title":"Hello"}', 'the data of { event, data }, as JSON')
    t.equal(await client.next(), 'plain text', 'a string as a text frame')
    t.equal(await client.next(), '[1,2,3]', 'any other message whole, as JSON')
  }
  await sleep(50)
  t.equal(outsider.messages.length, 1, 'the unsubscribed socket got nothing')

  a.ws.close()
  await a.closed
  await sleep(50)
  t.equal(bus.topicCount, 1, 'b still subscribed')
  await app.nexWebSocket.publish('news', 'after a left')
  t.equal(await b.next(), 'after a left')
  await sleep(50)
  t.equal(a.messages.length, 4, 'nothing delivered after close')

  b.ws.terminate()
  await b.closed
  await waitFor(() => bus.topicCount === 0, 2000, 'the subscriptions to be released')
  t.equal(app.nexWebSocket.connections, 1)
  outsider.ws.close()
})

t.test('a socket closed while its subscribe is in flight releases it anyway', async (t) => {
  const { topics: inner, bus } = observableLog()
  t.teardown(async () => { await inner.close(); await bus.close() })
  // The same log, answering subscribe slowly (like a remote bus).
  const topics: EventLog = {
    append: async (topic, message) => await inner.append(topic, message),
    since: async (topic, after) => await inner.since(topic, after),
    close: async () => {},
    subscribe: async (topic, handler) => {
      const unsubscribe = await inner.subscribe(topic, handler)
      await sleep(100)
      return unsubscribe
    }
  }
  let resolved: Unsubscribe | undefined
  const { url } = await startServer(t, { topics }, (app) => {
    app.nexWebSocket.route('/slow', async (socket) => {
      socket.send('subscribing')
      resolved = await socket.subscribe('slow')
    })
  })
  const client = await connect(`${url}/slow`)
  t.equal(await client.next(), 'subscribing')
  client.ws.close()
  await client.closed
  await waitFor(() => resolved !== undefined, 2000, 'subscribe to resolve')
  t.equal(bus.topicCount, 0, 'released as soon as it resolved')
  await resolved?.()
  t.pass('calling the unsubscribe again is harmless')
})

t.test('custom topic handlers, unsubscribe, socket.publish, and a failing handler closing with 1011', async (t) => {
  const { topics, bus } = observableLog()
  t.teardown(async () => { await topics.close(); await bus.close() })
  const { logger, entries } = captureLogs()
  const { url, app } = await startServer(t, { topics }, (app) => {
    app.nexWebSocket.route('/chat', {
      async open (socket) {
        let unsubscribe: Unsubscribe | undefined
        unsubscribe = await socket.subscribe('chat', async (message, topic, id) => {
          if (message === 'boom') throw new Error('handler exploded')
          socket.send({ topic, message, id: typeof id })
          if (message === 'last') {
            await unsubscribe?.()
            unsubscribe = undefined
          }
        })
        socket.send('ready')
      },
      async message (socket, data) {
        const id = await socket.publish('chat', { from: 'socket', text: String(data) })
        socket.send(`published ${typeof id}`)
      }
    })
  }, { logger })

  const client = await connect(`${url}/chat`)
  t.equal(await client.next(), 'ready')
  client.ws.send('hi all')
  const replies = [await client.next(), await client.next()].sort()
  t.same(replies, ['published number', '{"topic":"chat","message":{"from":"socket","text":"hi all"},"id":"number"}'])

  await app.nexWebSocket.publish('chat', 'last')
  t.equal(await client.next(), '{"topic":"chat","message":"last","id":"number"}')
  await waitFor(() => bus.topicCount === 0, 2000, 'the handler to unsubscribe itself')
  await app.nexWebSocket.publish('chat', 'unheard')
  await sleep(50)
  t.equal(client.messages.length, 4)
  client.ws.close()

  const failing = await connect(`${url}/chat`)
  t.equal(await failing.next(), 'ready')
  await app.nexWebSocket.publish('chat', 'boom')
  t.same(await failing.closed, { code: 1011, reason: 'internal error' })
  await waitFor(() => bus.topicCount === 0)
  t.ok(entries.some((entry) => entry.level === 50 && entry.err?.message === 'handler exploded'), 'logged')
})

t.test('without a topics option the app gets an in-process nexTopics, closed with the app', async (t) => {
  const { url, app } = await startServer(t, {}, (app) => {
    app.nexWebSocket.route('/t', async (socket) => {
      await socket.subscribe('t')
      socket.send('ready')
    })
  })
  t.type(app.nexTopics.append, 'function')
  const client = await connect(`${url}/t`)
  t.equal(await client.next(), 'ready')
  await app.nexTopics.append('t', { data: 'through the log directly' })
  t.equal(await client.next(), 'through the log directly')
  client.ws.close()
  await client.closed
  await app.close()
  await t.rejects(app.nexTopics.append('t', 'x'), { code: 'FST_NEX_PUBSUB_CLOSED' })
})

t.test('publish refuses what is not JSON with the pubsub error', async (t) => {
  const { app } = await startServer(t, {}, () => {})
  await t.rejects(app.nexWebSocket.publish('t', { when: new Date() } as never), { code: 'FST_NEX_PUBSUB_NOT_JSON' })
})
