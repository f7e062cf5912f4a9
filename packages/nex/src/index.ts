/**
 * nex: a Nex app in production. `createApp()` is `createServer()` (Fastify with hardened server limits)
 * plus the `nex` preset (every Nex plugin with production defaults: errors, health, metrics, load
 * shedding, security, compression, page state, sessions, SSE, WebSocket, file routes, static files);
 * `serve()` listens and shuts down gracefully (drain, `close()`, exit codes).
 */
export { createApp, appSecret, type CreateAppOptions } from './create-app.js'
export { nex } from './preset.js'
export { UNDER_PRESSURE_DEFAULTS, type NexOptions } from './preset-options.js'
export { createServer } from './create-server.js'
export { hardenedDefaults, serverOptions, type NexServerOptions, type NexRawServer, type NexFastifyOptions, type TrustProxyFunction } from './server-options.js'
export { nexHealth, type HealthOptions, type ReadinessCheck, type NexLifecycle } from './health.js'
export { serve, type ServeOptions, type ShutdownSignal, type AnyFastifyInstance } from './shutdown.js'
export { HEALTH_DEFAULTS } from './health-options.js'
export { SERVE_DEFAULTS } from './shutdown-options.js'
export { nexErrors, frameworkErrors, ERRORS_DEFAULTS, type ErrorHandlerOptions, type NexErrorsApi } from './error-handler.js'
export { nexStatic, FINGERPRINTED, STATIC_DEFAULTS, type StaticOptions } from './static-files.js'
export { nexCompression, COMPRESSION_DEFAULTS, type CompressionOptions, type CompressionEncoding } from './compression.js'
export * as errors from './errors.js'
