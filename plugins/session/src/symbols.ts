/** Private per-request data, kept off the public request surface. */

/** The request's `Session` handle, created on first access of `request.session`. */
export const kSessionHandle = Symbol('@nex/session.handle')
/** What the request's session cookie said, worked out once: see `CookieInfo`. */
export const kCookieInfo = Symbol('@nex/session.cookieInfo')
/** Set once a write to the request's session succeeded (store backend): that write slid the TTL already. */
export const kSessionWrote = Symbol('@nex/session.wrote')
/** The request's flash cookie (flash messages of a browser without a session), created on first use. */
export const kFlashJar = Symbol('@nex/session.flashJar')
