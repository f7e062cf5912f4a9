import { html, type SafeHtml } from '@nex/html'
import type { Context } from '@nex/routes'
import { themeOf } from '../lib/theme.ts'
import { currentUser } from '../lib/users.ts'

/** Flash types shown, in this order; each gets its own box (`auth-flash-<type>`). */
const FLASH_TYPES = ['error', 'info', 'success'] as const

/**
 * The document. Flash messages are taken from the session here, so each shows on exactly one full page
 * (htmx fragment requests render no layout and leave them waiting). The theme cookie picks the colours.
 * `hx-boost:inherited="true"` turns links and forms into htmx requests (htmx 4 inheritance is explicit).
 */
export default async function layout (ctx: Context, content: SafeHtml) {
  const [flashes, user] = await Promise.all([ctx.session.takeFlashes(), currentUser(ctx)])
  return html`<!doctype html>
<html lang="en" data-theme="${themeOf(ctx)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${ctx.head.title ?? 'Nex Auth Demo'}</title>
  <link rel="stylesheet" href="/styles.css">
  ${ctx.scripts()}
</head>
<body hx-boost:inherited="true">
  <nav class="nav" aria-label="Main">
    <a href="/" data-testid="nav-home">Home</a>
    <a href="/dashboard" data-testid="nav-dashboard">Dashboard</a>
    ${user === null ? html`<a href="/login" data-testid="nav-login">Login</a>` : html`<span class="nav-user" data-testid="nav-user">${user.name}</span>`}
  </nav>
  <div id="flashes" class="flashes">
    ${FLASH_TYPES.filter(type => flashes[type] !== undefined).map(type => html`<div class="flash flash-${type}" data-testid="auth-flash-${type}" role="${type === 'error' ? 'alert' : 'status'}">
      ${(flashes[type] ?? []).map(message => html`<p>${message}</p>`)}
    </div>`)}
  </div>
  <main class="container">${content}</main>
</body>
</html>`
}
