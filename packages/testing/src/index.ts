/**
 * @nex/testing: helpers for testing Nex apps and Nex parts: a browser-like `inject` client, the
 * page-store, pub/sub and event-log contract suites, and a throwaway real redis-server.
 */
export {
  createTestClient,
  type HtmxMode,
  type Injectable,
  type RequestOptions,
  type SendOptions,
  type TestClient,
  type TestClientOptions
} from './client.js'
export { testPageStore, type PageStoreFactory, type PageStoreFactoryOptions } from './store-contract.js'
export { createInbox, testPubSub, type Inbox, type PubSubFactory, type PubSubFactoryOptions } from './pubsub-contract.js'
export {
  createEventInbox,
  testEventLog,
  type EventInbox,
  type EventLogFactory,
  type EventLogFactoryOptions,
  type EventLogSuiteOptions
} from './event-log-contract.js'
export { countingStore, type CountingStore } from './counting-store.js'
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.js'
export { createTestCertificate, opensslMissing, type TestCertificate } from './certificate.js'
