import { html, type SafeHtml } from '@nex/html'
import type { Context } from '@nex/routes'

const LINKS = [
  { href: '/', label: 'Todos', testId: 'nav-todos' },
  { href: '/about', label: 'About', testId: 'nav-about' }
]

/**
 * The document. `hx-boost:inherited="true"` (htmx 4 inheritance is explicit) turns the nav links into
 * htmx navigations that swap the body; each one renders a new page view with its own page id.
 */
export default function layout (ctx: Context, content: SafeHtml) {
  const current = ctx.request.routeOptions.url
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${ctx.head.title ?? 'Nex Todos'}</title>
  <link rel="stylesheet" href="/styles.css">
  ${ctx.scripts()}
</head>
<body hx-boost:inherited="true">
  <nav class="nav" aria-label="Main">
    ${LINKS.map(link => html`<a href="${link.href}" data-testid="${link.testId}"${link.href === current ? html` aria-current="page"` : ''}>${link.label}</a>`)}
  </nav>
  <div id="flash" class="flash" data-testid="flash" role="alert"></div>
  <main class="container">${content}</main>
</body>
</html>`
}
