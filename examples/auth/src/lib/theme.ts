/**
 * The theme preference: a plain cookie, not part of the session, so it survives logout. Only `light` and
 * `dark` are accepted; anything else the cookie holds reads as the default.
 */
import type {} from '@fastify/cookie'
import type { Context } from '@nex/routes'

export const THEMES = ['light', 'dark'] as const
export type Theme = typeof THEMES[number]

export const THEME_COOKIE = 'theme'
const THIRTY_DAYS = 30 * 24 * 60 * 60

export function parseTheme (value: unknown): Theme | null {
  return THEMES.find(theme => theme === value) ?? null
}

/** The theme the request's cookie asks for, `light` by default. */
export function themeOf (ctx: Context): Theme {
  return parseTheme(ctx.request.cookies[THEME_COOKIE]) ?? 'light'
}

export function setThemeCookie (ctx: Context, theme: Theme): void {
  ctx.reply.setCookie(THEME_COOKIE, theme, { path: '/', maxAge: THIRTY_DAYS, httpOnly: true, sameSite: 'lax', secure: 'auto' })
}
