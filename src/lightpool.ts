import { noise } from '@chainsafe/libp2p-noise'
import { muxer } from './net/muxer.ts'
import { connectionLiveness, type ConnectionLiveness, type LivenessConfig } from './net/liveness.ts'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { ConnectionGater, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { TxPool, type PoolConfig } from './pool/pool.ts'
import { MemoryPoolStore, type PoolStore } from './pool/store.ts'
import { ProofPool, type ProofPoolConfig } from './proof/proof-pool.ts'
import { DEFAULT_TX_LIMITS, type TxLimits } from './tx/limits.ts'
import type { TxVerifier } from './tx/verifier.ts'
import { TxIntake, type SubmitResult } from './validation/intake.ts'
import { TxValidator } from './validation/validator.ts'
import { lightpoolGossip, type Gossip, type LightpoolGossipInit } from './net/gossip.ts'
import { protocolIds } from './net/protocols.ts'
import { PeerReputation, type ReputationConfig } from './net/reputation.ts'
import { lightpool, type LightpoolService, type LightpoolServiceInit } from './net/service.ts'
import type { NodeMode } from './types.ts'
import { feedWiring, pushToRelays, type FeedClient, type FeedInit, type FeedServer, type PushServer } from './net/feed/index.ts'

export const LIGHTPOOL_VERSION = '0.1.0' // package.json's version: `npm version` rewrites this line (scripts/version.ts), test/unit/docs.test.ts checks it

/** How long stored peer addresses, and peers, stay usable for reconnecting: 14 and 30 days. */
const PEER_ADDRESS_TTL_MS = 14 * 24 * 3600_000
const PEER_TTL_MS = 30 * 24 * 3600_000

/** Everything environment-specific (transports, listen addresses, stores) is handed in; the rest has defaults. */
export interface LightpoolInit {
  /** Network name, part of every topic and protocol id. Default "devnet". */
  network?: string
  /** Default "full". Browsers use "light". */
  mode?: NodeMode
  /** Where the pool keeps bodies. Default: in memory. */
  store?: PoolStore
  pool?: Partial<PoolConfig>
  txLimits?: TxLimits
  /** Replaces the Ed25519 signature check with a chain's own validity check. */
  verifier?: TxVerifier
  proofs?: Partial<ProofPoolConfig>
  reputation?: Partial<ReputationConfig>
  /** Bootnode multiaddrs with /p2p/<peer id>. */
  bootstrap?: string[]
  /** Reload the pool from `store` at start. Default true. */
  restore?: boolean

  // ---- libp2p environment ----
  transports: NonNullable<Libp2pOptions['transports']>
  listen?: string[]
  /** Addresses to advertise instead of the listen ones (public IP, DNS name). */
  announce?: string[]
  privateKey?: PrivateKey
  /** Where libp2p keeps the peer store: on disk in Node, IndexedDB in a browser. Default: memory. */
  datastore?: Datastore
  connectionGater?: ConnectionGater
  connectionManager?: Libp2pOptions['connectionManager']
  /** More libp2p services (relay server or client, autonat…), by name. */
  services?: Record<string, (components: any) => unknown>
  metrics?: Libp2pOptions['metrics']
  /** How often, and how patiently, each connection is pinged to find dead ones. */
  liveness?: Partial<LivenessConfig>
  gossip?: Partial<Omit<LightpoolGossipInit, 'topics' | 'appSpecificScore'>>
  /**
   * The light feed (full nodes serve it and lightpush; light nodes subscribe
   * to ≥ 2 full nodes and push their own txs). On by default.
   */
  feed?: FeedInit
  /** Protocol tuning: quotas, fetcher, sync, peer keeping. */
  net?: Partial<Pick<LightpoolServiceInit, 'quotas' | 'fetcher' | 'fetchServe' | 'sync' | 'peers' | 'announce' | 'runOnLimitedConnection'>>
}

export interface LightpoolServices {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  liveness: ConnectionLiveness
  pubsub: Gossip
  lightpool: LightpoolService
  /** full nodes with the feed on */
  feedServer?: FeedServer
  push?: PushServer
  /** light nodes with the feed on */
  feedClient?: FeedClient
  [name: string]: unknown
}

/** A running lightpool node: libp2p plus pool, validator and protocols. */
export interface Lightpool {
  readonly libp2p: Libp2p<LightpoolServices>
  readonly pool: TxPool
  readonly validator: TxValidator
  /** The one path tx bodies take into the pool; `check` is every stage but the add. */
  readonly intake: TxIntake
  readonly proofs: ProofPool
  readonly reputation: PeerReputation
  readonly net: LightpoolService
  readonly network: string
  readonly mode: NodeMode
  readonly peerId: PeerId
  /** What the reload from the store found at start: txs restored, and records dropped (unreadable, invalid, or no longer admitted). */
  readonly restored: { restored: number, dropped: number }
  /** Validates, stores durably and announces a tx. */
  submitTx: (bytes: Uint8Array) => Promise<SubmitResult>
  /** A tx's body, from the pool or fetched on demand. */
  getTx: (hash: string) => Promise<Uint8Array | undefined>
  stop: () => Promise<void>
}

/** Refuses banned peers, then defers to the environment's gater (which keeps libp2p's defaults for what it leaves out). */
function banningGater (reputation: PeerReputation, inner: ConnectionGater = {}): ConnectionGater {
  const banned = (peer: PeerId): boolean => reputation.isBanned(peer.toString())
  return {
    ...inner,
    denyDialPeer: async (peer) => banned(peer) || (await inner.denyDialPeer?.(peer) ?? false),
    denyInboundEncryptedConnection: async (peer, conn) => banned(peer) || (await inner.denyInboundEncryptedConnection?.(peer, conn) ?? false),
    denyOutboundEncryptedConnection: async (peer, conn) => banned(peer) || (await inner.denyOutboundEncryptedConnection?.(peer, conn) ?? false)
  }
}

export async function createLightpool (init: LightpoolInit): Promise<Lightpool> {
  const network = init.network ?? 'devnet'
  const mode = init.mode ?? 'full'
  const ids = protocolIds(network)
  const store = init.store ?? new MemoryPoolStore()
  const pool = new TxPool({ config: init.pool ?? {}, store })
  const validator = new TxValidator({ limits: init.txLimits ?? DEFAULT_TX_LIMITS, ...(init.verifier === undefined ? {} : { verifier: init.verifier }) })
  const intake = new TxIntake({ pool, validator })
  let restored = { restored: 0, dropped: 0 }
  if (init.restore !== false) {
    try {
      restored = await intake.restore()
    } catch (err) {
      await store.close().catch(() => {})
      throw err
    }
  }
  const proofs = new ProofPool(init.proofs)
  const reputation = new PeerReputation(init.reputation)
  let publish: ((bytes: Uint8Array) => Promise<SubmitResult>) | undefined
  const feed = feedWiring({
    ...(init.feed === undefined ? {} : { feed: init.feed }),
    mode,
    ids,
    pool,
    limits: validator.limits,
    validator,
    reputation,
    runOnLimitedConnection: init.net?.runOnLimitedConnection ?? false,
    submit: () => publish ?? (async () => { throw new Error('not started') })
  })

  const options: Libp2pOptions<LightpoolServices> = {
    addresses: { listen: init.listen ?? [], ...(init.announce === undefined ? {} : { announce: init.announce }) },
    transports: init.transports,
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    connectionGater: banningGater(reputation, init.connectionGater),
    nodeInfo: { name: 'lightpool', version: LIGHTPOOL_VERSION },
    // libp2p forgets addresses after 1 h and peers after 6 h by default; a node
    // that was down for a weekend must still find its old peers without bootnodes
    peerStore: { maxAddressAge: PEER_ADDRESS_TTL_MS, maxPeerAge: PEER_TTL_MS },
    // replaced by `liveness`, which pings the same way but spread over the interval
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      // tells connected peers when our addresses change: a browser's relayed
      // addresses exist only after its reservation, and its relay must learn them
      // to pass them on in peer exchange
      identifyPush: identifyPush(),
      ping: ping(),
      liveness: connectionLiveness(init.liveness),
      pubsub: lightpoolGossip({
        topics: [ids.txTopic, ids.proofTopic],
        appSpecificScore: (peer) => reputation.score(peer) + feed.gossipScore(peer),
        ...init.gossip
      }) as unknown as (components: any) => Gossip,
      lightpool: lightpool({ ids, mode, pool, intake, validator, proofs, reputation, bootstrap: init.bootstrap ?? [], ...init.net, ...(feed.listsPool ? { sync: { maxPagesPerPeer: 0, ...init.net?.sync } } : {}) }) as (components: any) => LightpoolService,
      ...feed.services,
      ...init.services
    }
  }
  if (init.privateKey !== undefined) options.privateKey = init.privateKey
  if (init.datastore !== undefined) options.datastore = init.datastore
  if (init.connectionManager !== undefined) options.connectionManager = init.connectionManager
  if (init.metrics !== undefined) options.metrics = init.metrics

  let libp2p: Libp2p<LightpoolServices>
  try {
    libp2p = await createLibp2p(options)
  } catch (err) {
    await pool.stop()
    await store.close().catch(() => {})
    throw err
  }
  pool.start()
  const net = libp2p.services.lightpool
  publish = async (bytes) => await net.publishTx(bytes)
  feed.bind(libp2p.services)
  const feedClient = libp2p.services.feedClient
  const submitTx = async (bytes: Uint8Array): Promise<SubmitResult> => {
    if (feedClient !== undefined) {
      const pushed = await pushToRelays({ client: feedClient, validator, pool }, bytes)
      if (pushed !== undefined) return pushed
    }
    // a full node, or a light one no relay answers: its own intake and gossip
    return await net.publishTx(bytes)
  }

  return {
    libp2p,
    pool,
    validator,
    intake,
    proofs,
    reputation,
    net,
    network,
    mode,
    peerId: libp2p.peerId,
    restored,
    submitTx,
    // a tx the user opens is also checked against every relay whose feed lists it
    getTx: async (hash) => (await Promise.all([net.getTx(hash), feedClient?.checkOpened(hash)]))[0],
    stop: async () => {
      await libp2p.stop()
      await pool.stop()
      await store.close()
    }
  }
}
