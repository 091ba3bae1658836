import { peerIdFromString } from '@libp2p/peer-id'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { AdmissionCheck, TxPool } from '../pool/pool.ts'
import { txHash } from '../tx/encoding.ts'
import { maxTxBytes } from '../tx/limits.ts'
import type { TxMeta } from '../tx/types.ts'
import type { NodeMode } from '../types.ts'
import type { Emitter } from '../util/emitter.ts'
import { matchesAnnouncement, type SubmitResult, type TxIntake } from '../validation/intake.ts'
import type { Refusal } from '../tx/refusals.ts'
import type { TxLimits } from '../tx/limits.ts'
import { AnnouncePacer, type AnnouncePacerConfig } from './announce-pacer.ts'
import { AnnouncementRelay, type GossipOrigin, type GossipVerdict } from './announcement-relay.ts'
import { AnnouncerBook } from './announcers.ts'
import type { NetEvents } from './events.ts'
import { FetchClient, type FetchServeConfig } from './fetch-protocol.ts'
import type { FetcherConfig } from './fetcher.ts'
import { KIND_TX, decodeTxAnnouncement, encodeTxAnnouncement, type SyncEntry } from './messages.ts'
import type { PenaltyPolicy } from './penalties.ts'
import type { ListingVerdict } from './sync-client.ts'

/**
 * Most connected peers asked for a body on demand beyond those that announced
 * it: enough to find a holder in a small neighbourhood, few enough that one
 * getTx does not fan out to every connection.
 */
const MAX_ON_DEMAND_PROBES = 4

export interface TxRelayInit {
  mode: NodeMode
  pool: TxPool
  intake: TxIntake
  limits: TxLimits
  events: Emitter<NetEvents>
  penalties: PenaltyPolicy
  connectionManager: ConnectionManager
  isBanned: (peer: string) => boolean
  fetchProtocol: string
  fetchServe: FetchServeConfig
  fetcher?: Partial<FetcherConfig>
  announce?: Partial<AnnouncePacerConfig>
  runOnLimitedConnection: boolean
  /** Publishes one batch of announcements on the tx topic. */
  publish: (data: Uint8Array) => Promise<void>
  report: (origin: GossipOrigin, verdict: GossipVerdict) => void
}

function refusalOf (check: AdmissionCheck): Refusal | undefined {
  return check.ok ? undefined : { status: check.status, rule: check.rule, message: check.message }
}

/**
 * The tx side of the network: announcements in and out, fetching bodies
 * (from gossip, sync or on demand), and admitting them to the pool.
 */
export class TxRelay {
  readonly relay: AnnouncementRelay<TxMeta>
  readonly client: FetchClient
  readonly announcers: AnnouncerBook
  readonly counters = { announcementsPublished: 0 }
  private readonly init: TxRelayInit
  private readonly pacer: AnnouncePacer

  constructor (init: TxRelayInit) {
    this.init = init
    const { pool, intake, limits, penalties } = init
    this.client = new FetchClient(init.connectionManager, init.fetchProtocol, maxTxBytes(limits), init.runOnLimitedConnection)
    this.pacer = new AnnouncePacer(init.publish, init.announce)
    this.relay = new AnnouncementRelay<TxMeta>({
      mode: init.mode,
      report: init.report,
      penalize: (peer, offense, detail) => { penalties.penalize(peer, offense, detail) },
      fetcher: { maxHashesPerRequest: init.fetchServe.maxHashesPerRequest, maxBytesPerRequest: init.fetchServe.maxResponseBytes, ...init.fetcher },
      request: async (peer, hashes, signal) => await this.client.request(peerIdFromString(peer), KIND_TX, hashes, signal),
      deliver: async (hash, body, from) => await this.deliver(hash, body, from),
      fault: (peer, report) => { penalties.fetchFault(peer, report) },
      fetchDone: (peer, hashes, ms, ok) => { init.events.emit('fetch:done', { kind: 'tx', peer, hashes, ms, ok }) },
      kind: {
        decode: (data) => decodeTxAnnouncement(data, limits),
        canAdmit: (meta) => refusalOf(pool.canAdmit(meta)),
        describeRefusal: (refusal) => `${refusal.rule}: ${refusal.message}`,
        refused: (meta, refusal, source) => {
          if (refusal.status === 'rejected') this.init.events.emit('tx:rejected', { hash: meta.hash, from: source, rule: refusal.rule, message: refusal.message })
          else if (refusal.rule === 'duplicate') this.announcers.add(meta.hash, source)
        },
        keepLight: (meta, source) => {
          this.announcers.add(meta.hash, source)
          intake.list(meta)
        },
        sameAs: (pending, announced) => matchesAnnouncement(pending, announced) === undefined,
        withinQuota: (source) => penalties.withinAnnouncementQuota(source)
      }
    })
    this.announcers = new AnnouncerBook(pool.config.maxCount, this.relay.fetcher.config.maxSourcesPerHash)
  }

  get fetcher (): AnnouncementRelay<TxMeta>['fetcher'] { return this.relay.fetcher }

  /**
   * Validates and admits a tx from this node's own user (RPC, a browser tab),
   * then announces it. Resolves once it is durable and announced.
   */
  async publish (bytes: Uint8Array): Promise<SubmitResult> {
    const result = await this.init.intake.submit(bytes, { source: 'local' })
    if (result.status === 'added') this.announce(result.tx)
    return result
  }

  /**
   * The body of a tx: from the pool, or fetched on demand from a peer that
   * has it (a light node's way to see a tx it only knows the metadata of).
   * Undefined if no peer could serve a valid body.
   */
  async get (hash: string): Promise<Uint8Array | undefined> {
    const { pool } = this.init
    const local = await pool.getBody(hash)
    if (local !== undefined) return local
    if (!this.fetcher.isTracked(hash)) {
      const entry = pool.get(hash)
      const announcers = this.announcers.get(hash)
      const probes = this.fetchCapablePeers().filter(p => !announcers.includes(p))
      if (announcers.length + probes.length === 0) return undefined
      if (entry !== undefined) this.relay.expect(entry, 'demand')
      this.fetcher.want(hash, entry?.size ?? maxTxBytes(this.init.limits), [...announcers], probes)
    }
    await this.fetcher.whenDone(hash)
    return await pool.getBody(hash)
  }

  onAnnouncement (origin: GossipOrigin, data: Uint8Array): void {
    this.relay.onAnnouncement(origin, data)
  }

  /** A tx a peer listed by sync: fetched (full mode) or listed (light mode) if the pool would take it. */
  onListing (peer: string, { meta, hasBody }: SyncEntry): ListingVerdict {
    const { pool } = this.init
    const check = pool.canAdmit(meta)
    if (!check.ok) {
      if (check.rule === 'duplicate' && hasBody) this.announcers.add(meta.hash, peer)
      return check.rule === 'pool-full' ? 'pool-full' : 'skip'
    }
    if (this.init.mode === 'light') {
      if (hasBody) this.announcers.add(meta.hash, peer)
      this.init.intake.list(meta)
      return 'wanted'
    }
    if (!hasBody) return 'skip'
    return this.relay.track(meta, 'sync', peer) ? 'wanted' : 'skip'
  }

  peerGone (peer: string): void {
    this.fetcher.peerGone(peer)
    this.client.drop(peer)
  }

  stop (): void {
    this.pacer.stop()
    this.relay.stop()
    this.client.close()
  }

  private announce (meta: TxMeta): void {
    this.counters.announcementsPublished++
    this.pacer.enqueue(encodeTxAnnouncement(meta))
  }

  private async deliver (hash: string, body: Uint8Array, from: string): Promise<'done' | 'retry'> {
    const { pool, intake, events, penalties } = this.init
    if (await txHash(body) !== hash) {
      penalties.penalize(from, 'body-mismatch', `asked for ${hash}`)
      return 'retry'
    }
    const pending = this.relay.entry(hash)
    const known = pool.get(hash)
    if (known !== undefined && !known.hasBody) return await this.attachKnownBody(hash, body, from)

    const source = pending?.via ?? 'demand'
    let result: SubmitResult
    try {
      result = await intake.submit(body, { source, hash, ...(pending === undefined ? {} : { announced: pending.meta }) })
    } catch {
      // the store failed: do not forward what we cannot serve
      this.relay.settle(hash, 'ignore')
      return 'done'
    }
    if (result.status === 'rejected') {
      this.blame(hash, from, result.rule === 'body-mismatch' ? 'body-mismatch' : 'invalid-tx', result)
      this.relay.settle(hash, 'reject')
      return 'done'
    }
    if (result.status !== 'added') {
      this.relay.settle(hash, 'ignore')
      return 'done'
    }
    this.relay.settle(hash, 'accept')
    events.emit('tx:received', pending === undefined ? { hash, from, via: source } : { hash, from, via: source, waitedMs: performance.now() - pending.heardAt })
    // Every tx a full node holds is announced by it: one whose announcement
    // reached us by gossip is forwarded by the accept above; one that came by
    // sync or on demand only is announced here, which is what carries txs
    // across a healed partition.
    if (pending?.gossip === undefined) this.announce(result.tx)
    return 'done'
  }

  /** A light node got the body of a tx it listed from an announcement. */
  private async attachKnownBody (hash: string, body: Uint8Array, from: string): Promise<'done'> {
    const { intake, events, penalties } = this.init
    const result = await intake.attach(body, hash)
    this.relay.forget(hash)
    if (result.status === 'attached') events.emit('tx:received', { hash, from, via: 'demand' })
    if (result.status !== 'ignored' && result.status !== 'rejected') return 'done'
    // the announcement described something that does not exist: blame who vouched for it
    for (const peer of new Set([from, ...this.announcers.get(hash)])) {
      penalties.penalize(peer, result.rule === 'body-mismatch' ? 'body-mismatch' : 'invalid-tx', result.message)
    }
    events.emit('tx:rejected', { hash, from, rule: result.rule, message: result.message })
    return 'done'
  }

  private blame (hash: string, from: string, offense: 'invalid-tx' | 'body-mismatch', refusal: Refusal): void {
    for (const peer of this.relay.culprits(hash, from)) this.init.penalties.penalize(peer, offense, `${refusal.rule}: ${refusal.message}`)
    this.init.events.emit('tx:rejected', { hash, from, rule: refusal.rule, message: refusal.message })
  }

  /** Connected peers known to speak the fetch protocol: the last resort for an on-demand fetch. */
  private fetchCapablePeers (): string[] {
    const out: string[] = []
    for (const conn of this.init.connectionManager.getConnections()) {
      const id = conn.remotePeer.toString()
      if (!out.includes(id) && !this.init.isBanned(id)) out.push(id)
      if (out.length >= MAX_ON_DEMAND_PROBES) break
    }
    return out
  }
}
