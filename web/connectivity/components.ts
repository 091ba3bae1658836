import type { ComponentLogger, Connection, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, TransportManager } from '@libp2p/interface-internal'

/** What of identify the connectivity services use: identify a peer again on a chosen connection. */
export interface IdentifyService { identify: (connection: Connection) => Promise<unknown> }

/** What of gossipsub the watchdog reads (its public face; the private table is gossipsub-streams-patch.ts's business). */
export interface GossipSubscribers { getSubscribers: (topic: string) => Array<{ toString: () => string }> }

/**
 * The libp2p components the connectivity services use, declared. `identify`
 * and `pubsub` are other services: libp2p's components object throws when
 * asked for one that is not configured, so they are read through `optional`.
 */
export interface ConnectivityComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  identify?: IdentifyService
  pubsub?: GossipSubscribers
}

/** A service among the components, or undefined if this node has none by that name. */
export function optional<K extends 'identify' | 'pubsub'> (components: ConnectivityComponents, name: K): ConnectivityComponents[K] | undefined {
  try {
    return components[name]
  } catch {
    return undefined
  }
}
