/**
 * SEC-03 (RELIABILITY §6, §4.2), second half: the same walks as sec-03-csp-report-only.test.ts under the
 * enforced policy, the `nex` preset's default (`Content-Security-Policy` with `script-src 'self'`: the
 * site's own script files need no nonce, and the pages here read none), with
 * `reportUri: '/__csp-report'` added so that anything blocked is also reported. Every example (counter,
 * todos, auth, chat, dashboard) in production, headless Chromium, every htmx feature it has; each step
 * checks that the feature worked, so a blocked script or style would fail the walk itself.
 *
 * Asserted per example: 0 `securitypolicyviolation` events, 0 reports, no console or page errors (but the
 * 4xx loads the walk asked for); every document and htmx HTML response carries the enforced header (not
 * the report-only one) without `'unsafe-eval'` or `'unsafe-inline'` for scripts, and every `<script>` is a
 * file of this site (or carries the response's nonce, when the policy has one): no inline script without
 * it, in the markup or in the DOM. The harness check: a script-written style attribute is blocked, seen and
 * reported.
 */
import t from 'tap'
import { cspSuite } from './fixtures/sec-obs/csp-walk.ts'

await cspSuite(t, false)
