import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { Emitter } from '../../util/emitter.ts'
import { encodeControlFrame, FEED_SUBSCRIBE } from './codec.ts'
import { pushTx, type PushResult } from './push.ts'
import { FeedChecker } from './checker.ts'
import { FetchClient } from '../fetch-protocol.ts'
import { KIND_TX } from '../messages.ts'
import { DEFAULT_FEED_CLIENT_CONFIG, type FeedClientComponents, type FeedClientConfig, type FeedClientEvents, type FeedClientInit } from './client-config.ts'
import { readFeed } from './feed-session.ts'
import { isStreamEnd } from '../errors.ts'
import { RelaySet, type RelayFeedStats } from './relay-set.ts'
import { PoolFollower } from './pool-follower.ts'
import { RelayWatch } from './relay-watch.ts'

/**
 * The subscribing side of the light feed: a light node keeps feed
 * subscriptions to `subscriptions` full nodes (the ones named in `targets`
 * first, typically its relays; else any connected peer that speaks the feed
 * protocol) and applies what they push to its pool. A snapshot (at the
 * first subscription, at a reconnect that cannot resume, after the server's
 * resync) is the relay's whole pool, so a reconnect leaves no gap; a
 * reconnect resumes from the relay's epoch and the last seq applied, so a
 * tab back from a blip costs a few items.
 *
 * The parts: relay-set.ts (each relay's state, view and backoff),
 * feed-session.ts (one subscription's frame protocol), pool-follower.ts
 * (applying items to the pool), this file (which relays to follow, checks,
 * push, the watchdog).
 *
 * Recovery: a subscription that ends, however it ends (reset, closed,
 * muxer gone, dropped as stalled, refused, a protocol error), leaves the
 * relay `down` and due again after a backoff; a new connection to a relay
 * makes it due at once; and a relay that stays connected without a live
 * feed for `watchdogMs` has its connections closed, so the dialler (a tab's
 * RelayKeeper, a node's PeerKeeper) opens a fresh one. A connection whose
 * muxer closed under it stays "open" to libp2p and opens no stream: that is
 * how a tab on a busy machine once sat with an empty pool for good.
 */
export { DEFAULT_FEED_CLIENT_CONFIG, type FeedClientComponents, type FeedClientConfig, type FeedClientEvents, type FeedClientInit } from './client-config.ts'
export type { FeedEvent, FeedState, RelayFeedStats } from './relay-set.ts'

export class FeedClient implements Startable {
  readonly config: Readonly<FeedClientConfig>
  readonly events = new Emitter<FeedClientEvents>()
  private readonly components: FeedClientComponents
  private readonly init: FeedClientInit
  private readonly relays: RelaySet
  private readonly follower: PoolFollower
  private readonly watch: RelayWatch
  private timer: ReturnType<typeof setInterval> | undefined
  private running = false
  private readonly checker: FeedChecker | undefined
  private readonly fetch: FetchClient | undefined
  private readonly log: Logger | undefined

  constructor (components: FeedClientComponents, init: FeedClientInit) {
    this.components = components
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FEED_CLIENT_CONFIG, ...init.config })
    this.relays = new RelaySet(this.config)
    this.log = components.logger?.forComponent('lightpool:feed:client')
    const check = init.check
    if (check !== undefined) {
      const fetch = new FetchClient(components.connectionManager, check.fetchProtocol, check.maxTxBytes, init.runOnLimitedConnection ?? false)
      this.fetch = fetch
      this.checker = new FeedChecker({
        ...(check.config === undefined ? {} : { config: check.config }),
        fetchFrom: async (peer, hash, signal) => {
          const [result] = await fetch.request(peerIdFromString(peer), KIND_TX, [hash], signal)
          if (result instanceof Uint8Array) return result
          if (result === 'missing') return 'missing'
          throw new Error('skipped')
        },
        verify: check.verify,
        unbacked: (peer, hash, why) => { this.distrust(peer, `listed ${hash}: ${why}`) },
        subscribedSince: () => this.relays.subscribedSince(),
        stillListed: (peer, hash) => this.relays.lists(peer, hash)
      })
    }
    this.watch = new RelayWatch({ components, relays: this.relays, config: this.config, log: this.log, wake: () => { this.maintain() }, wanting: () => this.relays.active() < this.config.subscriptions })
    this.follower = new PoolFollower({
      pool: init.pool,
      relays: this.relays,
      checker: this.checker,
      removedMemory: this.config.removedMemory,
      listed: (meta, from) => { this.events.emit('listed', { meta, from }) },
      log: this.log
    })
  }

  readonly [Symbol.toStringTag] = 'lightpool-feed-client'

  start (): void {
    this.running = true
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.watch.start()
    this.timer = setInterval(() => { this.maintain() }, this.config.maintainIntervalMs)
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.watch.stop()
    if (this.timer !== undefined) clearInterval(this.timer)
    for (const relay of this.relays.all()) relay.stream?.abort(new Error('stopping'))
    this.fetch?.close()
  }

  /**
   * The user opened `hash`: check it against every relay that lists it
   * (resolves false if one could not back it, and that relay is distrusted).
   */
  async checkOpened (hash: string): Promise<boolean | undefined> {
    const meta = this.init.pool.get(hash)
    const checker = this.checker
    if (checker === undefined || meta === undefined) return undefined
    const verdicts = await Promise.all(this.holders(hash).map(async peer => await checker.check(peer, meta)))
    return verdicts.includes(false) ? false : verdicts.includes(true) ? true : undefined
  }

  /** Peers currently subscribed to. */
  subscribed (): string[] {
    return this.relays.subscribed().map(r => r.peer)
  }

  /** Each relay's feed: its state and since when, its history, what it brought, what its checks found. */
  stats (): RelayFeedStats[] {
    return this.relays.stats((peer) => this.checker?.of(peer) ?? { checked: 0, unbacked: 0, missed: 0, alone: 0 })
  }

  /**
   * Hands a tx to the subscribed relays by lightpush, one after another until
   * one answers. Undefined if none could be reached.
   */
  async push (bytes: Uint8Array, timeoutMs: number): Promise<{ relay: string, answer: PushResult } | undefined> {
    if (this.init.pushProtocol === undefined) return undefined
    for (const relay of this.subscribed()) {
      try {
        const answer = await pushTx(this.components.connectionManager, relay, this.init.pushProtocol, bytes, {
          signal: AbortSignal.timeout(timeoutMs),
          runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
        })
        return { relay, answer }
      } catch (err) {
        // unreachable or broken: the next relay
        this.log?.('push to %s failed - %e', relay, err)
      }
    }
    return undefined
  }

  /** Peers whose feed lists `hash` (an on-demand fetch asks them first). */
  holders (hash: string): string[] {
    return this.relays.holders(hash)
  }

  /** A relay listed what it could not back: drop it and what only it listed, and charge it. */
  private distrust (peer: string, detail: string): void {
    const relay = this.relays.get(peer)
    if (relay === undefined) return
    relay.counters.distrustedUntil = Date.now() + this.config.distrustMs
    relay.retryAt = relay.counters.distrustedUntil
    this.follower.dropView(relay)
    relay.stream?.abort(new Error('distrusted'))
    this.init.check?.distrust(peer, detail)
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(this.init.protocol)) this.maintain()
  }

  /** Subscribes to more relays while below `subscriptions`; ends a feed that stays down on an open connection. */
  private maintain (): void {
    if (!this.running) return
    this.checker?.settle()
    this.watch.check(Date.now())
    let active = this.relays.active()
    if (active >= this.config.subscriptions) return
    this.candidates().then((peers) => {
      for (const peer of peers) {
        if (active >= this.config.subscriptions || !this.running) return
        // another search (the timer, an identify event) may have taken it meanwhile:
        // a second stream would make the relay close the first (it keeps a peer's newest)
        if (!this.relays.idle(peer)) continue
        active++
        void this.subscribe(peer)
      }
    }, (err: Error) => { this.log?.('looking for feed relays failed - %e', err) })
  }

  /** Connected feed servers not subscribed to and not backing off, `targets` first. */
  private async candidates (): Promise<string[]> {
    const now = Date.now()
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const out: string[] = []
    const ordered = [...this.config.targets.filter(t => connected.has(t)), ...[...connected].filter(p => !this.config.targets.includes(p))]
    for (const peer of ordered) {
      if (!this.relays.idle(peer, now)) continue
      // a named relay is tried without waiting for identify (which a loaded
      // relay may answer late); one that does not speak the feed fails the
      // stream negotiation and backs off
      if (this.config.targets.includes(peer)) {
        out.push(peer)
        continue
      }
      try {
        const info = await this.components.peerStore.get(peerIdFromString(peer))
        if (info.protocols.includes(this.init.protocol)) out.push(peer)
      } catch {
        // not in the peer store yet: identify will call maintain again
      }
    }
    return out
  }

  private async subscribe (peer: string): Promise<void> {
    const relay = this.relays.ensure(peer)
    relay.retryAt = Infinity // in progress
    this.relays.setState(relay, 'subscribing')
    this.events.emit('state', { peer })
    const peerId = peerIdFromString(peer)
    let stream: Stream | undefined
    let connection: Connection | undefined
    let reason = 'ended'
    let refused = false
    let streamEnded = false
    let deadConnection = false
    try {
      stream = await this.components.connectionManager.openStream(peerId, this.init.protocol, {
        signal: AbortSignal.timeout(10_000),
        runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
      })
      const opened = stream
      connection = this.components.connectionManager.getConnections(peerId).find(c => c.streams.includes(opened))
      if (!this.running) throw new Error('stopping')
      relay.stream = stream
      const resume = relay.cursor
      stream.send(encodeControlFrame(resume === undefined ? { type: FEED_SUBSCRIBE } : { type: FEED_SUBSCRIBE, resume }))
      relay.counters.subscribedSince = Date.now()
      this.relays.record(relay, { at: Date.now(), event: 'subscribed' })
      this.events.emit('subscribed', { peer })
      const end = await readFeed({
        config: this.config,
        limits: this.init.limits,
        relays: this.relays,
        running: () => this.running,
        apply: (r, item) => { this.follower.apply(r, item) },
        snapshotEnded: (r) => { this.follower.endSnapshot(r) }
      }, relay, stream, resume)
      reason = end.reason
      refused = 'refused' in end
    } catch (err) {
      reason = (err as Error).message
      // a write to a stream the relay or the connection closed: an end like any other, not a failure to back off from
      streamEnded = isStreamEnd(err)
      // a peer that does not speak the feed said so: like a refusal, nothing the watchdog can mend
      refused = (err as Error).name === 'UnsupportedProtocolError'
      // libp2p picked a connection it takes for open whose muxer has closed: it says so, no need to wait for the watchdog
      deadConnection = stream === undefined && (err as Error).name === 'ConnectionClosedError'
      if ((err as Error).name === 'DecodeError' || (err as Error).name === 'InvalidDataLengthError') {
        this.init.penalize?.(peer, `feed frame: ${(err as Error).message}`)
      }
      stream?.abort(err as Error)
    } finally {
      const lasted = (relay.counters.snapshots > 0 || relay.counters.resumes > 0) && (reason === 'ended' || streamEnded)
      this.relays.ended(relay, reason, lasted, refused)
      this.watch.endedWith(peer, connection)
      if (deadConnection) this.watch.closeDead(peer, reason)
      this.events.emit('unsubscribed', { peer, reason })
      this.events.emit('state', { peer })
      // its view is kept (and its cursor, unless a snapshot was cut short): the
      // next subscription resumes from it, or its snapshot is compared against it
      this.maintain()
    }
  }
}

/** The libp2p service factory: `services: { feedClient: feedClient(init) }`. */
export function feedClient (init: FeedClientInit): (components: FeedClientComponents) => FeedClient {
  return (components) => new FeedClient(components, init)
}
