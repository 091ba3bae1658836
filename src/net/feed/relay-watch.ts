import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Logger } from '@libp2p/interface'
import type { FeedClientComponents, FeedClientConfig } from './client-config.ts'
import type { RelayFeed, RelaySet } from './relay-set.ts'

/**
 * Keeps a followed relay's feed from resting `down` while the relay is
 * reachable:
 *
 * - a new connection to a relay ends its backoff: it is subscribed to at
 *   once, not after the rest of a wait that grew while it was away (a
 *   restart, a network change);
 * - a feed that ended with its connection while another connection to the
 *   relay is up (the connection was replaced) is due at once too;
 * - the watchdog: a relay connected for `watchdogMs` with no live feed has
 *   its connections closed, so the dialler (a tab's RelayKeeper, a node's
 *   PeerKeeper) opens a fresh one. libp2p takes a connection for open while
 *   its socket is, even when its muxer has closed (a `close()` that timed
 *   out, the remote's GoAway): such a connection opens no stream, and
 *   nothing else would end it. Only while the client wants another
 *   subscription (it follows fewer than `subscriptions` relays), and not for
 *   a relay that refused (it is full, or does not speak the feed: the
 *   backoff is the answer) or that is distrusted.
 */
export class RelayWatch {
  private readonly components: FeedClientComponents
  private readonly relays: RelaySet
  private readonly config: Readonly<FeedClientConfig>
  private readonly log: Logger | undefined
  /** Looks for relays to subscribe to (the client's maintain). */
  private readonly wake: () => void
  /** Does the client want another subscription? A relay not needed (the client follows enough others) is left alone. */
  private readonly wanting: () => boolean

  constructor (init: { components: FeedClientComponents, relays: RelaySet, config: Readonly<FeedClientConfig>, log: Logger | undefined, wake: () => void, wanting: () => boolean }) {
    this.components = init.components
    this.relays = init.relays
    this.config = init.config
    this.log = init.log
    this.wake = init.wake
    this.wanting = init.wanting
  }

  start (): void {
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
  }

  stop (): void {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
  }

  /** A subscription to `peer` over `connection` ended: if that connection is gone and another is up, subscribe again at once. */
  endedWith (peer: string, connection: Connection | undefined): void {
    if (connection === undefined || connection.status === 'open') return
    if (this.openConnections(peer).length > 0) this.relays.resetBackoff(peer, 'its connection was replaced')
  }

  /**
   * Opening a stream to `peer` failed with the connection closed, though
   * libp2p lists it as open (its muxer went and its socket stayed): close
   * it now, as the watchdog would in `watchdogMs`.
   */
  closeDead (peer: string, why: string): void {
    const relay = this.relays.get(peer)
    const conns = this.openConnections(peer)
    if (relay === undefined || conns.length === 0 || !this.wanting()) return
    this.reset(relay, conns, `its connection opens no stream: ${why}`, Date.now())
  }

  /** The watchdog; runs with the client's maintenance. */
  check (now: number): void {
    if (!this.wanting()) return
    for (const relay of this.relays.all()) {
      // a subscription in flight is bounded by its own timeouts (the stream's open, then its silence):
      // on a busy machine opening one took 3 s, and closing it then only made the machine busier
      if (relay.unfedSince === undefined || relay.refused || relay.state === 'subscribing') continue
      if (relay.counters.distrustedUntil !== undefined && relay.counters.distrustedUntil > now) continue
      const conns = this.openConnections(relay.peer)
      if (conns.length === 0) continue
      const since = Math.max(relay.unfedSince, ...conns.map(c => c.timeline.open))
      if (now - since < this.config.watchdogMs) continue
      this.reset(relay, conns, `no live feed for ${now - since} ms on an open connection`, now)
    }
  }

  private reset (relay: RelayFeed, conns: Connection[], reason: string, now: number): void {
    relay.counters.watchdogResets++
    this.relays.record(relay, { at: now, event: 'reset', reason })
    this.log?.('relay %s: %s - closing its %d connection(s)', relay.peer, reason, conns.length)
    // the watch starts over with the new connection
    relay.unfedSince = now
    for (const c of conns) c.abort(new Error(`feed watchdog: ${reason}`))
  }

  private openConnections (peer: string): Connection[] {
    return this.components.connectionManager.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer.toString()
    if (this.relays.get(peer) === undefined) return
    this.relays.resetBackoff(peer, 'new connection')
    this.wake()
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer.toString()
    if (this.relays.get(peer) === undefined) return
    if (!this.openConnections(peer).some(c => c !== evt.detail)) return
    this.relays.resetBackoff(peer, 'its connection was replaced')
    this.wake()
  }
}
