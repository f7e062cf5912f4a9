import { html } from '@nex/html'
import type { Context } from '@nex/routes'

/**
 * The logout button: a real form posting to the home page's `logout` action, so it works without
 * JavaScript; with JavaScript the body's `hx-boost` sends it through htmx, which follows HX-Redirect.
 */
export function logoutForm (ctx: Context) {
  return html`<form method="post" action="/?/logout" class="inline" data-testid="auth-logout-form">
  ${ctx.formFields()}
  <button type="submit" data-testid="auth-logout-button">Logout</button>
</form>`
}
