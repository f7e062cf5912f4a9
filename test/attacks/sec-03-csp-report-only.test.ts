/**
 * SEC-03 (RELIABILITY §6, §4.2), first half: CSP compatibility in report-only mode. Every example
 * (counter, todos, auth, chat, dashboard) is built with the `nex` preset in production, with
 * `security: { csp: { reportOnly: true, reportUri: '/__csp-report' } }` and a route collecting the reports,
 * and walked in headless Chromium through every htmx feature it has: swaps (outerHTML, beforeend,
 * out-of-band), the `htmx-request` indicator class and htmx 4's indicator CSS, boosted links and forms,
 * HX-Redirect, history restore (back and forward), SSE swaps between two tabs, 422 forms and error
 * fragments retargeted by the server, the error page. Report-only blocks nothing, so every violation the
 * policy would cause shows up, as an event (an init script listens in every page) and as a report.
 *
 * Asserted per example: 0 `securitypolicyviolation` events, 0 reports, no console or page errors (but the
 * 4xx loads the walk asked for); every document and htmx HTML response carries the report-only header
 * (not the enforced one) without `'unsafe-eval'` or `'unsafe-inline'` for scripts, and every `<script>` is
 * a file of this site (`script-src 'self'`) or carries the response's nonce when the policy has one: no
 * inline script without it (in the markup and in the DOM). Then the harness checks itself: a
 * script-written style attribute (the kind of write htmx issue #3753 is about) is seen and reported.
 *
 * sec-03-csp-enforced.test.ts runs the same walks under the enforced policy (the preset's default).
 */
import t from 'tap'
import { cspSuite } from './fixtures/sec-obs/csp-walk.ts'

await cspSuite(t, true)
