import { RateLimiter } from '@libp2p/utils'

/** Per-peer rate limits on what peers may ask of this node. Each is explicit and configurable. */
export interface QuotaConfig {
  /** Fetch requests a peer may make per second. Default 50 (one in flight is the protocol; bursts allowed). */
  fetchRequestsPerSecond: number
  /** Body bytes served to one peer per second. Default 16 MiB: 4× the 4 MB/s a full node needs at 100 tx/s. */
  fetchBytesPerSecond: number
  /** Sync pages a peer may ask for per 10 s. Default 40: a full 10k pool at 256 per page, with room for a retry. */
  syncPagesPer10s: number
  /** Announcements a peer may relay per second. Default 1000 (10× the design's 100 tx/s). */
  announcementsPerSecond: number
}

export const DEFAULT_QUOTA_CONFIG: Readonly<QuotaConfig> = Object.freeze({
  fetchRequestsPerSecond: 50,
  fetchBytesPerSecond: 16 * 1024 * 1024,
  syncPagesPer10s: 40,
  announcementsPerSecond: 1000
})

export type QuotaName = 'fetchRequests' | 'fetchBytes' | 'syncPages' | 'announcements'

/** Fixed-window counters per peer and quota (libp2p's RateLimiter). */
export class PeerQuotas {
  readonly config: Readonly<QuotaConfig>
  private readonly limiters: Record<QuotaName, RateLimiter>

  constructor (config: Partial<QuotaConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_QUOTA_CONFIG, ...config })
    this.limiters = {
      fetchRequests: new RateLimiter({ points: this.config.fetchRequestsPerSecond, duration: 1 }),
      fetchBytes: new RateLimiter({ points: this.config.fetchBytesPerSecond, duration: 1 }),
      syncPages: new RateLimiter({ points: this.config.syncPagesPer10s, duration: 10 }),
      announcements: new RateLimiter({ points: this.config.announcementsPerSecond, duration: 1 })
    }
  }

  /** Counts `amount` against the quota; false if the peer is over it. */
  consume (quota: QuotaName, peer: string, amount = 1): boolean {
    try {
      this.limiters[quota].consume(peer, amount)
      return true
    } catch {
      return false
    }
  }
}
