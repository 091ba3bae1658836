import { DecodeError } from '../codec/bytes.ts'
import { isOversized } from './errors.ts'
import type { FaultReport } from './fetcher.ts'
import type { PeerQuotas } from './quotas.ts'
import type { Offense, PeerReputation } from './reputation.ts'

/** Missing bodies penalized per request at most: 10 × 2 points (see reputation weights). */
const MAX_MISSING_PENALTIES_PER_REQUEST = 10

/**
 * What each kind of peer misbehaviour costs, in one place: the relays, the
 * fetchers and the sync client report what happened; this policy turns it
 * into offenses on the peer's reputation (which bans, see reputation.ts).
 */
export class PenaltyPolicy {
  private readonly reputation: PeerReputation
  private readonly quotas: PeerQuotas

  constructor (reputation: PeerReputation, quotas: PeerQuotas) {
    this.reputation = reputation
    this.quotas = quotas
  }

  penalize (peer: string, offense: Offense, detail: string): void {
    this.reputation.penalize(peer, offense, detail)
  }

  /** Announcements over the quota are ignored, and penalized at most once per cooldown (an honest relay may burst). */
  withinAnnouncementQuota (peer: string): boolean {
    if (this.quotas.consume('announcements', peer)) return true
    if (this.quotas.penaltyDue('announcements', peer)) this.penalize(peer, 'quota-exceeded', 'announcements')
    return false
  }

  /**
   * A peer failed a fetch. A request that errored is classified by its cause
   * (a malformed or oversized response is the peer's protocol violation; a
   * timeout or a reset is a failure to serve); missing bodies it had announced
   * cost it per body, capped per request, so a peer that announces and never
   * serves is banned within a few requests.
   */
  fetchFault (peer: string, report: FaultReport): void {
    if (report.kind === 'fetch-missing') {
      const times = Math.min(report.count, MAX_MISSING_PENALTIES_PER_REQUEST)
      for (let i = 0; i < times; i++) this.penalize(peer, 'fetch-missing', report.detail)
    } else if (report.cause instanceof DecodeError) {
      this.penalize(peer, 'malformed-message', `fetch response: ${report.cause.message}`)
    } else if (isOversized(report.cause)) {
      this.penalize(peer, 'oversized-message', 'fetch response frame over its cap')
    } else {
      // a silent peer failed every body it announced in that request
      this.penalize(peer, 'fetch-timeout', report.detail)
      const extra = Math.min(report.count - 1, MAX_MISSING_PENALTIES_PER_REQUEST)
      for (let i = 0; i < extra; i++) this.penalize(peer, 'fetch-missing', `${report.count} bodies not served`)
    }
  }

  /** A sync page that did not decode, or was over its cap, is the lister's protocol violation; other errors cost nothing. */
  syncError (peer: string, err: unknown): void {
    if (err instanceof DecodeError) this.penalize(peer, 'malformed-message', `sync page: ${err.message}`)
    else if (isOversized(err)) this.penalize(peer, 'oversized-message', 'sync page too large')
  }
}
