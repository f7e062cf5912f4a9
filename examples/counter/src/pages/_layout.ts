import { html, type SafeHtml } from '@nex/html'
import type { Context } from '@nex/routes'

export default function layout (ctx: Context, content: SafeHtml) {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${ctx.head.title ?? 'Nex Counter'}</title>
  <link rel="stylesheet" href="/styles.css">
  ${ctx.scripts()}
</head>
<body>
  <main class="container">${content}</main>
</body>
</html>`
}
