import { Emitter } from '../util/emitter.ts'
import { LruCache } from '../util/lru.ts'

/**
 * Misbehaviour a peer can be penalized for. Weights are penalty points;
 * a peer whose score falls to `disconnectThreshold` is disconnected and
 * refused for `banDurationMs`.
 */
export type Offense =
  /** relayed a tx that fails validation (bad signature, undecodable body) */
  | 'invalid-tx'
  /** served a body that does not hash to what was asked, or differs from its announcement */
  | 'body-mismatch'
  /** sent a message that does not decode */
  | 'malformed-message'
  /** sent a frame over the protocol's size cap */
  | 'oversized-message'
  /** did not answer a fetch in time */
  | 'fetch-timeout'
  /** announced or listed a body, then did not have it */
  | 'fetch-missing'
  /** went over a per-peer rate or count quota */
  | 'quota-exceeded'

export interface ReputationConfig {
  weights: Record<Offense, number>
  /** At or below this score a peer is disconnected and banned. Default -100. */
  disconnectThreshold: number
  /** How long a banned peer is refused. Default 10 minutes. */
  banDurationMs: number
  /** Scores decay toward 0 with this half-life, so old sins are forgiven. Default 5 minutes. */
  halfLifeMs: number
  /** Most peers tracked; the least recently penalized are forgotten first. Default 10 000. */
  maxTrackedPeers: number
}

/**
 * Default weights: a peer is disconnected after 5 invalid txs, 2 mismatched
 * bodies or oversized frames, 5 malformed messages, 10 failed (timed-out)
 * fetch requests (fewer if they held several bodies), 20 quota violations, or
 * 50 announced bodies it then did not have (at most 10 counted per request) — within a few minutes, since decay
 * (half-life 5 min) forgives the odd honest race.
 */
const DEFAULT_REPUTATION_CONFIG: Readonly<ReputationConfig> = Object.freeze({
  weights: Object.freeze({
    'invalid-tx': 20,
    'body-mismatch': 50,
    'malformed-message': 20,
    'oversized-message': 50,
    'fetch-timeout': 10,
    'fetch-missing': 2,
    'quota-exceeded': 5
  }),
  disconnectThreshold: -100,
  banDurationMs: 10 * 60_000,
  halfLifeMs: 5 * 60_000,
  maxTrackedPeers: 10_000
})

export interface ReputationEvents {
  penalized: { peer: string, offense: Offense, score: number, detail?: string }
  banned: { peer: string, offense: Offense, score: number, until: number }
}

interface Record_ { score: number, at: number, bannedUntil: number }

/** Per-peer penalty scores with decay, and bans. Fed by every protocol; read by the connection gater and gossipsub. */
export class PeerReputation {
  readonly config: Readonly<ReputationConfig>
  readonly events = new Emitter<ReputationEvents>()
  private readonly peers: LruCache<string, Record_>
  private readonly now: () => number

  constructor (config: Partial<ReputationConfig> = {}, now: () => number = Date.now) {
    this.config = { ...DEFAULT_REPUTATION_CONFIG, ...config, weights: { ...DEFAULT_REPUTATION_CONFIG.weights, ...config.weights } }
    this.peers = new LruCache(this.config.maxTrackedPeers)
    this.now = now
  }

  /** The peer's current (decayed) score: 0 is neutral, negative is bad. */
  score (peer: string): number {
    const rec = this.peers.get(peer)
    if (rec === undefined) return 0
    return rec.score * Math.pow(0.5, (this.now() - rec.at) / this.config.halfLifeMs)
  }

  isBanned (peer: string): boolean {
    const rec = this.peers.get(peer)
    return rec !== undefined && rec.bannedUntil > this.now()
  }

  penalize (peer: string, offense: Offense, detail?: string): void {
    const now = this.now()
    const score = this.score(peer) - this.config.weights[offense]
    const rec = this.peers.get(peer) ?? { score: 0, at: now, bannedUntil: 0 }
    rec.score = score
    rec.at = now
    this.peers.set(peer, rec)
    this.events.emit('penalized', detail === undefined ? { peer, offense, score } : { peer, offense, score, detail })
    if (score <= this.config.disconnectThreshold && rec.bannedUntil <= now) {
      rec.bannedUntil = now + this.config.banDurationMs
      this.events.emit('banned', { peer, offense, score, until: rec.bannedUntil })
    }
  }

  /** Peers currently banned, with when their ban ends. */
  banned (): Array<{ peer: string, until: number }> {
    const now = this.now()
    const out: Array<{ peer: string, until: number }> = []
    for (const [peer, rec] of this.peers.entries()) if (rec.bannedUntil > now) out.push({ peer, until: rec.bannedUntil })
    return out
  }
}
