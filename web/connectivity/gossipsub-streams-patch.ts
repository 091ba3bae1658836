import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '@libp2p/interface'
import { ignoreError } from '../../src/index.ts'
import { optional, type ConnectivityComponents } from './components.ts'
import type { ConnectivityConfig } from './config.ts'
import { connectionKind } from './kind.ts'
import type { Reidentifier } from './reidentify.ts'

/**
 * A watchdog for a gossipsub race (@libp2p/gossipsub 17.x), the one place
 * lightpool reaches into gossipsub's private state.
 *
 * The race: when a connection closes just as gossipsub opens its outbound
 * stream on it — the relayed connection closed at the WebRTC upgrade, or
 * lost with the relay — gossipsub can miss the stream's close (it listens for
 * it only after an await, in `createOutboundStream`) and keep the dead stream
 * as that peer's outbound stream for good: our gossip never reaches the peer
 * again and our subscriptions neither. Measured here: about once in 20
 * upgrades under CPU load (test/browser/two-tabs.test.ts prints the repairs).
 *
 * 1. Our side: an outbound stream gossipsub still holds in its private
 *    `streamsOutbound` table (peer id → OutboundStream with a `rawStream`)
 *    but which is closed is dropped from the table, and the peer identified
 *    again, which makes gossipsub open a new one on the live connection.
 * 2. The peer's side, which we cannot see: a WebRTC peer connected for
 *    `gossipGraceMs` whose subscription never reached us gets its connection
 *    reset (once per `gossipResetIntervalMs` at most, and only while a relay
 *    is up to signal a new one); both gossipsubs forget it on disconnect, and
 *    the redial starts clean.
 *
 * test/net/gossipsub-streams-patch.test.ts fails if an upgrade renames the
 * private table or the stream's fields (the watchdog would then silently do
 * nothing), on a real gossipsub.
 */

/** The private part of gossipsub the repair reads and edits. */
interface OutboundStreams { streamsOutbound?: unknown }

/** Stream states after which a stream carries nothing more. */
const DEAD_STREAM_STATES = new Set(['closed', 'aborted', 'reset'])

/** Peer ids whose outbound stream gossipsub holds although it is dead; undefined if gossipsub has no such table (an upgrade changed it). */
export function deadOutboundStreams (pubsub: unknown): string[] | undefined {
  const table = (pubsub as OutboundStreams).streamsOutbound
  if (!(table instanceof Map)) return undefined
  const dead: string[] = []
  for (const [id, stream] of table.entries() as IterableIterator<[string, { rawStream?: { status?: string } }]>) {
    const status = stream.rawStream?.status
    if (status !== undefined && DEAD_STREAM_STATES.has(status)) dead.push(id)
  }
  return dead
}

/** Drops a peer's dead outbound stream from gossipsub's table, so the next identify makes it open a new one. */
export function dropOutboundStream (pubsub: unknown, peer: string): void {
  const table = (pubsub as OutboundStreams).streamsOutbound
  if (table instanceof Map) table.delete(peer)
}

export interface GossipWatchdogInit {
  topic: string
  config: Readonly<ConnectivityConfig>
  log: Logger
  reidentifier: Reidentifier
  /** Is a relay up to signal a new WebRTC connection? */
  relayUp: () => boolean
  /** The peer's connection is about to be reset on purpose: redial it at once. */
  redialSoon: (peer: string) => void
}

export class GossipWatchdog {
  /** Dead gossip streams dropped, and connections reset because a peer's gossip never arrived. */
  repairs = 0
  resets = 0
  private readonly components: ConnectivityComponents
  private readonly init: GossipWatchdogInit
  private readonly lastReset = new Map<string, number>()

  constructor (components: ConnectivityComponents, init: GossipWatchdogInit) {
    this.components = components
    this.init = init
  }

  check (now: number): void {
    const pubsub = optional(this.components, 'pubsub')
    if (pubsub === undefined) return
    for (const id of deadOutboundStreams(pubsub) ?? []) {
      this.init.log('gossipsub kept a dead outbound stream to %s: dropping it', id)
      dropOutboundStream(pubsub, id)
      this.repairs++
      this.init.reidentifier.reidentify(peerIdFromString(id))
    }
    if (!this.init.relayUp()) return
    const { gossipGraceMs, gossipResetIntervalMs } = this.init.config
    const subscribers = new Set(pubsub.getSubscribers(this.init.topic).map(String))
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.status !== 'open' || connectionKind(c.remoteAddr) !== 'webrtc') continue
      const peer = c.remotePeer.toString()
      if (subscribers.has(peer) || now - c.timeline.open < gossipGraceMs) continue
      if (now - (this.lastReset.get(peer) ?? 0) < gossipResetIntervalMs) continue
      this.lastReset.set(peer, now)
      this.resets++
      this.init.log('no gossip from %p %d ms after connecting: resetting the connection', c.remotePeer, now - c.timeline.open)
      this.init.redialSoon(peer)
      void this.components.connectionManager.closeConnections(c.remotePeer).catch(ignoreError(this.init.log, 'resetting a connection without gossip'))
    }
  }
}
