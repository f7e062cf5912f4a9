/**
 * @nex/redis: Redis-backed stores for Nex. `createRedisStore()` is a `PageStore` for @nex/state that
 * keeps page state in Redis, shared by every process of the app.
 */
export { createRedisStore, DEFAULT_CLIENT_OPTIONS, type RedisStoreOptions } from './redis-store.js'
