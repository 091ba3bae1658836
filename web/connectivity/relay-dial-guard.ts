/**
 * Makes the connectivity service the only one that dials a configured relay
 * while it is down. Others try too — libp2p's reconnect queue, the relay
 * transport's discovery, the peer keeper — and the relay transport
 * remembers a relay whose dial failed with DialError as "invalid" and never
 * reserves on it again until something else resets that memory; so after an
 * outage of more than a few seconds the tab would reconnect but stay without
 * a reservation. Their dials are refused by the gater (DialDeniedError,
 * which it does not hold against the relay) while the relay is disconnected
 * and this service is not dialling it; a connected relay is never refused.
 */
export class RelayDialGuard {
  private readonly relays = new Set<string>()
  private readonly dialing = new Set<string>()
  private isConnected: (peer: string) => boolean = () => false

  setRelays (peers: Iterable<string>): void {
    for (const p of peers) this.relays.add(p)
  }

  connectedBy (fn: (peer: string) => boolean): void {
    this.isConnected = fn
  }

  /** Runs our own dial of `peer`, which the gater lets through. */
  async allowDuring<T> (peer: string, fn: () => Promise<T>): Promise<T> {
    this.dialing.add(peer)
    try {
      return await fn()
    } finally {
      this.dialing.delete(peer)
    }
  }

  /** For the gater's `denyDialPeer`. */
  denies (peer: string): boolean {
    return this.relays.has(peer) && !this.dialing.has(peer) && !this.isConnected(peer)
  }
}
