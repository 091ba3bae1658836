import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

export type ConnectionKind = 'websocket' | 'relay' | 'webrtc' | 'webrtc-direct' | 'webtransport' | 'tcp' | 'other'

/** How a connection is carried, from its remote address. */
export function connectionKind (addr: Multiaddr | string): ConnectionKind {
  const names = (typeof addr === 'string' ? multiaddr(addr) : addr).getComponents().map(c => c.name)
  if (names.includes('webrtc')) return 'webrtc'
  if (names.includes('webrtc-direct')) return 'webrtc-direct'
  if (names.includes('p2p-circuit')) return 'relay'
  if (names.includes('webtransport')) return 'webtransport'
  if (names.includes('ws') || names.includes('wss')) return 'websocket'
  if (names.includes('tcp')) return 'tcp'
  return 'other'
}
