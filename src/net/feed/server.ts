import { lpStream } from '@libp2p/utils'
import type { Connection, Startable, Stream } from '@libp2p/interface'
import type { PoolEntry, RemovalReason, TxPool } from '../../pool/pool.ts'
import {
  decodeClientFrame, encodeAddItem, encodeControlFrame, encodeItemsFrame, encodeRemoveItem,
  FEED_ACK, FEED_REFUSED, FEED_RESUMED, FINAL_REASONS, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, ITEMS_HEADER_BYTES,
  MAX_CLIENT_FRAME_BYTES, type FeedCursor, type RefusalCode
} from './codec.ts'
import { FeedJournal } from './journal.ts'
import { LruCache } from '../../util/lru.ts'
import { META_FIXED_BYTES } from '../../tx/meta-codec.ts'
import { DEFAULT_FEED_SERVER_CONFIG, type FeedServerComponents, type FeedServerConfig, type FeedServerInit, type FeedServerStats } from './server-config.ts'

export { DEFAULT_FEED_SERVER_CONFIG, type FeedServerComponents, type FeedServerConfig, type FeedServerInit, type FeedServerStats } from './server-config.ts'

/**
 * The serving side of the light feed, after js-waku's *filter*: a light node
 * subscribes and is pushed every tx this node accepts and every removal with
 * its reason, so its pool follows this node's pool. Gossipsub cannot do this
 * for many light peers: a topic's mesh holds at most D_hi (12) of them.
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
 * A tx is fed only once the pool holds it durably ('stored'), the rule
 * gossip forwarding follows: announcing is a promise to serve the body.
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
type Phase = 'snapshot' | 'replay' | 'live' | 'resync'

interface Subscriber {
  peer: string
  ip: string
  stream: Stream
  phase: Phase
  /** snapshot paging position (the pool's rank cursor) */
  pageCursor: string | undefined
  /**
   * The seq of the next live item it is owed beyond what it was sent and
   * what its queue holds (so its queue is seqs nextSeq - queue.length …
   * nextSeq - 1). Replaying, the next item to send it from the journal.
   */
  nextSeq: number
  queue: Uint8Array[]
  queueBytes: number
  unacked: number
  waitingDrain: boolean
  lastSentAt: number
  /** when the window filled up, if it is full */
  fullSince: number | undefined
}

export class FeedServer implements Startable {
  readonly config: Readonly<FeedServerConfig>
  private readonly components: FeedServerComponents
  private readonly init: FeedServerInit
  private readonly subscribers = new Map<string, Subscriber>()
  private readonly perIp = new Map<string, number>()
  /** txs fed (durable and pending): the snapshot lists only these, removals are sent only for these */
  private readonly fed = new Set<string>()
  private batch: Uint8Array[] = []
  private batchBytes = 0
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private tickTimer: ReturnType<typeof setInterval> | undefined
  private readonly unsubscribe: Array<() => void> = []
  /**
   * Removal items of txs a not-yet-durable newcomer replaced or evicted, by
   * the newcomer's hash. Bounded by the pool's writes in flight: each entry
   * goes when its newcomer is stored or removed.
   */
  private readonly heldRemovals = new Map<string, Uint8Array[]>()
  /** Recent final removals of fed txs (hash → item, when): every snapshot ends with them (see finalRemovalMemory). */
  private readonly finalRemovals: LruCache<string, { item: Uint8Array, at: number }>
  private readonly counters = { framesSent: 0, bytesSent: 0, itemsFed: 0, resyncs: 0, resumes: 0, drops: 0, refused: 0 }
  /** This run's 64 random bits: a cursor from another run (before a restart) does not resume. */
  private epoch = 0n
  /** The seq of the last live item (0: none yet); the batch is the last `batch.length` of them. */
  private seq = 0
  private journal: FeedJournal

  constructor (components: FeedServerComponents, init: FeedServerInit) {
    this.components = components
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FEED_SERVER_CONFIG, ...init.config })
    this.finalRemovals = new LruCache(Math.max(1, this.config.finalRemovalMemory))
    this.journal = new FeedJournal(this.config.resumeJournalBytes)
  }

  readonly [Symbol.toStringTag] = 'lightpool-feed-server'

  async start (): Promise<void> {
    const { pool } = this.init
    this.epoch = new DataView(crypto.getRandomValues(new Uint8Array(8)).buffer).getBigUint64(0)
    this.seq = 0
    this.journal = new FeedJournal(this.config.resumeJournalBytes)
    for (const tx of pool.best()) if (tx.hasBody) this.fed.add(tx.hash)
    this.unsubscribe.push(pool.events.on('stored', ({ tx }) => { this.onStored(tx) }))
    this.unsubscribe.push(pool.events.on('removed', ({ tx, reason, by }) => { this.onRemoved(tx, reason, by) }))
    await this.components.registrar.handle(this.init.protocol, this.onStream, {
      maxInboundStreams: 2,
      maxOutboundStreams: 0,
      runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
    })
    // keepalives and stall checks; coarse, so one timer for every subscriber
    this.tickTimer = setInterval(() => { this.tick() }, Math.min(1_000, this.config.keepaliveMs))
  }

  async stop (): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u()
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
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
    return { subscribers: this.subscribers.size, ...this.counters, queuedBytes, journalBytes: this.journal.bytes }
  }

  // ---- pool events → one shared batch ----

  private onStored (tx: PoolEntry): void {
    if (!tx.hasBody) return
    this.fed.add(tx.hash)
    this.enqueueLive(encodeAddItem(tx))
    this.releaseHeldRemovals(tx.hash)
  }

  private onRemoved (tx: PoolEntry, reason: RemovalReason, by: string | undefined): void {
    if (!this.fed.delete(tx.hash)) {
      // a newcomer that never became durable (store-failed) lets go of what it displaced
      this.releaseHeldRemovals(tx.hash)
      return
    }
    if (by !== undefined && (reason === 'replaced' || reason === 'evicted') && !this.fed.has(by)) {
      // The pool drops what a newcomer displaces as it admits it, but the
      // newcomer is fed only once durable. Sent now, the removal would leave a
      // subscriber listing neither tx for a moment, and its own pool would see
      // the replacement as two unrelated events; held, the subscriber admits
      // the newcomer first and replaces the old tx itself, with its reason.
      const held = this.heldRemovals.get(by) ?? []
      held.push(encodeRemoveItem(tx.hash, reason))
      this.heldRemovals.set(by, held)
      return
    }
    const item = encodeRemoveItem(tx.hash, reason)
    if (FINAL_REASONS.has(reason) && this.config.finalRemovalMemory > 0) this.finalRemovals.set(tx.hash, { item, at: Date.now() })
    this.enqueueLive(item)
  }

  /** Sends the removals held for `by` (see onRemoved): it is fed, or it is gone. */
  private releaseHeldRemovals (by: string): void {
    const held = this.heldRemovals.get(by)
    if (held === undefined) return
    this.heldRemovals.delete(by)
    for (const item of held) this.enqueueLive(item)
  }

  /** Numbers a live item (the next seq), journals it and batches it for the subscribers. */
  private enqueueLive (item: Uint8Array): void {
    this.counters.itemsFed++
    // the batch is always the last items numbered (flushedSeq): it goes before the next is numbered
    if (this.batch.length > 0 && (this.subscribers.size === 0 || this.batchBytes + item.byteLength + ITEMS_HEADER_BYTES > this.config.maxFrameBytes)) this.flush()
    this.journal.append(++this.seq, item)
    if (this.subscribers.size === 0) return
    this.batch.push(item)
    this.batchBytes += item.byteLength
    this.flushTimer ??= setTimeout(() => { this.flush() }, this.config.flushIntervalMs)
  }

  /** The seq of the last live item flushed: subscribers have been sent or have queued every item up to it (or, replaying, read them from the journal). */
  private flushedSeq (): number {
    return this.seq - this.batch.length
  }

  /** Sends the batch: one frame shared by every caught-up subscriber; the others queue its items. */
  private flush (): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const items = this.batch
    const bytes = this.batchBytes
    const first = this.flushedSeq() + 1
    this.batch = []
    this.batchBytes = 0
    if (items.length === 0) return
    let frame: Uint8Array | undefined
    for (const sub of this.subscribers.values()) {
      if (sub.phase === 'replay' || sub.phase === 'resync') continue // the journal has these / the next snapshot covers them
      if (sub.nextSeq !== first) {
        // cannot happen (every path keeps a subscriber's items consecutive); were it to, a gap is healed by a snapshot
        this.resync(sub)
        continue
      }
      sub.nextSeq += items.length
      if (sub.phase === 'live' && sub.queue.length === 0 && this.canSend(sub)) {
        frame ??= encodeItemsFrame(items, first)
        this.send(sub, frame)
      } else {
        this.queueItems(sub, items, bytes)
      }
    }
  }

  private queueItems (sub: Subscriber, items: Uint8Array[], bytes: number): void {
    if (sub.queueBytes + bytes > this.config.maxQueueBytes) {
      this.resync(sub)
      return
    }
    for (const item of items) sub.queue.push(item)
    sub.queueBytes += bytes
  }

  /** Drops what the subscriber is owed; its next frames are a fresh snapshot (pump). */
  private resync (sub: Subscriber): void {
    sub.queue = []
    sub.queueBytes = 0
    sub.phase = 'resync'
    this.counters.resyncs++
  }

  // ---- per subscriber ----

  private readonly onStream = (stream: Stream, connection: Connection): void => {
    void this.serve(stream, connection).catch(() => {})
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
    const sub: Subscriber = { peer, ip, stream, phase: 'snapshot', pageCursor: undefined, nextSeq: 0, queue: [], queueBytes: 0, unacked: 0, waitingDrain: false, lastSentAt: 0, fullSince: undefined }
    this.subscribers.set(peer, sub)
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    stream.addEventListener('close', () => { this.forget(sub) }, { once: true })
    if (resume !== undefined && this.canResume(resume)) {
      sub.phase = 'replay'
      sub.nextSeq = resume.seq + 1
      this.counters.resumes++
      this.send(sub, encodeControlFrame({ type: FEED_RESUMED, window: this.config.windowBytes, epoch: this.epoch, seq: resume.seq }))
    } else {
      this.startSnapshot(sub)
    }
    this.pump(sub)
    try {
      while (this.subscribers.get(peer) === sub) {
        const frame = decodeClientFrame((await lp.read()).subarray())
        if (frame.type !== FEED_ACK) throw new Error('unexpected frame after SUBSCRIBE')
        sub.unacked = Math.max(0, sub.unacked - frame.bytes)
        this.pump(sub)
      }
    } catch (err) {
      if (this.subscribers.get(peer) !== sub) return
      const name = (err as Error).name
      const ended = name === 'UnexpectedEOFError' || name === 'StreamResetError' || name === 'StreamStateError' || name === 'StreamClosedError'
      if (!ended) this.init.penalize?.(peer, `feed: ${(err as Error).message}`)
      this.drop(sub, err as Error)
    }
  }

  /**
   * Can a subscriber whose last item was `cursor` be sent what it missed
   * from the journal? Not if the cursor is from another run, or the journal
   * no longer holds the item after it, or it names an item not yet flushed
   * (not one this server sent), or what it missed is more than a snapshot of
   * the pool now (~an announcement per tx fed).
   */
  private canResume (cursor: FeedCursor): boolean {
    const end = this.flushedSeq()
    if (cursor.epoch !== this.epoch || cursor.seq > end || !this.journal.holds(cursor.seq + 1)) return false
    return this.journal.bytesBetween(cursor.seq + 1, end) <= this.fed.size * SNAPSHOT_ITEM_BYTES
  }

  /** SNAPSHOT_START, then pages (pump): the snapshot covers every item flushed; the batch follows it (queued at the next flush). */
  private startSnapshot (sub: Subscriber): void {
    sub.phase = 'snapshot'
    sub.pageCursor = undefined
    sub.nextSeq = this.flushedSeq() + 1
    this.send(sub, encodeControlFrame({ type: FEED_SNAPSHOT_START, window: this.config.windowBytes, epoch: this.epoch, seq: sub.nextSeq - 1 }))
  }

  private admit (ip: string): RefusalCode | undefined {
    if (this.subscribers.size >= this.config.maxSubscribers) return 'subscribers-full'
    if ((this.perIp.get(ip) ?? 0) >= this.config.maxSubscribersPerIp) return 'address-full'
    return undefined
  }

  private canSend (sub: Subscriber): boolean {
    return !sub.waitingDrain && sub.unacked < this.config.windowBytes && sub.stream.writeStatus === 'writable'
  }

  private send (sub: Subscriber, frame: Uint8Array): void {
    try {
      const more = sub.stream.send(frame)
      sub.unacked += frame.byteLength
      sub.lastSentAt = Date.now()
      this.counters.framesSent++
      this.counters.bytesSent += frame.byteLength
      if (!more) {
        sub.waitingDrain = true
        sub.stream.onDrain().then(() => {
          sub.waitingDrain = false
          this.pump(sub)
        }, () => {})
      }
    } catch (err) {
      this.drop(sub, err as Error)
    }
  }

  /** Sends what a subscriber is owed (a resync mark, snapshot pages, the journal, its queue) while its window allows. */
  private pump (sub: Subscriber): void {
    while (this.subscribers.get(sub.peer) === sub && this.canSend(sub)) {
      sub.fullSince = undefined
      if (sub.phase === 'resync') {
        this.startSnapshot(sub)
      } else if (sub.phase === 'snapshot') {
        this.sendSnapshotPage(sub)
      } else if (sub.phase === 'replay') {
        this.sendJournalFrame(sub)
      } else if (sub.queue.length > 0) {
        const first = sub.nextSeq - sub.queue.length
        this.send(sub, encodeItemsFrame(this.takeFromQueue(sub), first))
      } else {
        return
      }
    }
    if (this.subscribers.get(sub.peer) === sub && sub.unacked >= this.config.windowBytes) sub.fullSince ??= Date.now()
  }

  private takeFromQueue (sub: Subscriber): Uint8Array[] {
    const out: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    while (sub.queue.length > 0 && (out.length === 0 || bytes + sub.queue[0]!.byteLength <= this.config.maxFrameBytes)) {
      const item = sub.queue.shift()!
      bytes += item.byteLength
      sub.queueBytes -= item.byteLength
      out.push(item)
    }
    return out
  }

  /**
   * One frame of the journal for a resuming subscriber, from its next seq;
   * once it has every item flushed, it is live (the batch comes at the next
   * flush). Fallen behind what the journal holds, it is resynced.
   */
  private sendJournalFrame (sub: Subscriber): void {
    const end = this.flushedSeq()
    if (sub.nextSeq > end) {
      sub.phase = 'live'
      return
    }
    if (!this.journal.holds(sub.nextSeq)) {
      this.resync(sub)
      return
    }
    const items = this.journal.take(sub.nextSeq, end, this.config.maxFrameBytes - ITEMS_HEADER_BYTES)
    const first = sub.nextSeq
    sub.nextSeq += items.length
    this.send(sub, encodeItemsFrame(items, first))
  }

  /** One frame of the snapshot, best first from the cursor; SNAPSHOT_END after the last. */
  private sendSnapshotPage (sub: Subscriber): void {
    const items: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    let cursor = sub.pageCursor
    let done = false
    while (!done) {
      const page = this.init.pool.page(cursor === undefined ? { limit: SNAPSHOT_SCAN } : { limit: SNAPSHOT_SCAN, cursor })
      let full = false
      for (const tx of page.txs) {
        if (!this.fed.has(tx.hash)) {
          cursor = `${tx.fee}:${tx.hash}`
          continue
        }
        const item = encodeAddItem(tx)
        if (items.length > 0 && bytes + item.byteLength > this.config.maxFrameBytes) {
          full = true
          break
        }
        items.push(item)
        bytes += item.byteLength
        cursor = `${tx.fee}:${tx.hash}`
      }
      if (full) break
      if (page.next === undefined) done = true
    }
    sub.pageCursor = cursor
    if (items.length > 0) this.send(sub, encodeItemsFrame(items))
    if (done && this.subscribers.get(sub.peer) === sub) {
      this.sendFinalRemovals(sub)
      this.send(sub, encodeControlFrame({ type: FEED_SNAPSHOT_END }))
      sub.phase = 'live'
      sub.pageCursor = undefined
    }
  }

  /**
   * Inside the snapshot, before its END: the recent final removals. A
   * subscriber that held one of these txs from before its subscription
   * dropped removes it with its reason (a mined tx's page says mined), rather
   * than on the snapshot's END as merely no longer listed.
   */
  private sendFinalRemovals (sub: Subscriber): void {
    const since = Date.now() - this.config.finalRemovalWindowMs
    let items: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    for (const [hash, { item, at }] of [...this.finalRemovals.entries()]) {
      if (at < since) { this.finalRemovals.delete(hash); continue }
      if (items.length > 0 && bytes + item.byteLength > this.config.maxFrameBytes) {
        this.send(sub, encodeItemsFrame(items))
        items = []
        bytes = ITEMS_HEADER_BYTES
      }
      items.push(item)
      bytes += item.byteLength
    }
    if (items.length > 0) this.send(sub, encodeItemsFrame(items))
  }

  private tick (): void {
    const now = Date.now()
    for (const sub of [...this.subscribers.values()]) {
      if (sub.fullSince !== undefined && now - sub.fullSince > this.config.stallTimeoutMs) {
        this.drop(sub, new Error('feed subscriber stalled'))
      } else if (now - sub.lastSentAt > this.config.keepaliveMs && this.canSend(sub)) {
        this.send(sub, encodeItemsFrame([]))
      }
    }
  }

  private drop (sub: Subscriber, err: Error | undefined): void {
    if (this.subscribers.get(sub.peer) !== sub) return
    if (err !== undefined) this.counters.drops++
    this.forget(sub)
    if (err === undefined) void sub.stream.close().catch(() => { sub.stream.abort(new Error('closed')) })
    else sub.stream.abort(err)
  }

  private forget (sub: Subscriber): void {
    if (this.subscribers.get(sub.peer) !== sub) return
    this.subscribers.delete(sub.peer)
    const n = (this.perIp.get(sub.ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(sub.ip)
    else this.perIp.set(sub.ip, n)
    sub.queue = []
    sub.queueBytes = 0
  }
}

/** Pool entries scanned per step of a snapshot page (the page itself is capped by bytes). */
const SNAPSHOT_SCAN = 256

/** A snapshot's bytes per tx, about: an announcement with one nullifier. */
const SNAPSHOT_ITEM_BYTES = 1 + META_FIXED_BYTES + 32

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
