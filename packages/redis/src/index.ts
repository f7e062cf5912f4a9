/**
 * @nex/redis: Redis-backed parts for Nex, shared by every process of the app. `createRedisStore()` is a
 * `PageStore` for @nex/state that keeps page state in Redis; `createRedisPubSub()` is a `PubSub` for
 * @nex/pubsub whose messages reach subscribers in every process; `createRedisEventLog()` is an `EventLog`
 * (topics with ids and replay) on top of it. `redisFromEnv()` builds all of them from `REDIS_URL` (or
 * returns null without it, leaving the in-memory defaults).
 */
export { createRedisStore, DEFAULT_CLIENT_OPTIONS, type RedisPageStore, type RedisStoreOptions } from './redis-store.js'
export { createRedisPubSub, type RedisPubSubOptions } from './redis-pubsub.js'
export { createRedisEventLog, type RedisEventLogOptions } from './redis-event-log.js'
export { redisFromEnv, type RedisBackends, type RedisFromEnvOptions } from './from-env.js'
