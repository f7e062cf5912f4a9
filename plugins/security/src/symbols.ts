/** Internal state of @nex/security, kept under symbols so it never collides with user decorators. */

/** On a route's config: the route's decisions (CSP on, CSRF on), computed once. */
export const kRoutePolicy = Symbol('@nex/security.routePolicy')
/** On a request: the policy of its route, read once in the first hook. */
export const kRequestPolicy = Symbol('@nex/security.requestPolicy')
/** On a request: true once the CSRF header token was verified in `onRequest`. */
export const kCsrfChecked = Symbol('@nex/security.csrfChecked')
/** On a reply: the CSP nonces, created when `reply.cspNonce` is first read. */
export const kNonce = Symbol('@nex/security.nonce')
/** On a reply: true when the reply carries our CSP header (so reading the nonce rewrites it). */
export const kCspActive = Symbol('@nex/security.cspActive')
/** On a reply: the CSRF token, created when `reply.csrfToken()` is first called. */
export const kCsrfToken = Symbol('@nex/security.csrfToken')
