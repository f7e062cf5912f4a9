/**
 * nex: the production base of a Nex app. `createServer()` is Fastify with hardened server limits (every
 * timeout and size bounded, read back from `app.server` in the tests); `nexHealth` serves `/healthz` and
 * `/readyz` (page-store ping, draining); `serve()` listens and shuts down gracefully (drain, `close()`,
 * exit codes, sockets that never sent a request). The preset that registers every Nex plugin grows here.
 */
export { createServer } from './create-server.js'
export { hardenedDefaults, serverOptions, type NexServerOptions, type NexRawServer, type NexFastifyOptions, type TrustProxyFunction } from './server-options.js'
export { nexHealth, type HealthOptions, type ReadinessCheck, type NexLifecycle } from './health.js'
export { serve, type ServeOptions, type ShutdownSignal, type AnyFastifyInstance } from './shutdown.js'
export { HEALTH_DEFAULTS } from './health-options.js'
export { SERVE_DEFAULTS } from './shutdown-options.js'
export * as errors from './errors.js'
