import { lpStream } from '@libp2p/utils'
import type { Connection, Startable, Stream } from '@libp2p/interface'
import { decodeClientFrame, encodeControlFrame, encodeItemsFrame, FEED_ACK, FEED_REFUSED, FEED_SUBSCRIBE, MAX_CLIENT_FRAME_BYTES, type FeedCursor, type RefusalCode } from './codec.ts'
import { LruCache } from '../../util/lru.ts'
import { isStreamEnd } from '../errors.ts'
import { FeedBroadcaster, type Delivery } from './broadcaster.ts'
import { SubscriberSession } from './subscriber-session.ts'
import { DEFAULT_FEED_SERVER_CONFIG, type FeedServerComponents, type FeedServerConfig, type FeedServerInit, type FeedServerStats } from './server-config.ts'

export { DEFAULT_FEED_SERVER_CONFIG, type FeedServerComponents, type FeedServerConfig, type FeedServerInit, type FeedServerStats } from './server-config.ts'

/**
 * The serving side of the light feed, after js-waku's *filter*: a light node
 * subscribes and is pushed every tx this node accepts and every removal with
 * its reason, so its pool follows this node's pool. Gossipsub cannot do this
 * for many light peers: a topic's mesh holds at most D_hi (12) of them.
 *
 * The parts (see README.md in this folder):
 * - `FeedBroadcaster` (broadcaster.ts): pool events → numbered live items,
 *   the resume journal, the shared batch;
 * - `SubscriberSession` (subscriber-session.ts): one subscriber's snapshot,
 *   replay, queue and window;
 * - this file: the protocol handler, admission (caps per node and per IP),
 *   keepalives and the stall check, stats.
 *
 * A subscription starts with a snapshot of the pool (the same best-first
 * paging as the sync listing, `TxPool.page`), bracketed by SNAPSHOT_START/END,
 * then live items. Live items that arrive while the snapshot is being sent
 * wait in the subscriber's queue and follow it, in order, so nothing falls in
 * between.
 *
 * Resuming: every live item gets a sequence number (`seq`, in feed order,
 * under this server's random `epoch`), and the most recent ones stay in a
 * journal shared by every subscriber (`resumeJournalBytes`). A subscriber
 * that comes back names the last one it applied; if the epoch is this
 * server's and the journal still holds the next, it is answered RESUMED and
 * sent the journal from there (through its window, as live items), then live
 * items: no snapshot. Else (this server restarted, the journal has moved on,
 * or what it missed is more than a snapshot would be) it gets a snapshot.
 * Each ITEMS frame of live items carries its first item's seq, so the
 * subscriber can tell it missed none: a subscriber's queue is always a run
 * of consecutive seqs, and so is what it is sent.
 *
 * Cost: each item is encoded once; every flush builds one frame that all
 * caught-up subscribers get, byte for byte. Only a subscriber that is behind
 * (snapshot in progress, window full) gets frames of its own from its queue.
 *
 * Memory: a subscriber's queue is capped (`maxQueueBytes`); one that falls
 * further behind loses its queue and is resynced (a fresh snapshot), and one
 * that acknowledges nothing for `stallTimeoutMs` is dropped. A resuming
 * subscriber reads the shared journal, which costs it nothing of its own. So
 * the relay holds at most resumeJournalBytes + maxSubscribers ×
 * (maxQueueBytes + windowBytes) for the feed.
 */
export class FeedServer implements Startable {
  readonly config: Readonly<FeedServerConfig>
  private readonly components: FeedServerComponents
  private readonly init: FeedServerInit
  private readonly subscribers = new Map<string, SubscriberSession>()
  private readonly perIp = new Map<string, number>()
  private readonly broadcaster: FeedBroadcaster
  private tickTimer: ReturnType<typeof setInterval> | undefined
  private readonly counters = { framesSent: 0, bytesSent: 0, resyncs: 0, resumes: 0, drops: 0, refused: 0, rejoined: 0 }
  /** Peers whose subscription ended lately (when): one that subscribes again counts as rejoined. */
  private readonly departed: LruCache<string, number>

  constructor (components: FeedServerComponents, init: FeedServerInit) {
    this.components = components
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FEED_SERVER_CONFIG, ...init.config })
    this.departed = new LruCache(Math.max(1, this.config.maxSubscribers))
    this.broadcaster = new FeedBroadcaster({
      config: this.config,
      pool: init.pool,
      deliver: (d) => { this.deliver(d) },
      listeners: () => this.subscribers.size
    })
  }

  readonly [Symbol.toStringTag] = 'lightpool-feed-server'

  async start (): Promise<void> {
    this.broadcaster.start()
    await this.components.registrar.handle(this.init.protocol, this.onStream, {
      maxInboundStreams: 2,
      maxOutboundStreams: 0,
      runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
    })
    // keepalives and stall checks; coarse, so one timer for every subscriber
    this.tickTimer = setInterval(() => { this.tick() }, Math.min(1_000, this.config.keepaliveMs))
  }

  async stop (): Promise<void> {
    this.broadcaster.stop()
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer)
    for (const sub of [...this.subscribers.values()]) this.drop(sub, undefined)
    await this.components.registrar.unhandle(this.init.protocol)
  }

  /** Is `peer` subscribed? (Its gossipsub score keeps it out of the tx mesh.) */
  isSubscriber (peer: string): boolean {
    return this.subscribers.has(peer)
  }

  stats (): FeedServerStats {
    let queuedBytes = 0
    for (const sub of this.subscribers.values()) queuedBytes += sub.queueBytes
    return { subscribers: this.subscribers.size, ...this.counters, itemsFed: this.broadcaster.fedCount, queuedBytes, journalBytes: this.broadcaster.journal.bytes }
  }

  /** A flushed batch: one frame, encoded at most once, shared by every caught-up subscriber; the others queue its items. */
  private deliver (d: Delivery): void {
    let frame: Uint8Array | undefined
    const shared = (): Uint8Array => (frame ??= encodeItemsFrame(d.items, d.first))
    for (const sub of this.subscribers.values()) sub.offer(d, shared)
  }

  private readonly onStream = (stream: Stream, connection: Connection): void => {
    this.serve(stream, connection).catch((err: Error) => {
      // serve handles its own errors; this would be a bug in it, not the peer's doing
      stream.abort(err)
    })
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const ip = remoteIp(connection)
    const lp = lpStream(stream, { maxDataLength: MAX_CLIENT_FRAME_BYTES })
    let resume: FeedCursor | undefined
    try {
      const first = decodeClientFrame((await lp.read({ signal: AbortSignal.timeout(this.config.subscribeTimeoutMs) })).subarray())
      if (first.type !== FEED_SUBSCRIBE) throw new Error('expected SUBSCRIBE')
      resume = first.resume
    } catch (err) {
      this.init.penalize?.(peer, `feed subscribe: ${(err as Error).message}`)
      stream.abort(err as Error)
      return
    }
    const previous = this.subscribers.get(peer)
    if (previous !== undefined) this.drop(previous, undefined) // a peer holds one subscription: the newest
    const refusal = this.admit(ip)
    if (refusal !== undefined) {
      this.counters.refused++
      stream.send(encodeControlFrame({ type: FEED_REFUSED, code: refusal }))
      await stream.close().catch(() => { stream.abort(new Error('refused')) })
      return
    }
    if (previous !== undefined || this.departed.has(peer)) this.counters.rejoined++
    this.departed.delete(peer)
    const sub = new SubscriberSession({
      peer,
      ip,
      stream,
      config: this.config,
      pool: this.init.pool,
      broadcaster: this.broadcaster,
      counters: this.counters,
      failed: (s, err) => { this.drop(s, err) }
    })
    this.subscribers.set(peer, sub)
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    stream.addEventListener('close', () => { this.forget(sub) }, { once: true })
    if (sub.begin(resume)) this.counters.resumes++
    try {
      while (!sub.closed) {
        const frame = decodeClientFrame((await lp.read()).subarray())
        if (frame.type !== FEED_ACK) throw new Error('unexpected frame after SUBSCRIBE')
        sub.acked(frame.bytes)
      }
    } catch (err) {
      if (sub.closed) return
      if (!isStreamEnd(err)) this.init.penalize?.(peer, `feed: ${(err as Error).message}`)
      this.drop(sub, err as Error)
    }
  }

  private admit (ip: string): RefusalCode | undefined {
    if (this.subscribers.size >= this.config.maxSubscribers) return 'subscribers-full'
    if ((this.perIp.get(ip) ?? 0) >= this.config.maxSubscribersPerIp) return 'address-full'
    return undefined
  }

  private tick (): void {
    const now = Date.now()
    for (const sub of [...this.subscribers.values()]) {
      if (sub.fullFor(now) > this.config.stallTimeoutMs) this.drop(sub, new Error('feed subscriber stalled'))
      else sub.keepalive(now)
    }
  }

  private drop (sub: SubscriberSession, err: Error | undefined): void {
    if (sub.closed) return
    if (err !== undefined) this.counters.drops++
    this.forget(sub)
    if (err === undefined) {
      void sub.stream.close().catch((closeErr: Error) => { sub.stream.abort(closeErr) })
    } else {
      sub.stream.abort(err)
    }
  }

  private forget (sub: SubscriberSession): void {
    if (sub.closed) return
    sub.release()
    if (this.subscribers.get(sub.peer) === sub) this.subscribers.delete(sub.peer)
    this.departed.set(sub.peer, Date.now())
    const n = (this.perIp.get(sub.ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(sub.ip)
    else this.perIp.set(sub.ip, n)
  }
}

function remoteIp (connection: Connection): string {
  for (const c of connection.remoteAddr.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6') return c.value ?? ''
  }
  return connection.remoteAddr.toString()
}

/** The libp2p service factory: `services: { feedServer: feedServer(init) }`. */
export function feedServer (init: FeedServerInit): (components: FeedServerComponents) => FeedServer {
  return (components) => new FeedServer(components, init)
}
