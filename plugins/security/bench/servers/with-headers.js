// The measured side of bench/header-cost.js: the same app with @nex/security sending only its headers
// (helmet's and the CSP; over plain HTTP, so without HSTS, and without X-Frame-Options under the CSP's
// frame-ancestors): CSRF, rate limits, the host guard, the Fetch-Metadata check and the redirect guard off.
import Fastify from 'fastify'
import nexSecurity from '@nex/security'
// The same app as the metrics benchmark's reference.
import { routes } from '../../../metrics/bench/servers/plain.js'

export async function create () {
  const app = Fastify({ logger: false })
  await app.register(nexSecurity, {
    secret: 'a-benchmark-secret-of-at-least-32-characters',
    csrf: false,
    rateLimit: false,
    hostGuard: false,
    fetchMetadata: false,
    redirectGuard: false
  })
  routes(app)
  return app
}
