import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import type { PrivateKey } from '@libp2p/interface'
import { IDBDatastore } from 'datastore-idb'
import type { Datastore } from 'interface-datastore'
import { createLightpool, type Lightpool, type LightpoolInit, protocolIds, type NodeMode, type PoolStore, type RelayFeedStats } from '../src/index.ts'
import { type BrowserConnectivity, browserConnectivity, connectivityConfig, RelayDialGuard, type ConnectivityInit } from './connectivity.ts'
import { browserGater, insecureRule, type InsecureRule } from './gater.ts'
import { IdbPoolStore, type IdbPoolStoreInit } from './store/idb-pool-store.ts'
import { loadOrCreateIdentity } from './store/settings.ts'
import { acquireTabSlot, slotSuffix } from './tab-slot.ts'

export interface BrowserLightpoolInit {
  /** Relay multiaddrs (WebSocket, with /p2p/<peer id>): the tab's way in, and its bootstrap list. */
  relays: string[]
  /** Default "devnet". */
  network?: string
  /** Default "light": keep announcements, fetch bodies on demand. */
  mode?: NodeMode
  /**
   * Where the pool lives. Default: IndexedDB (`IdbPoolStore`, one database per
   * network and tab slot). `'memory'` keeps nothing across reloads.
   */
  store?: PoolStore | 'memory'
  /** Options of the default IndexedDB store (budget, quota share…). */
  storeOptions?: Omit<IdbPoolStoreInit, 'name'>
  /** libp2p's peer store. Default: IndexedDB (datastore-idb), so a reloaded tab finds its peers again; memory when `store` is 'memory'. */
  datastore?: Datastore | 'memory'
  /**
   * Allow ws:// and private addresses. Default: only when the page came over
   * plain http from a relay's own host (see gater.ts). Tests set true.
   */
  allowInsecure?: boolean
  /** ICE servers for WebRTC between browsers. Default none (host candidates only; no public STUN). */
  iceServers?: RTCIceServer[]
  /** The tab's libp2p key. Default: kept in IndexedDB per network and tab slot. */
  privateKey?: PrivateKey
  connectivity?: Omit<ConnectivityInit, 'relays'>
  /** Pass-through to the core factory (pool caps, protocol tuning…). */
  pool?: LightpoolInit['pool']
  net?: LightpoolInit['net']
  gossip?: LightpoolInit['gossip']
  txLimits?: LightpoolInit['txLimits']
  verifier?: LightpoolInit['verifier']
  /** The light feed. Default on, subscribed to the relays first (see src/net/feed). */
  feed?: LightpoolInit['feed']
}

/** A lightpool node in a browser tab. */
export interface BrowserLightpool extends Lightpool {
  readonly connectivity: BrowserConnectivity
  /** The IndexedDB store, when the default one is used. */
  readonly storage: IdbPoolStore | undefined
  /** This tab's slot (tab-slot.ts): which databases and key it uses. */
  readonly slot: number
  readonly relays: string[]
  readonly insecure: InsecureRule
  /** What the feed of each relay this tab follows has brought, and what its checks found. */
  feedStats: () => RelayFeedStats[]
}

/** The peer ids in relay multiaddrs (…/p2p/<id>). */
function relayPeerIds (relays: string[]): string[] {
  const ids: string[] = []
  for (const addr of relays) {
    const id = /\/p2p\/([^/]+)$/.exec(addr)?.[1]
    if (id !== undefined && !ids.includes(id)) ids.push(id)
  }
  return ids
}

/**
 * Starts a lightpool node in a browser tab: WebSockets to relays, a relay
 * reservation (so other tabs can reach it), WebRTC to other tabs, the pool
 * in IndexedDB. Resolves once the stored pool is loaded and libp2p is
 * started; connecting to relays goes on in the background.
 */
export async function createBrowserLightpool (init: BrowserLightpoolInit): Promise<BrowserLightpool> {
  if (init.relays.length === 0) throw new TypeError('createBrowserLightpool: at least one relay address is needed')
  const network = init.network ?? 'devnet'
  const mode = init.mode ?? 'light'
  const tab = await acquireTabSlot(network)
  const suffix = slotSuffix(tab.slot)
  const insecure = insecureRule(init.allowInsecure, init.relays)

  let storage: IdbPoolStore | undefined
  let store: PoolStore | undefined
  if (init.store === undefined) {
    try {
      storage = await IdbPoolStore.open({ ...init.storeOptions, name: `lightpool-${network}${suffix}-pool` })
      store = storage
    } catch (err) {
      // no IndexedDB here (some private modes): run, but keep nothing across reloads
      console.warn('lightpool: IndexedDB unavailable, the pool is kept in memory only', err)
    }
  } else if (init.store !== 'memory') {
    store = init.store
  }
  let datastore: Datastore | undefined
  let peerDb: IDBDatastore | undefined
  // IndexedDB by default; not when the tab keeps nothing, or IndexedDB just failed to open
  const idbPeers = init.datastore === undefined && init.store !== 'memory' && !(init.store === undefined && storage === undefined)
  if (idbPeers) {
    try {
      peerDb = new IDBDatastore(`lightpool-${network}${suffix}-peers`)
      await peerDb.open()
      datastore = peerDb
    } catch (err) {
      peerDb = undefined
      console.warn('lightpool: IndexedDB unavailable for the peer store, keeping peers in memory', err)
    }
  } else if (init.datastore !== undefined && init.datastore !== 'memory') {
    datastore = init.datastore
  }
  // a tab that keeps nothing (store 'memory') gets a fresh peer id per load too
  const privateKey = init.privateKey ?? (init.store === 'memory' ? await generateKeyPair('Ed25519') : await loadOrCreateIdentity(network, tab.slot))
  const reservations = Math.min(connectivityConfig(init.connectivity ?? {}).maxReservations, init.relays.length)
  // the connectivity service alone redials a relay that is down (see RelayDialGuard)
  const guard = new RelayDialGuard()
  const gater = browserGater(insecure)

  let node: Lightpool
  try {
    node = await createLightpool({
      network,
      mode,
      ...(store === undefined ? {} : { store }),
      ...(datastore === undefined ? {} : { datastore }),
      privateKey,
      bootstrap: init.relays,
      transports: [
        webSockets(),
        webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }),
        circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
      ],
      // one "/p2p-circuit" per reservation wanted: the transport reserves on any relay it
      // is connected to, and again after that relay comes back; "/webrtc" accepts WebRTC
      // dials signalled through those reservations
      listen: [...Array.from({ length: reservations }, () => '/p2p-circuit'), '/webrtc'],
      connectionGater: { ...gater, denyDialPeer: async (peer) => guard.denies(peer.toString()) || (await gater.denyDialPeer?.(peer) ?? false) },
      connectionManager: { maxConnections: 64 },
      services: { connectivity: browserConnectivity({ gossipTopic: protocolIds(network).txTopic, ...init.connectivity, relays: init.relays, guard }) },
      // until WebRTC is up, two tabs talk through the relay
      gossip: { ...init.gossip, runOnLimitedConnection: true },
      net: {
        ...init.net,
        runOnLimitedConnection: true,
        // peer exchange through the relay is how tabs find each other: every 4 s while
        // below 4 peers; stored peers that are gone (closed tabs) back off to a minute
        peers: { minPeers: 4, maintenanceIntervalMs: 4_000, retryBaseMs: 2_000, retryMaxMs: 60_000, ...init.net?.peers }
      },
      // the tab lists the pool from its relays' feeds (gossipsub's mesh has room for 12 peers, a relay has hundreds of tabs)
      feed: { ...init.feed, client: { targets: relayPeerIds(init.relays), ...init.feed?.client } },
      ...(init.pool === undefined ? {} : { pool: init.pool }),
      ...(init.txLimits === undefined ? {} : { txLimits: init.txLimits }),
      ...(init.verifier === undefined ? {} : { verifier: init.verifier })
    })
  } catch (err) {
    // `err` is the failure to report; the peer database is dropped with the tab either way
    await peerDb?.close().catch(() => {})
    tab.release()
    throw err
  }

  const connectivity = node.libp2p.services.connectivity as BrowserConnectivity
  const stop = node.stop
  return Object.assign(node, {
    connectivity,
    storage,
    slot: tab.slot,
    relays: [...init.relays],
    insecure,
    feedStats: () => node.libp2p.services.feedClient?.stats() ?? [],
    stop: async () => {
      try {
        await stop()
      } finally {
        // the node is stopped; a peer database that fails to close is dropped with the tab
        await peerDb?.close().catch(() => {})
        tab.release()
      }
    }
  })
}
