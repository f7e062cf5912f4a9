import { html } from '@nex/html'
import type { Context } from '@nex/routes'
import { authenticate, DEMO_USER } from '../lib/users.ts'

export const head = { title: 'Login' }

/** Login-like: its actions get @nex/security's strict rate limit (guessing passwords is slow). */
export const config = { rateLimit: 'login' }

export const actions = {
  /**
   * Checks the credentials. Wrong ones: a flash and back to /login. Right ones: a new session id first
   * (`regenerate()`: an id planted before login is worth nothing after it), then the user.
   */
  login: async (ctx: Context) => {
    const user = authenticate(ctx.body.email, ctx.body.password)
    if (user === null) {
      await ctx.session.flash('error', 'Invalid email or password.')
      return ctx.redirect('/login')
    }
    await ctx.session.regenerate()
    await ctx.session.set('user', user)
    await ctx.session.flash('success', `Welcome back, ${user.name}!`)
    return ctx.redirect('/dashboard')
  }
}

/** A real form (works without JavaScript); with JavaScript, `hx-boost` posts it through htmx. */
export default function render (ctx: Context) {
  return html`<section data-testid="auth-login-page" class="login">
  <h1>Login</h1>
  <form method="post" action="?/login" class="stacked" data-testid="auth-login-form">
    ${ctx.formFields()}
    <label for="email">Email</label>
    <input id="email" name="email" type="email" required autocomplete="username" data-testid="auth-login-email">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" required autocomplete="current-password" data-testid="auth-login-password">
    <button type="submit" data-testid="auth-login-submit">Login</button>
  </form>
  <p class="hint" data-testid="auth-login-hint">Demo account: ${DEMO_USER.email} / password</p>
  <p><a href="/" data-testid="auth-login-home">← Home</a></p>
</section>`
}
