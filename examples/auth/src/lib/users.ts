/**
 * The demo's one user and the credential check. Both sides are hashed to the same length and compared
 * with `timingSafeEqual`, so the time taken says nothing about how much of a guess was right. A real app
 * keeps per-user salted hashes (scrypt, argon2) in a database; the password is never logged or stored.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context } from '@nex/routes'

/** A type, not an interface, so it is a JSON value the session accepts as it is. */
export type User = {
  name: string
  email: string
}

export const DEMO_USER: Readonly<User> = Object.freeze({ name: 'Admin User', email: 'admin@example.com' })

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
const EMAIL_DIGEST = digest(DEMO_USER.email)
const PASSWORD_DIGEST = digest('password')

/** The user these credentials belong to, or null. Both checks always run. */
export function authenticate (email: unknown, password: unknown): User | null {
  if (typeof email !== 'string' || typeof password !== 'string') return null
  const emailMatches = timingSafeEqual(digest(email.trim().toLowerCase()), EMAIL_DIGEST)
  const passwordMatches = timingSafeEqual(digest(password), PASSWORD_DIGEST)
  return emailMatches && passwordMatches ? { ...DEMO_USER } : null
}

/** The logged-in user a session holds, or null (also for anything malformed). */
export function userOf (value: unknown): User | null {
  if (typeof value !== 'object' || value === null) return null
  const { name, email } = value as Record<string, unknown>
  return typeof name === 'string' && typeof email === 'string' ? { name, email } : null
}

/** The request's logged-in user, read from the session once per request (layout and page share it). */
export async function currentUser (ctx: Context): Promise<User | null> {
  if (!Object.hasOwn(ctx.locals, 'user')) ctx.locals.user = userOf(await ctx.session.get('user'))
  return ctx.locals.user as User | null
}
