import { html, type SafeHtml } from '@nex/html'
import type { Context } from '@nex/routes'

/**
 * The document. `ctx.scripts({ extensions: ['sse'] })` adds htmx 4's SSE extension after htmx and the Nex
 * client: it opens the room's stream (`hx-sse:connect`) and swaps what arrives.
 */
export default function layout (ctx: Context, content: SafeHtml) {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${ctx.head.title ?? 'Nex Chat'}</title>
  <link rel="stylesheet" href="/styles.css">
  ${ctx.scripts({ extensions: ['sse'] })}
</head>
<body>
  <header class="top"><a href="/" data-testid="nav-home">Nex Chat</a></header>
  <div id="flash" class="flash" data-testid="flash" role="alert"></div>
  <main class="container">${content}</main>
</body>
</html>`
}
