import { html } from '@nex/html'

/** The element every action answers with: htmx swaps it in place (outerHTML). */
export function counterDisplay (count: number) {
  return html`<div id="counter-display" data-testid="counter-value" class="counter-value" aria-live="polite">${count}</div>`
}
