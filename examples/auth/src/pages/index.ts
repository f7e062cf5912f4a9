import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { logoutForm } from '../partials/forms.ts'
import { parseTheme, setThemeCookie, themeOf, THEMES, type Theme } from '../lib/theme.ts'
import { currentUser, type User } from '../lib/users.ts'

export const head = { title: 'Nex Auth Demo' }

export async function load (ctx: Context) {
  return { user: await currentUser(ctx), theme: themeOf(ctx) }
}

export const actions = {
  /**
   * Destroys the session, then flashes: the flash goes into a new session, so it survives the redirect.
   * Posted from every page (`action="/?/logout"`).
   */
  logout: async (ctx: Context) => {
    await ctx.session.destroy()
    await ctx.session.flash('success', 'Logged out successfully.')
    return ctx.redirect('/')
  },
  /** Sets the theme cookie. Anything but light or dark is refused: 400 and the page with a message. */
  theme: async (ctx: Context) => {
    const theme = parseTheme(ctx.body.theme)
    if (theme === null) {
      ctx.locals.themeError = 'Unknown theme: choose light or dark.'
      ctx.status(400)
      return undefined
    }
    setThemeCookie(ctx, theme)
    await ctx.session.flash('info', `Theme set to ${theme}!`)
    return ctx.redirect('/')
  }
}

const LABELS: Record<Theme, string> = { light: 'Set Light Theme', dark: 'Set Dark Theme' }

export default function render (ctx: Context, { user, theme }: { user: User | null, theme: Theme }) {
  const themeError = ctx.locals.themeError as string | undefined
  return html`<section data-testid="auth-home-page" class="home">
  <h1>Nex Auth Demo</h1>
  <p class="subtitle">Verifying: Session, Cookie, Flash</p>
  <div class="panels">
    <article class="panel">
      <h2>Session</h2>
      ${user === null
        ? html`<p data-testid="auth-session-state">Not logged in</p>`
        : html`<p data-testid="auth-session-state">Logged in as: ${user.name}</p>
      <p class="muted" data-testid="auth-session-email">${user.email}</p>`}
    </article>
    <article class="panel">
      <h2>Cookie</h2>
      <p>Theme: <strong data-testid="auth-theme-value">${theme}</strong></p>
      ${themeError === undefined ? '' : html`<p class="form-error" role="alert" data-testid="auth-theme-error">${themeError}</p>`}
      <div class="buttons">
        ${THEMES.map(value => html`<form method="post" action="?/theme" class="inline">
          ${ctx.formFields()}
          <input type="hidden" name="theme" value="${value}">
          <button type="submit" data-testid="auth-theme-${value}">${LABELS[value]}</button>
        </form>`)}
      </div>
    </article>
    <article class="panel">
      <h2>Actions</h2>
      <div class="buttons">
        ${user === null
          ? html`<a class="button" href="/login" data-testid="auth-login-link">Login</a>
        <a class="button" href="/dashboard" data-testid="auth-dashboard-link">Try Dashboard (will redirect)</a>`
          : html`<a class="button" href="/dashboard" data-testid="auth-dashboard-link">Go to Dashboard (protected)</a>
        ${logoutForm(ctx)}`}
      </div>
    </article>
  </div>
</section>`
}
