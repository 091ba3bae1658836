import { isIPv6 } from 'node:net'
import { getNetConfig, isNetworkAddress } from '@libp2p/utils'
import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Limits on what one remote address may hold of a node's p2p listeners
 * (TCP and WebSocket). libp2p alone caps the handshakes in progress at 10 for
 * every transport and address together (`maxIncomingPendingConnections`), so
 * ten idle sockets from one host locked every new peer out (measured: honest
 * dials 0/38 over TCP and 0/38 over WebSocket while 12 sockets idled). Here
 * the global cap is larger and each address gets a small share of it, so an
 * attacker holds at most its share however many sockets it opens, and every
 * other address still gets in.
 *
 * "An address" is an IPv4 address, or an IPv6 /64: one IPv6 host usually has
 * a whole /64 to pick source addresses from.
 */
export interface InboundLimitsConfig {
  /**
   * Inbound connections still in their handshake (multistream-select, noise,
   * yamux), all addresses and transports together: libp2p's
   * `maxIncomingPendingConnections` (its default: 10). Honest handshakes take
   * milliseconds, so this is only reached under attack. Default 256.
   */
  maxPendingConnections: number
  /**
   * Inbound handshakes in progress from one address. A NAT with many browsers
   * behind it rarely has more than a few mid-handshake at once. Default 8.
   */
  maxPendingPerAddress: number
  /**
   * Inbound connections one address may hold open, handshaking or not, and,
   * on the WebSocket port, sockets before their upgrade. A relay whose
   * browsers sit behind one NAT may need more. Default 64.
   */
  maxConnectionsPerAddress: number
  /**
   * New inbound connections per second from one address before libp2p
   * refuses more (`inboundConnectionThreshold`, its default: 5, too few for a
   * NAT full of browsers reconnecting after a relay restart). Default 100.
   */
  connectionsPerSecondPerAddress: number
  /**
   * How long an inbound connection has, from its first byte to a finished
   * handshake (libp2p's `inboundUpgradeTimeout`; on the WebSocket port the
   * HTTP upgrade must finish within it too). Default 10 000 ms (libp2p's).
   */
  upgradeTimeoutMs: number
  /**
   * How long a socket on the WebSocket port may stay silent before its HTTP
   * upgrade is done (libp2p sets no limit: a socket that never sent a byte
   * stayed open for good). A TCP socket is handed to the handshake at once,
   * so `upgradeTimeoutMs` bounds it; once connected, libp2p's own 2-minute
   * inactivity timeout applies (liveness pings every 10 s keep honest
   * connections busier than that). Default 10 000 ms.
   */
  socketIdleTimeoutMs: number
}

export const DEFAULT_INBOUND_LIMITS_CONFIG: Readonly<InboundLimitsConfig> = Object.freeze({
  maxPendingConnections: 256,
  maxPendingPerAddress: 8,
  maxConnectionsPerAddress: 64,
  connectionsPerSecondPerAddress: 100,
  upgradeTimeoutMs: 10_000,
  socketIdleTimeoutMs: 10_000
})

/**
 * The key an address counts under: an IPv4 address as is, an IPv6 address as
 * its /64 prefix (IPv4-mapped IPv6 as the IPv4 address).
 */
export function addressKey (ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1]!
  if (!isIPv6(ip)) return ip
  const [head = '', tail = ''] = ip.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left
  return groups.slice(0, 4).map(g => parseInt(g, 16).toString(16)).join(':') + '::/64'
}

function keyOf (addr: Multiaddr): string | undefined {
  // relayed (/p2p-circuit) and unix-socket connections have no IP to count by
  if (!isNetworkAddress(addr)) return undefined
  const host = getNetConfig(addr).host
  return host === undefined ? undefined : addressKey(host)
}

export interface InboundGateStats {
  /** Inbound connections refused because their address had `maxPendingPerAddress` handshakes in progress. */
  refusedPending: number
  /** Inbound connections refused because their address held `maxConnectionsPerAddress`. */
  refusedConnections: number
  /** WebSocket sockets closed as accepted, before any HTTP, because their address held `maxConnectionsPerAddress` sockets (limitedWebSockets counts these). */
  refusedSockets: number
}

/**
 * Counts inbound connections by address through libp2p's connection gater:
 * a connection is pending from `denyInboundConnection` (called as soon as the
 * socket is accepted) until `denyInboundUpgradedConnection` (the handshake is
 * done), and counted against its address until it closes.
 */
export class InboundAddressGate {
  readonly stats: InboundGateStats = { refusedPending: 0, refusedConnections: 0, refusedSockets: 0 }
  private readonly pending = new Map<string, number>()
  private readonly open = new Map<string, number>()
  private readonly handshaking = new WeakMap<MultiaddrConnection, string>()

  private readonly limits: Pick<InboundLimitsConfig, 'maxPendingPerAddress' | 'maxConnectionsPerAddress'>

  constructor (limits: Pick<InboundLimitsConfig, 'maxPendingPerAddress' | 'maxConnectionsPerAddress'>) {
    this.limits = limits
  }

  /** Connections (handshaking or open) counted against `key` now. */
  openFrom (key: string): number { return this.open.get(key) ?? 0 }
  pendingFrom (key: string): number { return this.pending.get(key) ?? 0 }

  readonly gater: Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'> = {
    denyInboundConnection: (maConn) => {
      const key = keyOf(maConn.remoteAddr)
      if (key === undefined) return false
      if (this.pendingFrom(key) >= this.limits.maxPendingPerAddress) {
        this.stats.refusedPending++
        return true
      }
      if (this.openFrom(key) >= this.limits.maxConnectionsPerAddress) {
        this.stats.refusedConnections++
        return true
      }
      bump(this.pending, key, 1)
      bump(this.open, key, 1)
      this.handshaking.set(maConn, key)
      maConn.addEventListener('close', () => {
        this.handshakeDone(maConn)
        bump(this.open, key, -1)
      }, { once: true })
      return false
    },
    denyInboundUpgradedConnection: (_peer, maConn) => {
      this.handshakeDone(maConn)
      return false
    }
  }

  private handshakeDone (maConn: MultiaddrConnection): void {
    const key = this.handshaking.get(maConn)
    if (key === undefined) return
    this.handshaking.delete(maConn)
    bump(this.pending, key, -1)
  }
}

function bump (counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by
  if (n <= 0) counts.delete(key)
  else counts.set(key, n)
}
