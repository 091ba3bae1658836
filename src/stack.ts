import { connectionLiveness, type LivenessConfig } from './net/liveness.ts'
import { TxPool, type PoolConfig } from './pool/pool.ts'
import { MemoryPoolStore, type PoolStore } from './pool/store.ts'
import { ProofPool, type ProofPoolConfig } from './proof/proof-pool.ts'
import { DEFAULT_TX_LIMITS, type TxLimits } from './tx/limits.ts'
import type { TxVerifier } from './tx/verifier.ts'
import { TxIntake, type SubmitResult } from './validation/intake.ts'
import { TxValidator } from './validation/validator.ts'
import { lightpoolGossip, type Gossip, type LightpoolGossipInit } from './net/gossip.ts'
import { protocolIds, type ProtocolIds } from './net/protocols.ts'
import { PeerReputation, type ReputationConfig } from './net/reputation.ts'
import { lightpool, type LightpoolService, type LightpoolServiceInit } from './net/service.ts'
import type { NodeMode, ServiceFactories } from './types.ts'
import { feedWiring, pushToRelays, type FeedClient, type FeedInit, type FeedServices, type FeedWiring } from './net/feed/index.ts'

/**
 * What a lightpool node is, apart from the libp2p it runs on: the pool, its
 * validator and intake, proofs, peer reputation, and the libp2p service
 * factories of its protocols (liveness, gossip, the lightpool protocols, the
 * light feed). `createLightpool` (lightpool.ts) builds its own libp2p around
 * them; `lightpoolService` (libp2p.ts) runs them inside a libp2p node the
 * caller built. One wiring, so the two cannot drift apart.
 */
export interface LightpoolCoreInit {
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

/** The services a lightpool node registers with libp2p, by the names the rest of the code reads them under. */
export interface LightpoolCoreServices extends FeedServices {
  pubsub: Gossip
  lightpool: LightpoolService
}

export interface LightpoolCore {
  readonly network: string
  readonly mode: NodeMode
  readonly ids: ProtocolIds
  readonly store: PoolStore
  readonly pool: TxPool
  readonly validator: TxValidator
  readonly intake: TxIntake
  readonly proofs: ProofPool
  readonly reputation: PeerReputation
  /** libp2p service factories, by name: liveness, pubsub, lightpool and the feed's. */
  readonly services: ServiceFactories
  /** Once libp2p has made the services: wires them to each other and gives the node's submit and fetch. */
  bind: (services: LightpoolCoreServices) => LightpoolCoreApi
}

export interface LightpoolCoreApi {
  /** Validates, stores durably and announces a tx (a light node pushes it to its relays). */
  submitTx: (bytes: Uint8Array) => Promise<SubmitResult>
  /** A tx's body, from the pool or fetched on demand (and checked against every relay whose feed lists it). */
  getTx: (hash: string) => Promise<Uint8Array | undefined>
}

export function lightpoolCore (init: LightpoolCoreInit): LightpoolCore {
  const network = init.network ?? 'devnet'
  const mode = init.mode ?? 'full'
  const ids = protocolIds(network)
  const store = init.store ?? new MemoryPoolStore()
  const pool = new TxPool({ config: init.pool ?? {}, store })
  const validator = new TxValidator({ limits: init.txLimits ?? DEFAULT_TX_LIMITS, ...(init.verifier === undefined ? {} : { verifier: init.verifier }) })
  const intake = new TxIntake({ pool, validator })
  const proofs = new ProofPool(init.proofs)
  const reputation = new PeerReputation(init.reputation)
  let publish: ((bytes: Uint8Array) => Promise<SubmitResult>) | undefined
  const feed: FeedWiring = feedWiring({
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
  const services: ServiceFactories = {
    liveness: connectionLiveness(init.liveness),
    pubsub: lightpoolGossip({
      topics: [ids.txTopic, ids.proofTopic],
      appSpecificScore: (peer) => reputation.score(peer) + feed.gossipScore(peer),
      ...init.gossip
    }),
    lightpool: lightpool({ ids, mode, pool, intake, validator, proofs, reputation, bootstrap: init.bootstrap ?? [], ...init.net, ...(feed.listsPool ? { sync: { maxPagesPerPeer: 0, ...init.net?.sync } } : {}) }),
    ...feed.services
  }
  return {
    network,
    mode,
    ids,
    store,
    pool,
    validator,
    intake,
    proofs,
    reputation,
    services,
    bind: (s) => {
      const net = s.lightpool
      publish = async (bytes) => await net.publishTx(bytes)
      feed.bind(s)
      const feedClient: FeedClient | undefined = s.feedClient
      return {
        submitTx: async (bytes) => {
          if (feedClient !== undefined) {
            const pushed = await pushToRelays({ client: feedClient, validator, pool }, bytes)
            if (pushed !== undefined) return pushed
          }
          // a full node, or a light one no relay answers: its own intake and gossip
          return await net.publishTx(bytes)
        },
        getTx: async (hash) => (await Promise.all([net.getTx(hash), feedClient?.checkOpened(hash)]))[0]
      }
    }
  }
}
