import type { TxMeta } from '../../tx/types.ts'
import { deadline } from '../../util/deadline.ts'

/**
 * Trust, but check: a relay's feed could list txs that do not exist, or hide
 * some that do. A light node cannot afford every body, so it
 *
 * - fetches, from the relay that listed it, the body of a random sample
 *   (`sampleFraction`) of what each relay lists, plus every tx its user opens,
 *   and checks it (it hashes to the listing, is valid, matches the listed
 *   metadata). A relay that cannot back a listing ("missing") or backs it with
 *   an invalid body is distrusted: unsubscribed, its listings dropped and its
 *   reputation charged. A fetch that merely times out is not held against it.
 * - counts, per relay, txs another subscribed relay listed and it did not
 *   within `agreementWindowMs` (`missed`), and txs only it listed (`alone`).
 *   One relay that keeps missing what others list is hiding txs, or behind.
 */
export interface FeedCheckConfig {
  /**
   * Fraction of each relay's listings whose body is fetched from it and
   * checked. Default 0.002: ~80 B per 40 KB tx on average beside the ~90 B
   * listing, which keeps a tab under 200 B per tx (at 0.02 the bench measured
   * 435 B). One tab catches a given lie rarely, but a relay serves hundreds
   * of tabs: a lie is checked by ~2 of every 1 000 that saw it.
   */
  sampleFraction: number
  /** Time every subscribed relay has to list a tx another one listed. Default 10 s. */
  agreementWindowMs: number
  /** Checks in flight at once; more samples are skipped. Default 2. */
  maxConcurrentChecks: number
  /** Per check, time for the relay to serve the body. Default 15 s. */
  fetchTimeoutMs: number
}

export const DEFAULT_FEED_CHECK_CONFIG: Readonly<FeedCheckConfig> = Object.freeze({
  sampleFraction: 0.002,
  agreementWindowMs: 10_000,
  maxConcurrentChecks: 2,
  fetchTimeoutMs: 15_000
})

export interface RelayCheckStats {
  /** bodies fetched from this relay to check its listings */
  checked: number
  /** listings it could not back, or backed with an invalid body */
  unbacked: number
  /** txs other relays listed and it did not, within the window */
  missed: number
  /** txs it listed and another subscribed relay did not, within the window */
  alone: number
}

export interface FeedCheckerInit {
  config?: Partial<FeedCheckConfig>
  /** One body from one peer: the bytes, 'missing', or throws (unreachable, timeout). */
  fetchFrom: (peer: string, hash: string, signal: AbortSignal) => Promise<Uint8Array | 'missing'>
  /** Why `body` does not back `meta` (undecodable, invalid, different metadata), or undefined if it does. */
  verify: (body: Uint8Array, meta: TxMeta) => Promise<string | undefined>
  /** A relay's listing turned out unbacked. */
  unbacked: (peer: string, hash: string, why: string) => void
  /** Relays subscribed now, and since when (a relay that was not subscribed when a tx was listed cannot have missed it). */
  subscribedSince: () => Map<string, number>
  /** Does `peer`'s feed still list `hash`? A relay that answers 'missing' for a tx it has since removed (mined, replaced) told the truth. */
  stillListed: (peer: string, hash: string) => boolean
  random?: () => number
}

interface Sighting { at: number, meta: TxMeta, by: Set<string> }

/**
 * How long a relay's 'missing' answer waits for the relay's removal of that
 * tx before it counts as an unbacked listing. A tx mined or replaced between
 * the listing and the check is rightly missing, and its removal can trail the
 * fetch answer by the feed's flush interval (50 ms) plus a loaded
 * subscriber's queue: without the wait, a tab opened on a tx just mined
 * distrusted an honest relay and dropped its listings (seen in CI).
 */
export const MISSING_GRACE_MS = 3_000

export class FeedChecker {
  readonly config: Readonly<FeedCheckConfig>
  private readonly init: FeedCheckerInit
  private readonly stats = new Map<string, RelayCheckStats>()
  private readonly sightings = new Map<string, Sighting>()
  private inFlight = 0

  constructor (init: FeedCheckerInit) {
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FEED_CHECK_CONFIG, ...init.config })
  }

  of (peer: string): RelayCheckStats {
    let s = this.stats.get(peer)
    if (s === undefined) {
      s = { checked: 0, unbacked: 0, missed: 0, alone: 0 }
      this.stats.set(peer, s)
    }
    return s
  }

  /**
   * A relay listed `meta` (`holders`: the relays that listed it before):
   * maybe sample it, and note who listed it.
   */
  listed (peer: string, meta: TxMeta, holders: string[] = [], now = Date.now()): void {
    const s = this.sightings.get(meta.hash)
    if (s === undefined) {
      this.sightings.set(meta.hash, { at: now, meta, by: new Set([peer, ...holders]) })
    } else {
      s.by.add(peer)
    }
    if ((this.init.random ?? Math.random)() < this.config.sampleFraction) void this.check(peer, meta)
  }

  /** Checks `meta` against `peer` now (a sampled listing, or a tx the user opened). Resolves true if backed. */
  async check (peer: string, meta: TxMeta): Promise<boolean | undefined> {
    if (this.inFlight >= this.config.maxConcurrentChecks) return undefined
    this.inFlight++
    const limit = deadline(this.config.fetchTimeoutMs, 'feed check')
    try {
      let body: Uint8Array | 'missing'
      try {
        body = await this.init.fetchFrom(peer, meta.hash, limit.signal)
      } catch {
        return undefined // unreachable or slow: not evidence either way
      }
      if (body === 'missing') {
        await new Promise(resolve => setTimeout(resolve, MISSING_GRACE_MS))
        if (!this.init.stillListed(peer, meta.hash)) return undefined
      }
      this.of(peer).checked++
      const why = body === 'missing' ? 'listed a tx it cannot serve' : await this.init.verify(body, meta)
      if (why === undefined) return true
      this.of(peer).unbacked++
      this.init.unbacked(peer, meta.hash, why)
      return false
    } finally {
      limit.clear()
      this.inFlight--
    }
  }

  /** Settles sightings older than the window: who missed them, who listed them alone. */
  settle (now = Date.now()): void {
    const subscribed = this.init.subscribedSince()
    for (const [hash, s] of this.sightings) {
      if (now - s.at < this.config.agreementWindowMs) continue
      this.sightings.delete(hash)
      const eligible = [...subscribed].filter(([, since]) => since <= s.at).map(([peer]) => peer)
      if (eligible.length < 2) continue
      const missing = eligible.filter(p => !s.by.has(p))
      if (missing.length === 0) continue
      for (const p of missing) this.of(p).missed++
      for (const p of s.by) if (eligible.includes(p)) this.of(p).alone++
    }
  }

  /** Forgets sightings of a tx that left the pool: a relay that never listed it did not miss much. */
  forget (hash: string): void {
    this.sightings.delete(hash)
  }
}
