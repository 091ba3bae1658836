import { RateLimiter } from '@libp2p/utils'
import { LruCache } from '../util/lru.ts'

/**
 * Per-peer rate limits on what peers may ask of this node. Each is explicit
 * and configurable. Two kinds of response to going over:
 *
 * - throttle (fetch requests and bytes): the answer is delayed until the
 *   window resets. A client keeps one request in flight, so this slows an
 *   eager honest peer without punishing it, and an abusive one gains nothing.
 * - refuse and penalize (sync pages, announcements): honest peers pace
 *   themselves below these, so going over is misbehaviour — but it is
 *   penalized at most once per `penaltyCooldownMs`, so a burst costs a peer a
 *   little and only sustained abuse gets it banned.
 */
export interface QuotaConfig {
  /** Fetch requests a peer may make per second before answers are delayed. Default 200. */
  fetchRequestsPerSecond: number
  /** Body bytes served to one peer per second before answers are delayed. Default 16 MiB (4× what a full node needs at 100 tx/s). */
  fetchBytesPerSecond: number
  /** Sync pages a peer may ask for per 10 s. Default 100 (a 10k pool is 40 pages; clients pace at 8/s). */
  syncPagesPer10s: number
  /** Announcements a peer may relay per second; the excess is ignored. Default 1000 (10× the design's 100 tx/s). */
  announcementsPerSecond: number
  /** Least time between two penalties for the same quota and peer. Default 1 s. */
  penaltyCooldownMs: number
}

const DEFAULT_QUOTA_CONFIG: Readonly<QuotaConfig> = Object.freeze({
  fetchRequestsPerSecond: 200,
  fetchBytesPerSecond: 16 * 1024 * 1024,
  syncPagesPer10s: 100,
  announcementsPerSecond: 1000,
  penaltyCooldownMs: 1000
})

export type QuotaName = 'fetchRequests' | 'fetchBytes' | 'syncPages' | 'announcements'

/** Fixed-window counters per peer and quota (libp2p's RateLimiter). */
export class PeerQuotas {
  readonly config: Readonly<QuotaConfig>
  private readonly limiters: Record<QuotaName, RateLimiter>
  private readonly lastPenalty = new LruCache<string, number>(10_000)

  constructor (config: Partial<QuotaConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_QUOTA_CONFIG, ...config })
    this.limiters = {
      fetchRequests: new RateLimiter({ points: this.config.fetchRequestsPerSecond, duration: 1 }),
      fetchBytes: new RateLimiter({ points: this.config.fetchBytesPerSecond, duration: 1 }),
      syncPages: new RateLimiter({ points: this.config.syncPagesPer10s, duration: 10 }),
      announcements: new RateLimiter({ points: this.config.announcementsPerSecond, duration: 1 })
    }
  }

  /** Counts `amount` against the quota: 0 if within it, else the ms until its window resets. */
  overBy (quota: QuotaName, peer: string, amount = 1): number {
    try {
      this.limiters[quota].consume(peer, amount)
      return 0
    } catch (err) {
      return Math.max(1, (err as { msBeforeNext?: number }).msBeforeNext ?? 1000)
    }
  }

  /** Counts `amount`; false if the peer is over the quota. */
  consume (quota: QuotaName, peer: string, amount = 1): boolean {
    return this.overBy(quota, peer, amount) === 0
  }

  /** Whether an excess should cost the peer a penalty now (at most once per cooldown). */
  penaltyDue (quota: QuotaName, peer: string): boolean {
    const key = `${quota}:${peer}`
    const now = Date.now()
    const last = this.lastPenalty.get(key)
    if (last !== undefined && now - last < this.config.penaltyCooldownMs) return false
    this.lastPenalty.set(key, now)
    return true
  }
}
