import { html, type SafeHtml } from '@nex/html'
import type { Context } from '@nex/routes'

/** The document: htmx 4, the Nex client and htmx's SSE extension (for `hx-sse:connect`). */
export default function layout (ctx: Context, content: SafeHtml) {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="dark">
  <title>${ctx.head.title ?? 'Energy Dashboard'}</title>
  <link rel="stylesheet" href="/styles.css">
  ${ctx.scripts({ extensions: ['sse'] })}
</head>
<body>
  <main class="container">${content}</main>
</body>
</html>`
}
