import type { Stream } from '@libp2p/interface'
import type { TxPool } from '../../pool/pool.ts'
import { encodeAddItem, encodeControlFrame, encodeItemsFrame, FEED_RESUMED, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, ITEMS_HEADER_BYTES, type FeedCursor } from './codec.ts'
import type { Delivery, FeedBroadcaster } from './broadcaster.ts'
import type { FeedServerConfig } from './server-config.ts'

/**
 * One subscriber of the feed server: what it is owed and how fast it may be
 * sent it.
 *
 * Phases: `snapshot` (pages of the pool, best first, then the recent final
 * removals and SNAPSHOT_END), `replay` (resuming: the journal from its
 * cursor), `live` (the shared frames, or its queue while it is behind) and
 * `resync` (its queue overflowed: a fresh snapshot starts at the next pump).
 *
 * Flow control: at most `windowBytes` sent and not acknowledged; past it,
 * live items wait in its queue (at most `maxQueueBytes`, then a resync).
 * `fullSince` says how long the window has been full, for the server's stall
 * check.
 */
type Phase = 'snapshot' | 'replay' | 'live' | 'resync'

/** What every session counts into (the server's stats). */
export interface SessionCounters {
  framesSent: number
  bytesSent: number
  resyncs: number
}

export interface SessionInit {
  peer: string
  ip: string
  stream: Stream
  config: Readonly<FeedServerConfig>
  pool: TxPool
  broadcaster: FeedBroadcaster
  counters: SessionCounters
  /** A write failed: the server drops this session. */
  failed: (session: SubscriberSession, err: Error) => void
}

export class SubscriberSession {
  readonly peer: string
  readonly ip: string
  readonly stream: Stream
  private readonly init: SessionInit
  private phase: Phase = 'snapshot'
  /** snapshot paging position (the pool's rank cursor) */
  private pageCursor: string | undefined
  /**
   * The seq of the next live item it is owed beyond what it was sent and
   * what its queue holds (so its queue is seqs nextSeq - queue.length …
   * nextSeq - 1). Replaying, the next item to send it from the journal.
   */
  private nextSeq = 0
  private queue: Uint8Array[] = []
  queueBytes = 0
  private unacked = 0
  private waitingDrain = false
  private lastSentAt = 0
  /** when the window filled up, if it is full */
  private fullSince: number | undefined
  /** Set once the server has let go of it: nothing more is sent. */
  closed = false

  constructor (init: SessionInit) {
    this.init = init
    this.peer = init.peer
    this.ip = init.ip
    this.stream = init.stream
  }

  /** Starts it off: RESUMED and the journal after `resume` if the journal can serve it, else a snapshot. True if it resumed. */
  begin (resume: FeedCursor | undefined): boolean {
    const { broadcaster, config } = this.init
    let resumed = false
    if (resume !== undefined && broadcaster.canResume(resume)) {
      this.phase = 'replay'
      this.nextSeq = resume.seq + 1
      resumed = true
      this.send(encodeControlFrame({ type: FEED_RESUMED, window: config.windowBytes, epoch: broadcaster.epoch, seq: resume.seq }))
    } else {
      this.startSnapshot()
    }
    this.pump()
    return resumed
  }

  /** The subscriber acknowledged `bytes`. */
  acked (bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes)
    if (this.unacked < this.init.config.windowBytes) this.fullSince = undefined
    this.pump()
  }

  /**
   * A flushed batch: sent as the shared `frame` if this subscriber is caught
   * up and its window allows, else queued (or covered by its replay or next
   * snapshot).
   */
  offer (d: Delivery, frame: () => Uint8Array): void {
    if (this.phase === 'replay' || this.phase === 'resync') return // the journal has these / the next snapshot covers them
    if (this.nextSeq !== d.first) {
      // cannot happen (every path keeps a subscriber's items consecutive); were it to, a gap is healed by a snapshot
      this.resync()
      return
    }
    this.nextSeq += d.items.length
    if (this.phase === 'live' && this.queue.length === 0 && this.canSend()) {
      this.send(frame())
    } else if (this.queueBytes + d.bytes > this.init.config.maxQueueBytes) {
      this.resync()
    } else {
      for (const item of d.items) this.queue.push(item)
      this.queueBytes += d.bytes
    }
  }

  /** Its window has been full since this long ago (0: not full). */
  fullFor (now: number): number {
    return this.fullSince === undefined ? 0 : now - this.fullSince
  }

  /** An empty frame if nothing went out for `keepaliveMs` and the window allows. */
  keepalive (now: number): void {
    if (now - this.lastSentAt > this.init.config.keepaliveMs && this.canSend()) this.send(encodeItemsFrame([]))
  }

  /** Lets go of what it was owed (the server has dropped it). */
  release (): void {
    this.closed = true
    this.queue = []
    this.queueBytes = 0
  }

  /** Drops what the subscriber is owed; its next frames are a fresh snapshot (pump). */
  private resync (): void {
    this.queue = []
    this.queueBytes = 0
    this.phase = 'resync'
    this.init.counters.resyncs++
  }

  /** SNAPSHOT_START, then pages (pump): the snapshot covers every item flushed; the batch follows it (queued at the next flush). */
  private startSnapshot (): void {
    const { broadcaster, config } = this.init
    this.phase = 'snapshot'
    this.pageCursor = undefined
    this.nextSeq = broadcaster.flushedSeq() + 1
    this.send(encodeControlFrame({ type: FEED_SNAPSHOT_START, window: config.windowBytes, epoch: broadcaster.epoch, seq: this.nextSeq - 1 }))
  }

  private canSend (): boolean {
    return !this.closed && !this.waitingDrain && this.unacked < this.init.config.windowBytes && this.stream.writeStatus === 'writable'
  }

  private send (frame: Uint8Array): void {
    if (this.closed) return
    try {
      const more = this.stream.send(frame)
      this.unacked += frame.byteLength
      this.lastSentAt = Date.now()
      // the stall clock starts when the window fills, whichever path filled it (a live frame, a page)
      if (this.unacked >= this.init.config.windowBytes) this.fullSince ??= this.lastSentAt
      this.init.counters.framesSent++
      this.init.counters.bytesSent += frame.byteLength
      if (!more) {
        this.waitingDrain = true
        this.stream.onDrain().then(() => {
          this.waitingDrain = false
          this.pump()
        }, () => {
          // the stream ended while full: its close or abort ends the session
        })
      }
    } catch (err) {
      this.init.failed(this, err as Error)
    }
  }

  /** Sends what the subscriber is owed (a resync mark, snapshot pages, the journal, its queue) while its window allows. */
  private pump (): void {
    while (this.canSend()) {
      if (this.phase === 'resync') {
        this.startSnapshot()
      } else if (this.phase === 'snapshot') {
        this.sendSnapshotPage()
      } else if (this.phase === 'replay') {
        this.sendJournalFrame()
      } else if (this.queue.length > 0) {
        const first = this.nextSeq - this.queue.length
        this.send(encodeItemsFrame(this.takeFromQueue(), first))
      } else {
        return
      }
    }
  }

  private takeFromQueue (): Uint8Array[] {
    const out: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    while (this.queue.length > 0 && (out.length === 0 || bytes + this.queue[0]!.byteLength <= this.init.config.maxFrameBytes)) {
      const item = this.queue.shift()!
      bytes += item.byteLength
      this.queueBytes -= item.byteLength
      out.push(item)
    }
    return out
  }

  /**
   * One frame of the journal from its next seq; once it has every item
   * flushed, it is live (the batch comes at the next flush). Fallen behind
   * what the journal holds, it is resynced.
   */
  private sendJournalFrame (): void {
    const { broadcaster, config } = this.init
    const end = broadcaster.flushedSeq()
    if (this.nextSeq > end) {
      this.phase = 'live'
      return
    }
    if (!broadcaster.journal.holds(this.nextSeq)) {
      this.resync()
      return
    }
    const items = broadcaster.journal.take(this.nextSeq, end, config.maxFrameBytes - ITEMS_HEADER_BYTES)
    const first = this.nextSeq
    this.nextSeq += items.length
    this.send(encodeItemsFrame(items, first))
  }

  /** One frame of the snapshot, best first from the cursor; SNAPSHOT_END after the last. */
  private sendSnapshotPage (): void {
    const { broadcaster, config, pool } = this.init
    const items: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    let cursor = this.pageCursor
    let done = false
    while (!done) {
      const page = pool.page(cursor === undefined ? { limit: SNAPSHOT_SCAN } : { limit: SNAPSHOT_SCAN, cursor })
      let full = false
      for (const tx of page.txs) {
        if (!broadcaster.fed.has(tx.hash)) {
          cursor = `${tx.fee}:${tx.hash}`
          continue
        }
        const item = encodeAddItem(tx)
        if (items.length > 0 && bytes + item.byteLength > config.maxFrameBytes) {
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
    this.pageCursor = cursor
    if (items.length > 0) this.send(encodeItemsFrame(items))
    if (done && !this.closed) {
      this.sendFinalRemovals()
      this.send(encodeControlFrame({ type: FEED_SNAPSHOT_END }))
      this.phase = 'live'
      this.pageCursor = undefined
    }
  }

  /**
   * Inside the snapshot, before its END: the recent final removals. A
   * subscriber that held one of these txs from before its subscription
   * dropped removes it with its reason (a mined tx's page says mined), rather
   * than on the snapshot's END as merely no longer listed.
   */
  private sendFinalRemovals (): void {
    const { maxFrameBytes } = this.init.config
    let items: Uint8Array[] = []
    let bytes = ITEMS_HEADER_BYTES
    for (const item of this.init.broadcaster.recentFinalRemovals()) {
      if (items.length > 0 && bytes + item.byteLength > maxFrameBytes) {
        this.send(encodeItemsFrame(items))
        items = []
        bytes = ITEMS_HEADER_BYTES
      }
      items.push(item)
      bytes += item.byteLength
    }
    if (items.length > 0) this.send(encodeItemsFrame(items))
  }
}

/** Pool entries scanned per step of a snapshot page (the page itself is capped by bytes). */
const SNAPSHOT_SCAN = 256
