import { html } from '@nex/html'
import type { Context, ErrorInfo } from '@nex/routes'

export const head = { title: 'Error' }

/**
 * Errors of every page and action: the message in the layout for a full page; for an htmx fragment
 * request, in the flash area instead of wherever the request aimed (htmx 4 swaps 4xx/5xx answers).
 * The stack (development only) is shown for server errors.
 */
export default function render (ctx: Context, error: ErrorInfo) {
  if (!ctx.fullPage) ctx.retarget('#flashes').reswap('innerHTML')
  return html`<section class="error" data-testid="error">
  <h1>${error.statusCode === 404 ? 'Not found' : 'Something went wrong'}</h1>
  <p>${error.message}</p>
  ${error.stack !== undefined && error.statusCode >= 500 ? html`<pre>${error.stack}</pre>` : ''}
</section>`
}
