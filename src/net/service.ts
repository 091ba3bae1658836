import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, Startable } from '@libp2p/interface'
import type { TxPool } from '../pool/pool.ts'
import type { ProofPool } from '../proof/proof-pool.ts'
import type { ProofMeta } from '../proof/proof.ts'
import type { NodeMode } from '../types.ts'
import { Emitter } from '../util/emitter.ts'
import type { SubmitResult, TxIntake } from '../validation/intake.ts'
import type { Refusal } from '../tx/refusals.ts'
import type { TxValidator } from '../validation/validator.ts'
import type { AnnouncePacerConfig } from './announce-pacer.ts'
import type { GossipOrigin, GossipVerdict } from './announcement-relay.ts'
import type { NetEvents } from './events.ts'
import { DEFAULT_FETCH_SERVE_CONFIG, type FetchServeConfig } from './fetch-protocol.ts'
import type { FetchScheduler, FetcherConfig } from './fetcher.ts'
import type { Gossip } from './gossip.ts'
import { KIND_TX, type SyncPage, type SyncRequest } from './messages.ts'
import { PeerKeeper, type PeerKeeperComponents, type PeerKeeperConfig } from './peer-keeper.ts'
import { PenaltyPolicy } from './penalties.ts'
import { ProofRelay } from './proof-relay.ts'
import type { ProtocolIds } from './protocols.ts'
import { PeerQuotas, type QuotaConfig } from './quotas.ts'
import type { PeerReputation } from './reputation.ts'
import { ProtocolServer } from './protocol-server.ts'
import { SyncClient } from './sync-client.ts'
import { DEFAULT_SYNC_CONFIG, type SyncConfig } from './sync-protocol.ts'
import { TxRelay } from './tx-relay.ts'

export type { NodeMode } from '../types.ts'
export type { NetEvents } from './events.ts'

export interface LightpoolServiceInit {
  ids: ProtocolIds
  mode: NodeMode
  pool: TxPool
  /** The one path tx bodies take into the pool. */
  intake: TxIntake
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
 * lightpool's libp2p service, the composition root of the network side: the
 * tx and proof relays (announcements, fetching), the fetch and sync servers,
 * the sync client, peer upkeep and the penalty policy, around a TxPool that
 * knows nothing of the network. See README.md in this folder for the path a
 * tx takes through them.
 */
export class LightpoolService implements Startable {
  readonly events = new Emitter<NetEvents>()
  readonly mode: NodeMode
  readonly ids: ProtocolIds
  readonly quotas: PeerQuotas
  readonly keeper: PeerKeeper
  readonly txs: TxRelay
  readonly proofRelay: ProofRelay
  private readonly components: LightpoolServiceComponents
  private readonly pool: TxPool
  private readonly intake: TxIntake
  private readonly reputation: PeerReputation
  private readonly penalties: PenaltyPolicy
  private readonly server: ProtocolServer
  private readonly syncClient: SyncClient
  private readonly counters = { syncs: 0 }
  private readonly unsubscribe: Array<() => void> = []

  constructor (components: LightpoolServiceComponents, init: LightpoolServiceInit) {
    this.components = components
    this.mode = init.mode
    this.ids = init.ids
    this.pool = init.pool
    this.intake = init.intake
    this.reputation = init.reputation
    this.quotas = new PeerQuotas(init.quotas)
    this.penalties = new PenaltyPolicy(init.reputation, this.quotas)
    const fetchServe = { ...DEFAULT_FETCH_SERVE_CONFIG, ...init.fetchServe }
    const syncConfig = { ...DEFAULT_SYNC_CONFIG, ...init.sync }
    const limited = init.runOnLimitedConnection ?? false
    const report = (origin: GossipOrigin, verdict: GossipVerdict): void => { this.report(origin, verdict) }
    this.txs = new TxRelay({
      mode: init.mode,
      pool: init.pool,
      intake: init.intake,
      limits: init.validator.limits,
      events: this.events,
      penalties: this.penalties,
      connectionManager: components.connectionManager,
      isBanned: (peer) => this.reputation.isBanned(peer),
      fetchProtocol: this.ids.fetch,
      fetchServe,
      ...(init.fetcher === undefined ? {} : { fetcher: init.fetcher }),
      ...(init.announce === undefined ? {} : { announce: init.announce }),
      runOnLimitedConnection: limited,
      publish: async (data) => { await this.pubsub.publish(this.ids.txTopic, data) },
      report
    })
    this.proofRelay = new ProofRelay({
      mode: init.mode,
      proofs: init.proofs,
      events: this.events,
      penalties: this.penalties,
      connectionManager: components.connectionManager,
      fetchProtocol: this.ids.fetch,
      ...(init.fetcher === undefined ? {} : { fetcher: init.fetcher }),
      runOnLimitedConnection: limited,
      publish: async (data) => { await this.pubsub.publish(this.ids.proofTopic, data) },
      report
    })
    this.server = new ProtocolServer({
      registrar: components.registrar,
      ids: this.ids,
      fetch: fetchServe,
      sync: syncConfig,
      quotas: this.quotas,
      penalize: (peer, offense, detail) => { this.penalties.penalize(peer, offense, detail) },
      provideBody: async (kind, hash) => kind === KIND_TX ? await this.pool.getBody(hash) : await init.proofs.getBody(hash),
      listPending: (req) => this.listPending(req),
      runOnLimitedConnection: limited
    })
    this.syncClient = new SyncClient({
      connectionManager: components.connectionManager,
      events: components.events,
      pubsub: components.pubsub,
      topic: this.ids.txTopic,
      protocol: this.ids.sync,
      config: syncConfig,
      limits: init.validator.limits,
      onEntry: (peer, entry) => this.txs.onListing(peer, entry),
      // what is already on its way would fill the pool
      enough: (wanted) => this.pool.size + wanted >= this.pool.config.maxCount,
      // let the fetcher catch up rather than overrun its tracking cap
      busy: () => this.txFetcher.stats().tracked > this.txFetcher.config.maxTracked / 2,
      onDone: (peer, pages, wanted) => {
        this.counters.syncs++
        this.events.emit('sync:done', { peer, pages, wanted })
      },
      onError: (peer, err) => { this.penalties.syncError(peer, err) }
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

  get txFetcher (): FetchScheduler { return this.txs.fetcher }
  get proofFetcher (): FetchScheduler { return this.proofRelay.fetcher }

  private get pubsub (): Gossip { return this.components.pubsub }

  async start (): Promise<void> {
    await this.server.start()
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.syncClient.start()
    this.unsubscribe.push(this.reputation.events.on('banned', ({ peer }) => { void this.disconnect(peer) }))
    this.unsubscribe.push(this.intake.events.on('admission', (verdict) => { this.events.emit('tx:admission', verdict) }))
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
    this.txs.stop()
    this.proofRelay.stop()
    await this.keeper.stop()
    await this.server.stop()
  }

  // ---- public API ----

  /**
   * Validates and admits a tx from this node's own user (RPC, a browser tab),
   * then announces it. Resolves once it is durable and announced.
   */
  async publishTx (bytes: Uint8Array): Promise<SubmitResult> {
    return await this.txs.publish(bytes)
  }

  /**
   * The body of a tx: from the pool, or fetched on demand from a peer that
   * has it (a light node's way to see a tx it only knows the metadata of).
   * Undefined if no peer could serve a valid body.
   */
  async getTx (hash: string): Promise<Uint8Array | undefined> {
    return await this.txs.get(hash)
  }

  /** Validates, keeps and announces a rollup proof. */
  async publishProof (bytes: Uint8Array): Promise<{ status: 'added', meta: ProofMeta } | Refusal> {
    return await this.proofRelay.publish(bytes)
  }

  stats (): NetStats {
    return {
      mode: this.mode,
      peers: new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString())).size,
      pendingFetches: this.txs.relay.pendingCount,
      fetcher: this.txFetcher.stats(),
      announcementsReceived: this.txs.relay.counters.received,
      announcementsDuplicate: this.txs.relay.counters.duplicate,
      announcementsPublished: this.txs.counters.announcementsPublished,
      syncs: this.counters.syncs,
      bannedPeers: this.reputation.banned().length
    }
  }

  // ---- gossip ----

  private readonly onGossip = (evt: CustomEvent<{ propagationSource: PeerId, msgId: string, msg: { topic: string, data: Uint8Array } }>): void => {
    const { msgId, msg } = evt.detail
    const origin = { msgId, source: evt.detail.propagationSource.toString() }
    if (msg.topic === this.ids.txTopic) this.txs.onAnnouncement(origin, msg.data)
    else if (msg.topic === this.ids.proofTopic) this.proofRelay.onAnnouncement(origin, msg.data)
  }

  private report ({ msgId, source }: GossipOrigin, verdict: GossipVerdict): void {
    try {
      this.pubsub.reportMessageValidationResult(msgId, source, verdict)
    } catch {
      // the message left gossipsub's cache (or the node stopped): nothing to report to
    }
  }

  // ---- peers ----

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    this.txs.peerGone(peer)
    this.proofRelay.peerGone(peer)
  }

  /** What this node answers a sync request with: a page of its pending pool, metadata only. */
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

  private async disconnect (peer: string): Promise<void> {
    try {
      await this.components.connectionManager.closeConnections(peerIdFromString(peer))
    } catch {
      // already gone
    }
  }
}

/** The libp2p service factory, in js-libp2p style: `services: { lightpool: lightpool(init) }`. */
export function lightpool (init: LightpoolServiceInit): (components: LightpoolServiceComponents) => LightpoolService {
  return (components) => new LightpoolService(components, init)
}
