import { html } from '@nex/html'
import type { Context, ErrorInfo } from '@nex/routes'

export const head = { title: 'Error' }

/**
 * Errors of every page and action. A full page shows the message in the layout; an htmx fragment
 * request (an action) puts it in the layout's `#flash` box instead of wherever the action aimed
 * (htmx 4 swaps 4xx/5xx answers), so a failed toggle never replaces the todo it was about.
 * The stack (development only) is shown for server errors, not for refused requests.
 */
export default function render (ctx: Context, error: ErrorInfo) {
  if (!ctx.fullPage) ctx.retarget('#flash').reswap('innerHTML')
  return html`<section class="error" data-testid="error">
  <h1>${error.statusCode === 404 ? 'Not found' : 'Something went wrong'}</h1>
  <p>${error.message}</p>
  ${error.stack !== undefined && error.statusCode >= 500 ? html`<pre>${error.stack}</pre>` : ''}
</section>`
}
