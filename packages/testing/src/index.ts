/**
 * @nex/testing: helpers for testing Nex apps and Nex parts: a browser-like `inject` client and the
 * page-store contract suite.
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
