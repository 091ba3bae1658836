import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, Startable } from '@libp2p/interface'
import { DecodeError } from '../codec/bytes.ts'
import type { TxPool } from '../pool/pool.ts'
import type { ProofPool } from '../proof/proof-pool.ts'
import { decodeProofAnnouncement, encodeProofAnnouncement, type ProofMeta } from '../proof/proof.ts'
import { PROOF_FIXED_BYTES } from '../proof/proof.ts'
import { txHash } from '../tx/encoding.ts'
import { maxTxBytes } from '../tx/limits.ts'
import type { TxMeta } from '../tx/types.ts'
import { Emitter } from '../util/emitter.ts'
import { LruCache } from '../util/lru.ts'
import { matchesAnnouncement, type SubmitResult } from '../validation/intake.ts'
import type { Refusal } from '../validation/rules.ts'
import type { TxValidator } from '../validation/validator.ts'
import { AnnouncePacer, type AnnouncePacerConfig } from './announce-pacer.ts'
import { FetchScheduler, type FaultReport, type FetcherConfig } from './fetcher.ts'
import { isOversized } from './errors.ts'
import { DEFAULT_FETCH_SERVE_CONFIG, FetchClient, type FetchServeConfig } from './fetch-protocol.ts'
import type { Gossip } from './gossip.ts'
import { decodeTxAnnouncement, encodeTxAnnouncement, KIND_PROOF, KIND_TX, type SyncEntry, type SyncPage, type SyncRequest } from './messages.ts'
import { PeerKeeper, type PeerKeeperComponents, type PeerKeeperConfig } from './peer-keeper.ts'
import type { ProtocolIds } from './protocols.ts'
import { PeerQuotas, type QuotaConfig } from './quotas.ts'
import type { Offense, PeerReputation } from './reputation.ts'
import { ProtocolServer } from './protocol-server.ts'
import { SyncClient, type ListingVerdict } from './sync-client.ts'
import { DEFAULT_SYNC_CONFIG, type SyncConfig } from './sync-protocol.ts'

/**
 * Light nodes keep announcements (the pool's metadata) and fetch bodies on
 * demand; full nodes fetch every body they would admit, and only they forward
 * announcements, since forwarding one means "I can serve this body".
 */
export type NodeMode = 'full' | 'light'

export interface LightpoolServiceInit {
  ids: ProtocolIds
  mode: NodeMode
  pool: TxPool
  validator: TxValidator
  proofs: ProofPool
  reputation: PeerReputation
  bootstrap?: string[]
  quotas?: Partial<QuotaConfig>
  fetcher?: Partial<FetcherConfig>
  fetchServe?: Partial<FetchServeConfig>
  sync?: Partial<SyncConfig>
  peers?: Partial<PeerKeeperConfig>
  announce?: Partial<AnnouncePacerConfig>
  /** Let lightpool's protocols run on relayed (limited) connections. Default false. */
  runOnLimitedConnection?: boolean
}

export interface LightpoolServiceComponents extends PeerKeeperComponents {
  pubsub: Gossip
}

export type TxSource = 'gossip' | 'sync' | 'demand' | 'local'

export interface NetEvents {
  /** The verdict on every tx body this node validated, by where it came from (metrics). */
  'tx:admission': { source: TxSource, status: 'added' | 'ignored' | 'rejected', rule?: string }
  /** A body arrived from a peer and the pool admitted it; `waitedMs` since this node first heard of the tx (announcement, sync listing or demand). */
  'tx:received': { hash: string, from: string, via: TxSource, waitedMs?: number }
  /** A fetch request answered or failed, and how long it took (metrics). */
  'fetch:done': { kind: 'tx' | 'proof', peer: string, hashes: number, ms: number, ok: boolean }
  /** A tx or announcement from a peer was refused as invalid. */
  'tx:rejected': { hash?: string, from: string, rule: string, message: string }
  'proof:added': { meta: ProofMeta, from?: string }
  /** A light node saw a proof announced (it does not download proofs). */
  'proof:announced': { meta: ProofMeta, from: string }
  'sync:done': { peer: string, pages: number, wanted: number }
}

interface PendingTx {
  meta: TxMeta
  via: TxSource
  /** performance.now() when this node first heard of the tx */
  heardAt: number
  gossip?: { msgId: string, source: string }
}

interface PendingProof {
  meta: ProofMeta
  gossip?: { msgId: string, source: string }
}

export interface NetStats {
  mode: NodeMode
  peers: number
  pendingFetches: number
  fetcher: ReturnType<FetchScheduler['stats']>
  announcementsReceived: number
  /** announcements of txs this node already held: the cost of gossip's redundancy, ~130 B each */
  announcementsDuplicate: number
  announcementsPublished: number
  syncs: number
  bannedPeers: number
}

/**
 * lightpool's libp2p service: announcement gossip, the fetch and sync
 * protocols, peer upkeep and penalties, around a TxPool that knows nothing
 * of the network.
 */
export class LightpoolService implements Startable {
  readonly events = new Emitter<NetEvents>()
  readonly mode: NodeMode
  readonly ids: ProtocolIds
  readonly quotas: PeerQuotas
  readonly txFetcher: FetchScheduler
  readonly proofFetcher: FetchScheduler
  readonly keeper: PeerKeeper
  private readonly components: LightpoolServiceComponents
  private readonly init: LightpoolServiceInit
  private readonly pool: TxPool
  private readonly validator: TxValidator
  private readonly proofs: ProofPool
  private readonly reputation: PeerReputation
  private readonly fetchServe: FetchServeConfig
  private readonly server: ProtocolServer
  private readonly pacer: AnnouncePacer
  private readonly txClient: FetchClient
  private readonly proofClient: FetchClient
  private readonly syncConfig: SyncConfig
  private readonly pendingTxs = new Map<string, PendingTx>()
  private readonly pendingProofs = new Map<string, PendingProof>()
  /** Who can serve a body this node lacks (light mode; also the fallback for getTx). */
  private readonly sources: LruCache<string, string[]>
  private readonly syncClient: SyncClient
  private readonly counters = { announcementsReceived: 0, announcementsDuplicate: 0, announcementsPublished: 0, syncs: 0 }
  private readonly unsubscribe: Array<() => void> = []

  constructor (components: LightpoolServiceComponents, init: LightpoolServiceInit) {
    this.components = components
    this.init = init
    this.mode = init.mode
    this.ids = init.ids
    this.pool = init.pool
    this.validator = init.validator
    this.proofs = init.proofs
    this.reputation = init.reputation
    this.quotas = new PeerQuotas(init.quotas)
    this.fetchServe = { ...DEFAULT_FETCH_SERVE_CONFIG, ...init.fetchServe }
    this.syncConfig = { ...DEFAULT_SYNC_CONFIG, ...init.sync }
    this.sources = new LruCache(Math.max(1024, this.pool.config.maxCount))
    this.pacer = new AnnouncePacer(async (data) => { await this.pubsub.publish(this.ids.txTopic, data) }, init.announce)
    const limited = init.runOnLimitedConnection ?? false
    this.txClient = new FetchClient(components.connectionManager, this.ids.fetch, maxTxBytes(this.validator.limits), limited)
    this.proofClient = new FetchClient(components.connectionManager, this.ids.fetch, PROOF_FIXED_BYTES + this.proofs.config.maxProofBytes, limited)
    this.txFetcher = new FetchScheduler({
      config: { maxHashesPerRequest: this.fetchServe.maxHashesPerRequest, maxBytesPerRequest: this.fetchServe.maxResponseBytes, ...init.fetcher },
      request: async (peer, hashes, signal) => await this.timed('tx', peer, hashes.length, this.txClient.request(peerIdFromString(peer), KIND_TX, hashes, signal)),
      deliver: async (hash, body, from) => await this.deliverTx(hash, body, from),
      giveUp: (hash) => { this.settleTx(hash, 'ignore') },
      fault: (peer, report) => { this.onFetchFault(peer, report) }
    })
    this.proofFetcher = new FetchScheduler({
      config: { maxHashesPerRequest: 1, maxBytesPerRequest: PROOF_FIXED_BYTES + this.proofs.config.maxProofBytes, ...init.fetcher },
      request: async (peer, hashes, signal) => await this.timed('proof', peer, hashes.length, this.proofClient.request(peerIdFromString(peer), KIND_PROOF, hashes, signal)),
      deliver: async (hash, body, from) => await this.deliverProof(hash, body, from),
      giveUp: (hash) => { this.settleProof(hash, 'ignore') },
      fault: (peer, report) => { this.onFetchFault(peer, report) }
    })
    this.server = new ProtocolServer({
      registrar: components.registrar,
      ids: this.ids,
      fetch: this.fetchServe,
      sync: this.syncConfig,
      quotas: this.quotas,
      penalize: (peer, offense, detail) => { this.penalize(peer, offense, detail) },
      provideBody: async (kind, hash) => kind === KIND_TX ? await this.pool.getBody(hash) : await this.proofs.getBody(hash),
      listPending: (req) => this.listPending(req),
      runOnLimitedConnection: limited
    })
    this.syncClient = new SyncClient({
      connectionManager: components.connectionManager,
      events: components.events,
      pubsub: components.pubsub,
      topic: this.ids.txTopic,
      protocol: this.ids.sync,
      config: this.syncConfig,
      limits: this.validator.limits,
      onEntry: (peer, entry) => this.onListing(peer, entry),
      // what is already on its way would fill the pool
      enough: (wanted) => this.pool.size + wanted >= this.pool.config.maxCount,
      // let the fetcher catch up rather than overrun its tracking cap
      busy: () => this.txFetcher.stats().tracked > this.txFetcher.config.maxTracked / 2,
      onDone: (peer, pages, wanted) => {
        this.counters.syncs++
        this.events.emit('sync:done', { peer, pages, wanted })
      },
      onError: (peer, err) => {
        if (err instanceof DecodeError) this.penalize(peer, 'malformed-message', `sync page: ${err.message}`)
        else if (isOversized(err)) this.penalize(peer, 'oversized-message', 'sync page too large')
      }
    })
    this.keeper = new PeerKeeper(components, {
      bootstrap: init.bootstrap ?? [],
      lightpoolProtocol: this.ids.sync,
      exchangeProtocol: this.ids.peers,
      isBanned: (peer) => this.reputation.isBanned(peer),
      ...(init.peers === undefined ? {} : { config: init.peers })
    })
  }

  readonly [Symbol.toStringTag] = 'lightpool'

  private get pubsub (): Gossip { return this.components.pubsub }

  async start (): Promise<void> {
    await this.server.start()
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.syncClient.start()
    this.unsubscribe.push(this.reputation.events.on('banned', ({ peer }) => { void this.disconnect(peer) }))
    await this.keeper.start()
  }

  afterStart (): void {
    this.pubsub.addEventListener('gossipsub:message', this.onGossip)
    this.pubsub.subscribe(this.ids.txTopic)
    this.pubsub.subscribe(this.ids.proofTopic)
    this.keeper.afterStart()
  }

  async stop (): Promise<void> {
    this.pubsub.removeEventListener('gossipsub:message', this.onGossip)
    this.syncClient.stop()
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const u of this.unsubscribe.splice(0)) u()
    this.pacer.stop()
    this.txFetcher.stop()
    this.proofFetcher.stop()
    this.txClient.close()
    this.proofClient.close()
    await this.keeper.stop()
    await this.server.stop()
  }

  // ---- public API ----

  /**
   * Validates and admits a tx from this node's own user (RPC, a browser tab),
   * then announces it. Resolves once it is durable and announced.
   */
  async publishTx (bytes: Uint8Array): Promise<SubmitResult> {
    const v = await this.validator.validate(bytes)
    if (v.status !== 'accepted') {
      this.events.emit('tx:admission', { source: 'local', status: v.status, rule: v.rule })
      return v
    }
    const result = await this.pool.add(v.meta, bytes)
    this.events.emit('tx:admission', result.status === 'added' ? { source: 'local', status: 'added' } : { source: 'local', status: result.status, rule: result.rule })
    if (result.status === 'added') this.announceTx(v.meta)
    return { ...result, hash: v.meta.hash }
  }

  /**
   * The body of a tx: from the pool, or fetched on demand from a peer that
   * has it (a light node's way to see a tx it only knows the metadata of).
   * Undefined if no peer could serve a valid body.
   */
  async getTx (hash: string): Promise<Uint8Array | undefined> {
    const local = await this.pool.getBody(hash)
    if (local !== undefined) return local
    if (!this.txFetcher.isTracked(hash)) {
      const entry = this.pool.get(hash)
      const announcers = this.sources.get(hash) ?? []
      const probes = this.fetchCapablePeers().filter(p => !announcers.includes(p))
      if (announcers.length + probes.length === 0) return undefined
      if (!this.pendingTxs.has(hash) && entry !== undefined) this.pendingTxs.set(hash, { meta: entry, via: 'demand', heardAt: performance.now() })
      this.txFetcher.want(hash, entry?.size ?? maxTxBytes(this.validator.limits), announcers, probes)
    }
    await this.txFetcher.whenDone(hash)
    return await this.pool.getBody(hash)
  }

  /** Validates, keeps and announces a rollup proof. */
  async publishProof (bytes: Uint8Array): Promise<{ status: 'added', meta: ProofMeta } | Refusal> {
    const result = await this.proofs.add(bytes)
    if (result.status === 'added') {
      this.events.emit('proof:added', { meta: result.meta })
      await this.pubsub.publish(this.ids.proofTopic, encodeProofAnnouncement(result.meta))
    }
    return result
  }

  stats (): NetStats {
    return {
      mode: this.mode,
      peers: new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString())).size,
      pendingFetches: this.pendingTxs.size,
      fetcher: this.txFetcher.stats(),
      ...this.counters,
      bannedPeers: this.reputation.banned().length
    }
  }

  // ---- announcements ----

  private announceTx (meta: TxMeta): void {
    this.counters.announcementsPublished++
    this.pacer.enqueue(encodeTxAnnouncement(meta))
  }

  private readonly onGossip = (evt: CustomEvent<{ propagationSource: PeerId, msgId: string, msg: { topic: string, data: Uint8Array } }>): void => {
    const { msgId, msg } = evt.detail
    const source = evt.detail.propagationSource.toString()
    if (msg.topic === this.ids.txTopic) this.onTxAnnouncement(msgId, source, msg.data)
    else if (msg.topic === this.ids.proofTopic) this.onProofAnnouncement(msgId, source, msg.data)
  }

  private report (msgId: string, source: string, result: 'accept' | 'ignore' | 'reject'): void {
    try {
      this.pubsub.reportMessageValidationResult(msgId, source, result)
    } catch {
      // the message left gossipsub's cache (or the node stopped): nothing to report to
    }
  }

  private onTxAnnouncement (msgId: string, source: string, data: Uint8Array): void {
    this.counters.announcementsReceived++
    if (!this.withinAnnouncementQuota(source)) {
      this.report(msgId, source, 'ignore')
      return
    }
    let meta: TxMeta
    try {
      meta = decodeTxAnnouncement(data, this.validator.limits)
    } catch (err) {
      this.report(msgId, source, 'reject')
      this.penalize(source, 'malformed-message', (err as Error).message)
      return
    }
    const check = this.pool.canAdmit(meta)
    if (!check.ok) {
      this.report(msgId, source, check.status === 'rejected' ? 'reject' : 'ignore')
      if (check.status === 'rejected') {
        this.penalize(source, 'malformed-message', `${check.rule}: ${check.message}`)
        this.events.emit('tx:rejected', { hash: meta.hash, from: source, rule: check.rule, message: check.message })
      } else if (check.rule === 'duplicate') {
        this.counters.announcementsDuplicate++
        this.addSource(meta.hash, source)
      }
      return
    }
    if (this.mode === 'light') {
      // A light node cannot vouch for a body it has not seen, so it does not forward.
      this.report(msgId, source, 'ignore')
      this.addSource(meta.hash, source)
      void this.pool.add(meta).catch(() => {})
      return
    }
    const existing = this.pendingTxs.get(meta.hash)
    if (existing !== undefined) {
      if (existing.gossip === undefined && matchesAnnouncement(existing.meta, meta) === undefined) {
        // Already on its way by sync or on demand. This announcement is held and
        // forwarded when the body is in: announcing the tx ourselves instead would
        // publish the same bytes, which gossipsub drops as a message it has seen,
        // and our peers would hear of the tx from us by no path at all.
        existing.gossip = { msgId, source }
      } else {
        // announced with different metadata (a liar, or a different msgId for the same hash): one fetch serves both
        this.report(msgId, source, 'ignore')
      }
      this.txFetcher.want(meta.hash, meta.size, [source])
      return
    }
    this.pendingTxs.set(meta.hash, { meta, via: 'gossip', heardAt: performance.now(), gossip: { msgId, source } })
    if (!this.txFetcher.want(meta.hash, meta.size, [source])) this.settleTx(meta.hash, 'ignore')
  }

  private onProofAnnouncement (msgId: string, source: string, data: Uint8Array): void {
    let meta: ProofMeta
    try {
      meta = decodeProofAnnouncement(data, this.proofs.config.maxProofBytes)
    } catch (err) {
      this.report(msgId, source, 'reject')
      this.penalize(source, 'malformed-message', (err as Error).message)
      return
    }
    const refusal = this.proofs.canAdmit(meta)
    if (refusal !== undefined || this.pendingProofs.has(meta.hash)) {
      this.report(msgId, source, refusal?.status === 'rejected' ? 'reject' : 'ignore')
      if (refusal?.status === 'rejected') this.penalize(source, 'malformed-message', `proof announcement: ${refusal.rule}: ${refusal.message}`)
      return
    }
    if (this.mode === 'light') {
      this.report(msgId, source, 'ignore')
      this.events.emit('proof:announced', { meta, from: source })
      return
    }
    this.pendingProofs.set(meta.hash, { meta, gossip: { msgId, source } })
    if (!this.proofFetcher.want(meta.hash, meta.size, [source])) this.settleProof(meta.hash, 'ignore')
  }

  // ---- fetching ----

  /** A fetch request, reported as a 'fetch:done' event when it settles. */
  private async timed<T> (kind: 'tx' | 'proof', peer: string, hashes: number, request: Promise<T>): Promise<T> {
    const started = performance.now()
    let ok = false
    try {
      const result = await request
      ok = true
      return result
    } finally {
      this.events.emit('fetch:done', { kind, peer, hashes, ms: performance.now() - started, ok })
    }
  }

  private async deliverTx (hash: string, body: Uint8Array, from: string): Promise<'done' | 'retry'> {
    if (await txHash(body) !== hash) {
      this.penalize(from, 'body-mismatch', `asked for ${hash}`)
      return 'retry'
    }
    const pending = this.pendingTxs.get(hash)
    const known = this.pool.get(hash)
    if (known !== undefined && !known.hasBody) return await this.attachKnownBody(hash, body, from)

    const v = await this.validator.validate(body, { hash })
    const source = pending?.via ?? 'demand'
    if (v.status !== 'accepted') this.events.emit('tx:admission', { source, status: v.status, rule: v.rule })
    if (v.status === 'rejected') {
      this.blame(from, pending, 'invalid-tx', v.rule, v.message, hash)
      this.settleTx(hash, 'reject')
      return 'done'
    }
    if (v.status !== 'accepted') {
      this.settleTx(hash, 'ignore')
      return 'done'
    }
    const mismatch = pending === undefined ? undefined : matchesAnnouncement(pending.meta, v.meta)
    if (mismatch !== undefined) {
      this.blame(from, pending, 'body-mismatch', mismatch.rule, mismatch.message, hash)
      this.settleTx(hash, 'reject')
      return 'done'
    }
    let added = false
    try {
      const result = await this.pool.add(v.meta, body)
      added = result.status === 'added'
      this.events.emit('tx:admission', result.status === 'added' ? { source, status: 'added' } : { source, status: result.status, rule: result.rule })
    } catch {
      // the store failed: the pool has taken the tx out again; do not forward what we cannot serve
      this.events.emit('tx:admission', { source, status: 'ignored', rule: 'store-failed' })
    }
    this.settleTx(hash, added ? 'accept' : 'ignore')
    if (added) {
      const via = source
      this.events.emit('tx:received', pending === undefined ? { hash, from, via } : { hash, from, via, waitedMs: performance.now() - pending.heardAt })
      // Every tx a full node holds is announced by it: one whose announcement
      // reached us by gossip is forwarded by the accept above; one that came by
      // sync or on demand only is announced here, which is what carries txs
      // across a healed partition.
      if (pending?.gossip === undefined) this.announceTx(v.meta)
    }
    return 'done'
  }

  /** A light node got the body of a tx it listed from an announcement. */
  private async attachKnownBody (hash: string, body: Uint8Array, from: string): Promise<'done'> {
    const known = this.pool.get(hash)
    const v = await this.validator.validate(body, { admission: false, hash })
    const refusal = v.status === 'accepted'
      ? (known === undefined ? undefined : matchesAnnouncement(known, v.meta))
      : v
    this.pendingTxs.delete(hash)
    if (refusal !== undefined) {
      // the announcement described something that does not exist: drop it, blame who vouched for it
      this.pool.remove(hash, 'invalid')
      for (const peer of new Set([from, ...(this.sources.get(hash) ?? [])])) {
        this.penalize(peer, refusal.rule === 'body-mismatch' ? 'body-mismatch' : 'invalid-tx', refusal.message)
      }
      this.events.emit('tx:rejected', { hash, from, rule: refusal.rule, message: refusal.message })
      return 'done'
    }
    if (await this.pool.attachBody(hash, body)) this.events.emit('tx:received', { hash, from, via: 'demand' })
    return 'done'
  }

  private blame (from: string, pending: PendingTx | undefined, offense: Offense, rule: string, message: string, hash: string): void {
    const culprits = new Set([from])
    if (pending?.gossip !== undefined) culprits.add(pending.gossip.source)
    for (const peer of culprits) this.penalize(peer, offense, `${rule}: ${message}`)
    this.events.emit('tx:rejected', { hash, from, rule, message })
  }

  /** Ends a tx's pending fetch, telling gossipsub whether to forward its announcement. */
  private settleTx (hash: string, result: 'accept' | 'ignore' | 'reject'): void {
    const pending = this.pendingTxs.get(hash)
    this.pendingTxs.delete(hash)
    if (pending?.gossip !== undefined) this.report(pending.gossip.msgId, pending.gossip.source, result)
  }

  private async deliverProof (hash: string, body: Uint8Array, from: string): Promise<'done' | 'retry'> {
    const pending = this.pendingProofs.get(hash)
    const result = await this.proofs.add(body, pending?.meta)
    if (result.status === 'added') {
      this.settleProof(hash, 'accept')
      this.events.emit('proof:added', { meta: result.meta, from })
      return 'done'
    }
    if (result.rule === 'body-mismatch') {
      this.penalize(from, 'body-mismatch', result.message)
      return 'retry'
    }
    if (result.status === 'rejected') this.penalize(from, 'invalid-tx', `proof ${result.rule}: ${result.message}`)
    this.settleProof(hash, result.status === 'rejected' ? 'reject' : 'ignore')
    return 'done'
  }

  private settleProof (hash: string, result: 'accept' | 'ignore' | 'reject'): void {
    const pending = this.pendingProofs.get(hash)
    this.pendingProofs.delete(hash)
    if (pending?.gossip !== undefined) this.report(pending.gossip.msgId, pending.gossip.source, result)
  }

  private addSource (hash: string, peer: string): void {
    const list = this.sources.get(hash) ?? []
    if (!list.includes(peer)) {
      list.push(peer)
      if (list.length > 8) list.shift()
      this.sources.set(hash, list)
    }
  }

  /** Connected peers known to speak the fetch protocol: the last resort for an on-demand fetch. */
  private fetchCapablePeers (): string[] {
    const out: string[] = []
    for (const conn of this.components.connectionManager.getConnections()) {
      const id = conn.remotePeer.toString()
      if (!out.includes(id) && !this.reputation.isBanned(id)) out.push(id)
      if (out.length >= 4) break
    }
    return out
  }

  // ---- sync ----

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    this.txFetcher.peerGone(peer)
    this.proofFetcher.peerGone(peer)
    this.txClient.drop(peer)
    this.proofClient.drop(peer)
  }

  /** A tx a peer listed by sync: fetched (full mode) or listed (light mode) if the pool would take it. */
  private onListing (peer: string, { meta, hasBody }: SyncEntry): ListingVerdict {
    const check = this.pool.canAdmit(meta)
    if (!check.ok) {
      if (check.rule === 'duplicate' && hasBody) this.addSource(meta.hash, peer)
      return check.rule === 'pool-full' ? 'pool-full' : 'skip'
    }
    if (this.mode === 'light') {
      if (hasBody) this.addSource(meta.hash, peer)
      void this.pool.add(meta).catch(() => {})
      return 'wanted'
    }
    if (!hasBody || this.pendingTxs.has(meta.hash)) return 'skip'
    this.pendingTxs.set(meta.hash, { meta, via: 'sync', heardAt: performance.now() })
    if (this.txFetcher.want(meta.hash, meta.size, [peer])) return 'wanted'
    this.pendingTxs.delete(meta.hash)
    return 'skip'
  }

  private listPending (req: SyncRequest): SyncPage {
    let page
    try {
      page = this.pool.page(req.cursor === undefined ? { limit: req.limit } : { limit: req.limit, cursor: req.cursor })
    } catch {
      page = { txs: [] }
    }
    const entries = page.txs.map(tx => ({ meta: tx, hasBody: tx.hasBody }))
    return page.next === undefined ? { entries } : { entries, next: page.next }
  }

  // ---- penalties ----

  /** Announcements over the quota are ignored, and penalized at most once per cooldown (an honest relay may burst). */
  private withinAnnouncementQuota (peer: string): boolean {
    if (this.quotas.consume('announcements', peer)) return true
    if (this.quotas.penaltyDue('announcements', peer)) this.penalize(peer, 'quota-exceeded', 'announcements')
    return false
  }


  private penalize (peer: string, offense: Offense, detail: string): void {
    this.reputation.penalize(peer, offense, detail)
  }

  /**
   * A peer failed a fetch. A request that errored is classified by its cause
   * (a malformed or oversized response is the peer's protocol violation; a
   * timeout or a reset is a failure to serve); missing bodies it had announced
   * cost it per body, capped per request, so a peer that announces and never
   * serves is banned within a few requests.
   */
  private onFetchFault (peer: string, report: FaultReport): void {
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


  private async disconnect (peer: string): Promise<void> {
    try {
      await this.components.connectionManager.closeConnections(peerIdFromString(peer))
    } catch {
      // already gone
    }
  }
}

/** Missing bodies penalized per request at most: 10 × 2 points (see reputation weights). */
const MAX_MISSING_PENALTIES_PER_REQUEST = 10

/** The libp2p service factory, in js-libp2p style: `services: { lightpool: lightpool(init) }`. */
export function lightpool (init: LightpoolServiceInit): (components: LightpoolServiceComponents) => LightpoolService {
  return (components) => new LightpoolService(components, init)
}
