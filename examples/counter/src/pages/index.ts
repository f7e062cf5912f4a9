import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { counterDisplay } from '../partials/counter-display.ts'

export const head = { title: 'Counter' }

/** The count of this page view: every full page load starts a new view at 0. */
export async function load (ctx: Context) {
  return { count: await ctx.state.get('count', 0) }
}

export const actions = {
  increment: async (ctx: Context) => counterDisplay(await ctx.state.update('count', 0, n => n + 1)),
  decrement: async (ctx: Context) => counterDisplay(await ctx.state.update('count', 0, n => Math.max(0, n - 1))),
  reset: async (ctx: Context) => {
    await ctx.state.set('count', 0)
    return counterDisplay(0)
  }
}

/** One button: a real form (works without JavaScript) that htmx turns into an in-place update. */
function actionButton (ctx: Context, action: string, label: string, testId: string, title: string) {
  return html`<form method="post" action="?/${action}" hx-post="?/${action}" hx-target="#counter-display" hx-swap="outerHTML">
    ${ctx.formFields()}<button type="submit" data-testid="${testId}" aria-label="${title}">${label}</button>
  </form>`
}

export default function render (ctx: Context, data: { count: number }) {
  return html`<section data-testid="counter-page" class="counter">
  <h1>Counter</h1>
  ${counterDisplay(data.count)}
  <div class="buttons">
    ${actionButton(ctx, 'decrement', '-', 'counter-decrement', 'Decrement')}
    ${actionButton(ctx, 'reset', 'Reset', 'counter-reset', 'Reset')}
    ${actionButton(ctx, 'increment', '+', 'counter-increment', 'Increment')}
  </div>
  <p class="hint">The count belongs to this page view: another tab counts on its own, a reload starts at 0.</p>
</section>`
}
