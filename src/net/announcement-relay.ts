import type { Refusal } from '../tx/refusals.ts'
import type { NodeMode } from '../types.ts'
import type { TxSource } from './events.ts'
import { FetchScheduler, type FaultReport, type FetcherConfig, type FetchResult } from './fetcher.ts'
import type { Offense } from './reputation.ts'

/**
 * AnnouncementRelay: what a node does with an announcement of a body it
 * lacks (a tx or a rollup proof), the same way for every kind:
 *
 *   announcement ─► decode ─► admissible? ─► light: keep it, do not forward
 *                                 │
 *                                 └─► full: pending ─► fetch ─► deliver ─► settle
 *
 * - Gossipsub holds every announcement until it is settled: 'accept' forwards
 *   it (a full node announces only what it can serve), 'ignore' drops it,
 *   'reject' drops it and lowers its sender's gossip score.
 * - A pending entry remembers what was announced and who first relayed it, so
 *   a body that is not what was announced blames both the server and the
 *   announcer (`culprits`).
 * - An announcement of a hash already on its way (by sync or on demand) is
 *   held and forwarded when the body is in: announcing the body ourselves
 *   instead would publish the same bytes, which gossipsub drops as seen, and
 *   our peers would hear of it from us by no path at all.
 *
 * What differs between kinds (the announcement's codec, the admission check,
 * what a light node keeps) is the `AnnouncedKind` adapter.
 */

export type GossipVerdict = 'accept' | 'ignore' | 'reject'

/** The gossipsub message an announcement arrived in, held until it is settled. */
export interface GossipOrigin { msgId: string, source: string }

export interface PendingEntry<M> {
  meta: M
  via: TxSource
  /** performance.now() when this node first heard of it (the announcement → body histogram) */
  heardAt: number
  gossip?: GossipOrigin
}

export interface AnnouncedMeta { hash: string, size: number }

export interface AnnouncedKind<M extends AnnouncedMeta> {
  /** Decodes an announcement; throws (DecodeError) on bad bytes. */
  decode: (data: Uint8Array) => M
  /** The metadata-only admission check: undefined if the body would be admitted. */
  canAdmit: (meta: M) => Refusal | undefined
  /** How a penalty for a refused announcement describes it. */
  describeRefusal: (refusal: Refusal) => string
  /** Called after a refused announcement was reported (and penalized if rejected). */
  refused?: (meta: M, refusal: Refusal, source: string) => void
  /** A light node keeps an admissible announcement without the body. */
  keepLight: (meta: M, source: string) => void
  /** Is this announcement the same as the pending one's (so it may be held for forwarding)? */
  sameAs: (pending: M, announced: M) => boolean
  /** Rate limit on announcements per peer; none if absent. */
  withinQuota?: (source: string) => boolean
}

export interface AnnouncementRelayInit<M extends AnnouncedMeta> {
  mode: NodeMode
  kind: AnnouncedKind<M>
  /** Tells gossipsub what to do with a held announcement. */
  report: (origin: GossipOrigin, verdict: GossipVerdict) => void
  penalize: (peer: string, offense: Offense, detail: string) => void
  fetcher: Partial<FetcherConfig>
  request: (peer: string, hashes: string[], signal: AbortSignal) => Promise<FetchResult[]>
  deliver: (hash: string, body: Uint8Array, from: string) => Promise<'done' | 'retry'>
  fault: (peer: string, report: FaultReport) => void
  /** Each fetch request settled (answered or failed) after `ms`: for metrics. */
  fetchDone?: (peer: string, hashes: number, ms: number, ok: boolean) => void
}

export class AnnouncementRelay<M extends AnnouncedMeta> {
  readonly fetcher: FetchScheduler
  readonly counters = { received: 0, duplicate: 0 }
  private readonly init: AnnouncementRelayInit<M>
  private readonly pending = new Map<string, PendingEntry<M>>()

  constructor (init: AnnouncementRelayInit<M>) {
    this.init = init
    this.fetcher = new FetchScheduler({
      config: init.fetcher,
      request: async (peer, hashes, signal) => await this.timed(peer, hashes, signal),
      deliver: init.deliver,
      giveUp: (hash) => { this.settle(hash, 'ignore') },
      fault: init.fault
    })
  }

  get pendingCount (): number { return this.pending.size }

  /** A fetch request, timed for `fetchDone`. */
  private async timed (peer: string, hashes: string[], signal: AbortSignal): Promise<FetchResult[]> {
    const started = performance.now()
    let ok = false
    try {
      const results = await this.init.request(peer, hashes, signal)
      ok = true
      return results
    } finally {
      this.init.fetchDone?.(peer, hashes.length, performance.now() - started, ok)
    }
  }

  entry (hash: string): PendingEntry<M> | undefined { return this.pending.get(hash) }

  isPending (hash: string): boolean { return this.pending.has(hash) }

  onAnnouncement (origin: GossipOrigin, data: Uint8Array): void {
    const { kind } = this.init
    const { source } = origin
    this.counters.received++
    if (kind.withinQuota !== undefined && !kind.withinQuota(source)) {
      this.init.report(origin, 'ignore')
      return
    }
    let meta: M
    try {
      meta = kind.decode(data)
    } catch (err) {
      this.init.report(origin, 'reject')
      this.init.penalize(source, 'malformed-message', (err as Error).message)
      return
    }
    const refusal = kind.canAdmit(meta)
    if (refusal !== undefined) {
      this.init.report(origin, refusal.status === 'rejected' ? 'reject' : 'ignore')
      if (refusal.status === 'rejected') this.init.penalize(source, 'malformed-message', kind.describeRefusal(refusal))
      if (refusal.rule === 'duplicate') this.counters.duplicate++
      kind.refused?.(meta, refusal, source)
      return
    }
    if (this.init.mode === 'light') {
      // A light node cannot vouch for a body it has not seen, so it does not forward.
      this.init.report(origin, 'ignore')
      kind.keepLight(meta, source)
      return
    }
    const existing = this.pending.get(meta.hash)
    if (existing !== undefined) {
      if (existing.gossip === undefined && kind.sameAs(existing.meta, meta)) {
        existing.gossip = origin
      } else {
        // announced with different metadata (a liar, or a different msgId for the same hash): one fetch serves both
        this.init.report(origin, 'ignore')
      }
      this.fetcher.want(meta.hash, meta.size, [source])
      return
    }
    this.pending.set(meta.hash, { meta, via: 'gossip', heardAt: performance.now(), gossip: origin })
    if (!this.fetcher.want(meta.hash, meta.size, [source])) this.settle(meta.hash, 'ignore')
  }

  /** Fetches a body learned of by sync from `peer`; false if it is already pending or the fetcher is full. */
  track (meta: M, via: TxSource, peer: string): boolean {
    if (this.pending.has(meta.hash)) return false
    this.pending.set(meta.hash, { meta, via, heardAt: performance.now() })
    if (this.fetcher.want(meta.hash, meta.size, [peer])) return true
    this.pending.delete(meta.hash)
    return false
  }

  /** Remembers what a fetch not started by an announcement is for (on demand), unless something is already pending. */
  expect (meta: M, via: TxSource): void {
    if (!this.pending.has(meta.hash)) this.pending.set(meta.hash, { meta, via, heardAt: performance.now() })
  }

  /** Ends a pending fetch, telling gossipsub whether to forward its announcement. */
  settle (hash: string, verdict: GossipVerdict): void {
    const pending = this.pending.get(hash)
    this.pending.delete(hash)
    if (pending?.gossip !== undefined) this.init.report(pending.gossip, verdict)
  }

  /** Forgets a pending entry without reporting (its announcement, if any, stays held until gossipsub drops it). */
  forget (hash: string): void {
    this.pending.delete(hash)
  }

  /** Who vouched for a bad body: the peer that served it and the one whose announcement led to it. */
  culprits (hash: string, from: string): Set<string> {
    const culprits = new Set([from])
    const gossip = this.pending.get(hash)?.gossip
    if (gossip !== undefined) culprits.add(gossip.source)
    return culprits
  }

  stop (): void {
    this.fetcher.stop()
  }
}
