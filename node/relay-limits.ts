import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { addressKey } from './p2p-limits.ts'
import { getNetConfig, isNetworkAddress } from '@libp2p/utils'

/**
 * How long a relay reservation lives and how many one address may hold.
 * The circuit relay server keeps a reservation for its TTL (libp2p: 2 hours)
 * whether or not its holder is still connected: eight throwaway identities
 * that reserved and left kept `--relay-max-reservations 8` full for 7+
 * minutes, and a new browser was refused. Here a reservation is freed as soon
 * as its holder's last connection closes, the TTL is shorter (the libp2p
 * client refreshes its reservation 5 minutes before expiry, or every 30 s
 * when the TTL is shorter than that), and one address holds at most a few.
 */
export interface RelayLimitsConfig {
  /**
   * Reservations one IPv4 address or IPv6 /64 may hold at once, so a single
   * host cannot take every slot with throwaway identities. Browsers behind
   * one NAT share an address: raise it for a relay that serves such a crowd.
   * Default 16.
   */
  maxReservationsPerAddress: number
  /**
   * How long a reservation lasts unless its holder refreshes it (libp2p's
   * `reservationTtl`, default 2 h). Only matters for a holder that stays
   * connected and stops refreshing; one that disconnects loses its
   * reservation at once. Default 30 min.
   */
  reservationTtlMs: number
}

export const DEFAULT_RELAY_LIMITS_CONFIG: Readonly<RelayLimitsConfig> = Object.freeze({
  maxReservationsPerAddress: 16,
  reservationTtlMs: 30 * 60_000
})

function keyOf (addr: Multiaddr): string | undefined {
  if (!isNetworkAddress(addr)) return undefined
  const host = getNetConfig(addr).host
  return host === undefined ? undefined : addressKey(host)
}

/** How long a granted reservation counts here before the relay's own store must show it. */
const GRANT_SETTLE_MS = 5_000

export interface RelayGateStats {
  /** Reservations refused because the asking peer's address held `maxReservationsPerAddress`. */
  refusedPerAddress: number
  /** Reservations freed because their holder disconnected. */
  freedOnDisconnect: number
}

/**
 * The relay's reservation policy. Its `gater` goes into the node's connection
 * gater before libp2p starts; `attach` then gives it the running node and
 * relay service, and frees a reservation whenever its holder disconnects.
 */
export class RelayReservationGate {
  readonly stats: RelayGateStats = { refusedPerAddress: 0, freedOnDisconnect: 0 }
  private node: Libp2p | undefined
  private relay: CircuitRelayService | undefined
  /**
   * Reservations allowed here and not yet in the relay's store, by peer: the
   * relay stores one a tick after asking the gater, so requests that arrive
   * together would otherwise all see the same count.
   */
  private readonly granted = new Map<string, { key: string, at: number }>()

  private readonly limits: Pick<RelayLimitsConfig, 'maxReservationsPerAddress'>

  constructor (limits: Pick<RelayLimitsConfig, 'maxReservationsPerAddress'>) {
    this.limits = limits
  }

  readonly gater: Pick<ConnectionGater, 'denyInboundRelayReservation'> = {
    denyInboundRelayReservation: (peer) => this.deny(peer)
  }

  attach (node: Libp2p, relay: CircuitRelayService): void {
    this.node = node
    this.relay = relay
    node.addEventListener('peer:disconnect', (evt) => { this.free(evt.detail) })
  }

  private deny (peer: PeerId): boolean {
    const { node, relay } = this
    if (node === undefined || relay === undefined) return false
    // a refresh keeps the slot its holder already has
    if (relay.reservations.has(peer)) return false
    const direct = node.getConnections(peer).find(c => !c.remoteAddr.getComponents().some(part => part.name === 'p2p-circuit'))
    const key = direct === undefined ? undefined : keyOf(direct.remoteAddr)
    if (key === undefined) return false
    const holders = new Set<string>()
    for (const [holder, reservation] of relay.reservations.entries()) {
      if (keyOf(reservation.addr) === key) holders.add(holder.toString())
    }
    const now = Date.now()
    for (const [holder, grant] of this.granted) {
      if (now - grant.at > GRANT_SETTLE_MS) this.granted.delete(holder)
      else if (grant.key === key) holders.add(holder)
    }
    if (holders.size >= this.limits.maxReservationsPerAddress) {
      this.stats.refusedPerAddress++
      return true
    }
    this.granted.set(peer.toString(), { key, at: now })
    return false
  }

  private free (peer: PeerId): void {
    this.granted.delete(peer.toString())
    const reservation = this.relay?.reservations.get(peer)
    if (reservation === undefined) return
    // stop its TTL timer first: it would otherwise delete a reservation the same peer makes after reconnecting
    reservation.signal.clear()
    this.relay!.reservations.delete(peer)
    this.stats.freedOnDisconnect++
  }
}
