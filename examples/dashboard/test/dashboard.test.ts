// The dashboard: the page through app.inject, the event stream over a real socket (the raw
// text/event-stream, read frame by frame): tick formats and order, two clients getting the same bytes,
// and a shutdown that stops the producer and ends every stream. The app runs the `nex` preset: the page's
// scripts carry the reply's CSP nonce, and the stream passes the security checks a browser's request meets.
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../app.js'
import { CYCLE_SECONDS, secondOf } from '../src/lib/energy.ts'
import { nextTick, openStream, POINTS, PRICE, secondsAgo, step, textOf, ticks, TIME, type Tick } from './helpers/event-stream.ts'

async function app (t: Test): Promise<FastifyInstance> {
  const instance = await build({ logger: false })
  t.teardown(async () => await instance.close())
  await instance.ready()
  return instance
}

/** The app listening on a free port of 127.0.0.1: its base URL. */
async function listening (t: Test): Promise<{ server: FastifyInstance, base: string }> {
  const server = await build({ logger: false })
  t.teardown(async () => await server.close())
  await server.listen({ port: 0, host: '127.0.0.1' })
  return { server, base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` }
}

t.test('building the app emits no warnings', async t => {
  const warnings: string[] = []
  const onWarning = (warning: Error & { code?: string }): void => { warnings.push(`${warning.code ?? warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  await app(t)
  await new Promise(resolve => setImmediate(resolve)) // warnings are emitted on the next tick
  t.same(warnings, [], 'no process warnings')
})

t.test('the page: the panel that connects the stream, the three live values, the cards', async t => {
  const server = await app(t)
  const response = await server.inject('/')
  const { body } = response
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.match(body, /^<!doctype html>/i, 'a whole document')
  t.match(body, '<title>Energy Dashboard</title>')
  t.match(body, '<h1>⚡ Energy Dashboard</h1>')
  // The CSP of @nex/security: scripts of this site only, nothing inline, so no nonce is needed.
  const csp = String(response.headers['content-security-policy'])
  t.match(csp, "script-src 'self'; script-src-attr 'none'", `a CSP that allows scripts of this site only: ${csp}`)
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'neither inline code nor eval is allowed')
  t.notMatch(csp, /'nonce-/, 'nor a script with a nonce: the page needs none')
  t.match(csp, "connect-src 'self'", 'the stream is on this origin, which connect-src allows')
  t.match(body, '<script src="/_nex/htmx@4.0.1/htmx.min.js"></script>', 'htmx 4, a file of this site')
  t.match(body, '<script src="/_nex/htmx@4.0.1/ext/hx-sse.min.js" defer></script>', 'and its SSE extension')
  const scripts = [...body.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag)
  t.equal(scripts.length, 3, 'htmx, the Nex client and the SSE extension')
  t.ok(scripts.every(tag => / src="\/_nex\//.test(tag) && !/\bnonce=/.test(tag)), 'every script is a file of this site, without a nonce')
  t.equal((await server.inject('/')).headers['content-security-policy'], csp, 'the same CSP for every reply: no per-reply nonce')
  t.match(body, /<section class="panel"[^>]* hx-sse:connect="\/api\/energy-stream">/, 'the panel opens the stream')

  t.equal(textOf(body, 'energy-price'), 'Loading...', 'the price waits for the first tick')
  t.match(body, /data-testid="energy-price"[^>]*>Loading\.\.\.<\/span> <span class="unit">\$\/MWh<\/span>/, 'the unit sits outside the price')
  const time = textOf(body, 'energy-time')
  t.match(time, TIME, 'the time starts at the server time')
  t.ok(secondsAgo(time) <= 2, `${time} is now`)
  const points = textOf(body, 'energy-data-points')
  t.match(points, POINTS)
  t.ok(step(points, String(secondOf(Date.now()) % CYCLE_SECONDS)) <= 2, 'the data points start at the seconds since the hour began')
  t.match(body, '<dt>Update rate</dt><dd class="stat-value">1s</dd>')
  t.match(body, '<dt>Cycle</dt><dd class="stat-value">60m</dd>')
  t.equal(body.match(/<article class="card">/g)?.length, 3, 'three explanatory cards')

  t.notMatch(body, /<script(?![^>]*\ssrc=)/, 'no inline scripts')
  t.notMatch(body, /hx-on|js:|\son[a-z]+=/i, 'no inline handlers or js: values (CSP without unsafe-eval)')
  t.notMatch(body, /\sstyle=|<style/, 'no inline styles (the CSP would block them)')

  t.equal((await server.inject('/_nex/htmx@4.0.1/ext/hx-sse.min.js')).statusCode, 200, 'the extension is served')
  t.equal((await server.inject('/styles.css')).statusCode, 200, 'static files are served')
  t.equal((await server.inject('/favicon.ico')).statusCode, 200, 'and so is the icon browsers ask for')
})

t.test('the stream: one unnamed out-of-band message per second, in order', async t => {
  const { base } = await listening(t)
  const stream = await openStream(t, base)
  const seen = await ticks(stream, 4)
  for (const tick of seen) {
    t.match(tick.price, PRICE, `price ${tick.price}`)
    t.match(tick.time, TIME, `time ${tick.time}`)
    t.match(tick.dataPoints, POINTS, `data points ${tick.dataPoints}`)
    t.ok(tick.lag <= 1, `${tick.time} arrived in its second (lag ${tick.lag} s)`)
    t.equal(Number(tick.dataPoints), Number(tick.time.slice(3, 5)) * 60 + Number(tick.time.slice(6, 8)), 'data points are the seconds since the hour began')
    for (const id of ['price', 'time', 'data-points']) {
      t.match(tick.frame, new RegExp(`<[a-z]+ id="${id}" [^>]*data-testid="energy-${id}" hx-swap-oob="true">`), `#${id} is swapped out of band, keeping its test id`)
    }
  }
  const steps = seen.slice(1).map((tick, i) => step((seen[i] as Tick).dataPoints, tick.dataPoints))
  t.ok(steps.every(s => s === 1 || s === 2), `each tick is the next second (a skipped one tolerated under load): steps ${steps.join(', ')}`)
  t.ok(steps.filter(s => s === 1).length >= 2, 'mostly one second apart')
})

t.test('two clients connected at once get byte-identical events for each tick', async t => {
  const { server, base } = await listening(t)
  const [a, b] = await Promise.all([openStream(t, base), openStream(t, base)])
  t.equal(server.nexSse.streams, 2, 'two streams open')
  const [seenA, seenB] = await Promise.all([ticks(a, 4), ticks(b, 4)])
  const framesOfB = new Map(seenB.map(tick => [tick.dataPoints, tick.frame]))
  const shared = seenA.filter(tick => framesOfB.has(tick.dataPoints))
  t.ok(shared.length >= 3, `both saw the same seconds (${shared.length} of 4 in common)`)
  for (const tick of shared) t.equal(framesOfB.get(tick.dataPoints), tick.frame, `second ${tick.dataPoints}: the same bytes`)
})

t.test('closing the app stops the producer and ends every stream with event: shutdown', async t => {
  const { server, base } = await listening(t)
  const stream = await openStream(t, base)
  await nextTick(stream)

  let published = 0
  const publish = server.nexSse.publish
  server.nexSse.publish = async (topic, event) => {
    published++
    return await publish(topic, event)
  }
  const started = performance.now()
  await server.close()
  const took = performance.now() - started
  t.ok(took < 1_000, `close() resolved promptly (${Math.round(took)} ms)`)

  const rest: string[] = []
  for (let frame = await stream.next(); frame !== null; frame = await stream.next()) rest.push(frame)
  t.match(rest.at(-1), /^event: shutdown$/m, 'the last event is the shutdown')
  t.equal(server.nexSse.streams, 0, 'no stream is left open')

  const before = published
  await sleep(1_500)
  t.equal(published, before, 'no tick was published after close: the timer is gone')
})

t.test('a stream from another origin is refused; a same-origin browser request passes every check', async t => {
  const { server, base } = await listening(t)
  const response = await server.inject({ url: '/api/energy-stream', headers: { origin: 'https://elsewhere.example' } })
  t.equal(response.statusCode, 403)
  t.equal(server.nexSse.streams, 0)
  // What Chromium's EventSource sends to its own origin.
  const stream = await openStream(t, base, { accept: 'text/event-stream', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: base })
  t.match((await nextTick(stream)).price, PRICE, 'a same-origin stream gets its ticks')
  t.equal(server.nexSse.streams, 1)
})
