import { html } from '@nex/html'
import type { Context, ErrorInfo } from '@nex/routes'

export const head = { title: 'Error' }

/**
 * Errors of every page, action and stream. A full page shows the message in the layout; an htmx
 * request (an action) puts it in the layout's `#flash` box instead of where it aimed (htmx 4 swaps
 * 4xx/5xx answers), so a failed send never replaces the form. Refused messages are not errors: the
 * `send` action answers them with the form itself.
 */
export default function render (ctx: Context, error: ErrorInfo) {
  if (!ctx.fullPage) ctx.retarget('#flash').reswap('innerHTML')
  return html`<section class="error" data-testid="error">
  <h1>${error.statusCode === 404 ? 'Not found' : 'Something went wrong'}</h1>
  <p>${error.message}</p>
  ${error.stack !== undefined && error.statusCode >= 500 ? html`<pre>${error.stack}</pre>` : ''}
  <p><a href="/" data-testid="error-home">All rooms</a></p>
</section>`
}
