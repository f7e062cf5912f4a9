import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { logoutForm } from '../partials/forms.ts'
import { currentUser, type User } from '../lib/users.ts'

export const head = { title: 'Dashboard' }

/**
 * For logged-in users only: app.js reads `config.auth` once, at startup, and puts a login check in front
 * of this page's routes (anonymous: a flash and a redirect to /login).
 */
export const config = { auth: true }

export async function load (ctx: Context) {
  // A page view counts (a full render: navigation, reload, boosted link), an htmx fragment request does not.
  const visits = ctx.fullPage
    ? await ctx.session.update('visits', 0, n => n + 1)
    : await ctx.session.get('visits', 0)
  return { user: await currentUser(ctx), visits }
}

export default function render (ctx: Context, { user, visits }: { user: User | null, visits: number }) {
  return html`<section data-testid="auth-dashboard-page" class="dashboard">
  <h1>Dashboard</h1>
  <p><a href="/" data-testid="auth-dashboard-home">← Home</a></p>
  <div class="panels">
    <article class="panel">
      <h2>Protected Page</h2>
      <p data-testid="auth-dashboard-user-name">Welcome, ${user?.name ?? 'stranger'}!</p>
    </article>
    <article class="panel">
      <h2>Session Counter</h2>
      <p>Visits in this session: <strong data-testid="auth-dashboard-visit-count">${visits}</strong></p>
      <p class="hint">Reload the page to count up.</p>
    </article>
    <article class="panel">
      <h2>Session Data</h2>
      <pre data-testid="auth-dashboard-session-data">${JSON.stringify(user, null, 2)}</pre>
    </article>
  </div>
  ${logoutForm(ctx)}
</section>`
}
