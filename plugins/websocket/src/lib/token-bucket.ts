/**
 * A token bucket: `capacity` tokens, refilled at `capacity` per `interval` ms, one taken per message. A
 * burst of `capacity` passes, then the steady rate. Pure: the caller passes the clock.
 */
export interface TokenBucket {
  /** Takes a token at time `now` (ms); false when the bucket is empty. */
  take (now: number): boolean
}

export function createTokenBucket (capacity: number, interval: number, now: number): TokenBucket {
  const perMs = capacity / interval
  let tokens = capacity
  let last = now
  return {
    take (at) {
      tokens = Math.min(capacity, tokens + Math.max(0, at - last) * perMs)
      last = at
      if (tokens < 1) return false
      tokens -= 1
      return true
    }
  }
}
