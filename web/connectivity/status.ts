import type { Connection } from '@libp2p/interface'
import { connectionKind, type ConnectionKind } from './kind.ts'

/**
 * What the tab's connectivity looks like to its UI (web/ui) and tests: the
 * relays' state, every open connection, and the events that say when it changed.
 */

export type RelayState = 'connected' | 'connecting' | 'waiting'

export interface RelayStatus {
  addr: string
  peerId: string
  state: RelayState
  /** This tab holds a reservation on the relay (others can reach it through it). */
  reserved: boolean
  failures: number
  /** Unix ms of the next redial, while waiting. */
  retryAt?: number
}

export interface ConnectionInfo {
  peerId: string
  kind: ConnectionKind
  remoteAddr: string
  direction: 'inbound' | 'outbound'
  /** The peer is one of the configured relays. */
  relay: boolean
  limited: boolean
  openedAt: number
}

export interface ConnectivityStatus {
  relays: RelayStatus[]
  connections: ConnectionInfo[]
  /** Distinct peers connected. */
  peers: number
  /** Other browsers with a direct WebRTC connection. */
  webrtcPeers: number
}

export interface UpgradeRecord {
  peer: string
  /** From the first try to the open connection. */
  ms: number
  attempts: number
  at: number
}

export interface ConnectivityEvents {
  /** Something in `status()` changed. */
  change: undefined
  'relay:connected': { peer: string }
  'relay:lost': { peer: string }
  'webrtc:connected': UpgradeRecord
  'webrtc:failed': { peer: string, attempts: number, error: string }
}

/** The status from the relays' and the connection manager's state. */
export function connectivityStatus (relays: RelayStatus[], conns: Connection[], isRelay: (peer: string) => boolean): ConnectivityStatus {
  const connections: ConnectionInfo[] = conns.filter(c => c.status === 'open').map(c => ({
    peerId: c.remotePeer.toString(),
    kind: connectionKind(c.remoteAddr),
    remoteAddr: c.remoteAddr.toString(),
    direction: c.direction,
    relay: isRelay(c.remotePeer.toString()),
    limited: c.limits !== undefined,
    openedAt: c.timeline.open
  }))
  const webrtc = new Set(connections.filter(c => c.kind === 'webrtc').map(c => c.peerId))
  return { relays, connections, peers: new Set(connections.map(c => c.peerId)).size, webrtcPeers: webrtc.size }
}
