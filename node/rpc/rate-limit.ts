import { RateLimiter, RateLimitError } from '@libp2p/utils'

/**
 * Requests per second per client key (the remote IP), shared by HTTP and
 * WebSocket. A fixed one-second window per key, as @libp2p/utils' limiter
 * keeps it; points consumed over the limit still count, so a client that
 * keeps flooding stays refused until it pauses for a window.
 */
export class ClientRateLimiter {
  private readonly limiter: RateLimiter
  private readonly perSecond: number

  constructor (perSecond: number) {
    this.perSecond = perSecond
    this.limiter = new RateLimiter({ points: perSecond, duration: 1 })
  }

  /** Takes `count` requests from `key`'s budget; false if that goes over it. */
  consume (key: string, count = 1): boolean {
    try {
      this.limiter.consume(key, count)
      return true
    } catch (err) {
      if (err instanceof RateLimitError) return false
      throw err
    }
  }

  /** Whether `key` has already used up this second's budget (consumes nothing). */
  exhausted (key: string): boolean {
    const state = this.limiter.get(key)
    return state !== undefined && state.msBeforeNext > 0 && state.consumedPoints >= this.perSecond
  }

  /** Whole seconds until `key`'s window ends, for Retry-After. */
  retryAfterSeconds (key: string): number {
    const ms = this.limiter.get(key)?.msBeforeNext ?? 1000
    return Math.max(1, Math.ceil(ms / 1000))
  }
}
