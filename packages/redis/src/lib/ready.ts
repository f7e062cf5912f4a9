/**
 * Waiting for a connection's first `ready`. With the offline queue off (our fail-fast default), commands
 * sent before it fail, so a part that created its connection waits for it once, bounded. After that first
 * wait (ready or not) nothing waits again: a later outage must fail fast, not stall every call.
 */
import type { Redis } from 'ioredis'

/** A function resolving once the first wait for `client` is over (at once afterwards); never rejects. */
export function firstReadyGate (client: Redis, timeout = (client.options.connectTimeout ?? 10_000) + 500): () => Promise<void> {
  let gate: Promise<void> | null = client.status === 'ready' ? null : waitReady(client, timeout).catch(noop)
  gate?.then(() => { gate = null }, noop)
  return () => gate ?? resolved
}

/** Resolves on `client`'s next `ready` (at once if ready); rejects after `timeout` ms or on `end`. */
export function waitReady (client: Redis, timeout: number): Promise<void> {
  if (client.status === 'ready') return resolved
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Redis did not become ready within ${timeout} ms`))
    }, timeout)
    const onReady = (): void => {
      cleanup()
      resolve()
    }
    const onEnd = (): void => {
      cleanup()
      reject(new Error('Redis connection ended before it became ready'))
    }
    function cleanup (): void {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('end', onEnd)
    }
    client.once('ready', onReady)
    client.once('end', onEnd)
  })
}

const resolved = Promise.resolve()

function noop (): void {}
