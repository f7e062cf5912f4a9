// The reference: the counter page and its `increment` action written by hand on plain Fastify, doing the
// same work as Nex without it: a signed page id from @nex/state's signer (same secret), the same markup
// from the same @nex/html `html` tag, the same memory store (plugin defaults), the same headers.
// Templates below mirror examples/counter/src/pages/_layout.ts, index.ts and partials/counter-display.ts
// character for character; the benchmark checks that both servers send the same body.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createServer } from 'nex'
import formBody from '@fastify/formbody'
import { html } from '@nex/html'
import { createMemoryStore, createPageIdSigner } from '@nex/state'

const require = createRequire(import.meta.url)
const HTML = 'text/html; charset=utf-8'
const VARY = 'HX-Request, HX-Request-Type'
const FIELD = '_nex_page'
const HEADER = 'x-nex-page-id'

/** The asset URLs Nex serves (htmx version, hash of the Nex client): fixed strings in a hand-written app. */
function scriptTags () {
  const { version } = JSON.parse(readFileSync(require.resolve('htmx.org/package.json'), 'utf8'))
  const clientFile = join(dirname(require.resolve('@nex/routes/package.json')), 'client', 'nex-client.js')
  const hash = createHash('sha256').update(readFileSync(clientFile)).digest('base64url').slice(0, 12)
  return html`<script src="${`/_nex/htmx@${version}/htmx.min.js`}"></script><script src="${`/_nex/client@${hash}/nex-client.js`}" defer></script>`
}

function layout (title, scripts, content) {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="stylesheet" href="/styles.css">
  ${scripts}
</head>
<body>
  <main class="container">${content}</main>
</body>
</html>`
}

function counterDisplay (count) {
  return html`<div id="counter-display" data-testid="counter-value" class="counter-value" aria-live="polite">${count}</div>`
}

function formFields (pageId) {
  return html`<input type="hidden" name="${FIELD}" value="${pageId}">`
}

function actionButton (pageId, action, label, testId, title) {
  return html`<form method="post" action="?/${action}" hx-post="?/${action}" hx-target="#counter-display" hx-swap="outerHTML">
    ${formFields(pageId)}<button type="submit" data-testid="${testId}" aria-label="${title}">${label}</button>
  </form>`
}

function page (pageId, count) {
  return html`<section data-testid="counter-page" class="counter">
  <h1>Counter</h1>
  ${counterDisplay(count)}
  <div class="buttons">
    ${actionButton(pageId, 'decrement', '-', 'counter-decrement', 'Decrement')}
    ${actionButton(pageId, 'reset', 'Reset', 'counter-reset', 'Reset')}
    ${actionButton(pageId, 'increment', '+', 'counter-increment', 'Increment')}
  </div>
  <p class="hint">The count belongs to this page view: another tab counts on its own, a reload starts at 0.</p>
</section>`
}

export async function create () {
  const secret = process.env.NEX_SECRET
  if (secret === undefined) throw new Error('NEX_SECRET must be set (the benchmark sets it)')
  const signer = createPageIdSigner([secret])
  const store = createMemoryStore()
  const scripts = scriptTags()

  // The same hardened server as the example (createServer(): timeouts, body and JSON limits, the
  // handler timeout): what the benchmarks compare is the work of a request, not the server settings.
  const app = createServer({ logger: false })
  await app.register(formBody)
  app.addHook('onClose', async () => store.close())

  app.get('/', async (request, reply) => {
    const pageId = signer.issue()
    const count = (await store.get(pageId, 'count')) ?? 0
    // The page-id wrapper of render.ts, through `html` (no raw()): the signed id has no character to
    // escape, so the body is the same, character for character.
    const markup = layout('Counter', scripts, html`<div data-nex-page-id="${pageId}">${page(pageId, count)}</div>`).value
    return reply.header('vary', VARY).header('cache-control', 'private, no-cache').type(HTML).send(markup)
  })

  app.post('/', async (request, reply) => {
    const url = request.raw.url
    if (url.slice(url.indexOf('?')) !== '?/increment') return reply.code(404).send()
    const pageId = request.headers[HEADER]
    if (typeof pageId !== 'string' || !signer.verify(pageId)) return reply.code(410).header('hx-refresh', 'true').send()
    const count = await store.update(pageId, 'count', 0, n => n + 1)
    return reply.header('vary', VARY).header('cache-control', 'private, no-cache').type(HTML).send(counterDisplay(count).value)
  })

  return app
}
