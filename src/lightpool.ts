import { noise } from '@chainsafe/libp2p-noise'
import { muxer } from './net/muxer.ts'
import type { ConnectionLiveness } from './net/liveness.ts'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { ConnectionGater, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { TxPool } from './pool/pool.ts'
import type { ProofPool } from './proof/proof-pool.ts'
import type { TxIntake, SubmitResult } from './validation/intake.ts'
import type { TxValidator } from './validation/validator.ts'
import type { Gossip } from './net/gossip.ts'
import type { PeerReputation } from './net/reputation.ts'
import type { LightpoolService } from './net/service.ts'
import type { NodeMode, ServiceFactories } from './types.ts'
import type { FeedClient, FeedServer, PushServer } from './net/feed/index.ts'
import { lightpoolCore, type LightpoolCoreInit } from './stack.ts'

export const LIGHTPOOL_VERSION = '0.1.0' // package.json's version: `npm version` rewrites this line (scripts/version.ts), test/unit/docs.test.ts checks it

/** How long stored peer addresses, and peers, stay usable for reconnecting: 14 and 30 days. */
const PEER_ADDRESS_TTL_MS = 14 * 24 * 3600_000
const PEER_TTL_MS = 30 * 24 * 3600_000

/** Everything environment-specific (transports, listen addresses, stores) is handed in; the rest has defaults (stack.ts). */
export interface LightpoolInit extends LightpoolCoreInit {
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
  services?: ServiceFactories
  metrics?: Libp2pOptions['metrics']
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
  const core = lightpoolCore(init)
  const { pool, store, reputation } = core
  let restored = { restored: 0, dropped: 0 }
  if (init.restore !== false) {
    try {
      restored = await core.intake.restore()
    } catch (err) {
      // `err` is the failure to report; the store is closed as best it can be on the way out
      await store.close().catch(() => {})
      throw err
    }
  }

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
      ...core.services,
      ...init.services
    } as unknown as Libp2pOptions<LightpoolServices>['services']
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
    // the pool has flushed what it holds: a store that then fails to close has nothing left to lose, and stop must finish
    await store.close().catch(() => {})
    throw err
  }
  pool.start()
  const api = core.bind(libp2p.services)

  return {
    libp2p,
    pool,
    validator: core.validator,
    intake: core.intake,
    proofs: core.proofs,
    reputation,
    net: libp2p.services.lightpool,
    network: core.network,
    mode: core.mode,
    peerId: libp2p.peerId,
    restored,
    submitTx: api.submitTx,
    getTx: api.getTx,
    stop: async () => {
      await libp2p.stop()
      await pool.stop()
      await store.close()
    }
  }
}
