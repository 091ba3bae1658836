import type { PoolEntry, RemovalReason, TxPool } from '../../pool/pool.ts'
import { LruCache } from '../../util/lru.ts'
import { META_FIXED_BYTES } from '../../tx/meta-codec.ts'
import { encodeAddItem, encodeRemoveItem, FINAL_REASONS, ITEMS_HEADER_BYTES, type FeedCursor } from './codec.ts'
import { FeedJournal } from './journal.ts'
import type { FeedServerConfig } from './server-config.ts'

/**
 * The feed server's one shared stream of live items: pool events become
 * items, each numbered (`seq`, under this run's random `epoch`), journalled
 * for resuming subscribers, and batched into frames every subscriber shares.
 *
 * - A tx becomes an add once the pool holds it durably ('stored'), the rule
 *   gossip forwarding follows: announcing is a promise to serve the body.
 * - A removal of a tx that was fed becomes a remove item; one a not-yet-
 *   durable newcomer caused (replaced, evicted) is held until that newcomer
 *   is fed (see `onRemoved`).
 * - Recent final removals (mined, conflict, expired, invalid) are kept for
 *   the end of every snapshot (`finalRemovalMemory`).
 *
 * The batch is always the last `batch.length` items numbered: a flush hands
 * them, with the seq of the first, to `deliver` (the server's subscribers),
 * before the next item is numbered. So every subscriber sees consecutive seqs.
 */
export interface Delivery {
  items: Uint8Array[]
  /** the seq of items[0] */
  first: number
  /** the items' bytes, framing excluded */
  bytes: number
}

export class FeedBroadcaster {
  private readonly config: Readonly<FeedServerConfig>
  private readonly pool: TxPool
  /** Called with each flushed batch; `listeners()` says whether anyone is there to get one. */
  private readonly deliver: (d: Delivery) => void
  private readonly listeners: () => number
  /** txs fed (durable and pending): the snapshot lists only these, removals are sent only for these */
  readonly fed = new Set<string>()
  private batch: Uint8Array[] = []
  private batchBytes = 0
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private readonly unsubscribe: Array<() => void> = []
  /**
   * Removal items of txs a not-yet-durable newcomer replaced or evicted, by
   * the newcomer's hash. Bounded by the pool's writes in flight: each entry
   * goes when its newcomer is stored or removed.
   */
  private readonly heldRemovals = new Map<string, Uint8Array[]>()
  /** Recent final removals of fed txs (hash → item, when): every snapshot ends with them (see finalRemovalMemory). */
  private readonly finalRemovals: LruCache<string, { item: Uint8Array, at: number }>
  /** This run's 64 random bits: a cursor from another run (before a restart) does not resume. */
  private currentEpoch = 0n
  /** The seq of the last live item (0: none yet); the batch is the last `batch.length` of them. */
  private seq = 0
  private itemsFed = 0
  private currentJournal: FeedJournal

  constructor (init: { config: Readonly<FeedServerConfig>, pool: TxPool, deliver: (d: Delivery) => void, listeners: () => number }) {
    this.config = init.config
    this.pool = init.pool
    this.deliver = init.deliver
    this.listeners = init.listeners
    this.finalRemovals = new LruCache(Math.max(1, this.config.finalRemovalMemory))
    this.currentJournal = new FeedJournal(this.config.resumeJournalBytes)
  }

  get epoch (): bigint { return this.currentEpoch }
  get journal (): FeedJournal { return this.currentJournal }
  get fedCount (): number { return this.itemsFed }

  start (): void {
    this.currentEpoch = new DataView(crypto.getRandomValues(new Uint8Array(8)).buffer).getBigUint64(0)
    this.seq = 0
    this.currentJournal = new FeedJournal(this.config.resumeJournalBytes)
    for (const tx of this.pool.best()) if (tx.hasBody) this.fed.add(tx.hash)
    this.unsubscribe.push(this.pool.events.on('stored', ({ tx }) => { this.onStored(tx) }))
    this.unsubscribe.push(this.pool.events.on('removed', ({ tx, reason, by }) => { this.onRemoved(tx, reason, by) }))
  }

  stop (): void {
    for (const u of this.unsubscribe.splice(0)) u()
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  /** The seq of the last live item flushed: subscribers have been sent or have queued every item up to it (or, replaying, read them from the journal). */
  flushedSeq (): number {
    return this.seq - this.batch.length
  }

  /**
   * Can a subscriber whose last item was `cursor` be sent what it missed
   * from the journal? Not if the cursor is from another run, or the journal
   * no longer holds the item after it, or it names an item not yet flushed
   * (not one this server sent), or what it missed is more than a snapshot of
   * the pool now (~an announcement per tx fed).
   */
  canResume (cursor: FeedCursor): boolean {
    const end = this.flushedSeq()
    if (cursor.epoch !== this.currentEpoch || cursor.seq > end || !this.currentJournal.holds(cursor.seq + 1)) return false
    return this.currentJournal.bytesBetween(cursor.seq + 1, end) <= this.fed.size * SNAPSHOT_ITEM_BYTES
  }

  /** The final removals still within `finalRemovalWindowMs`, oldest first (the older ones are let go). */
  recentFinalRemovals (now = Date.now()): Uint8Array[] {
    const since = now - this.config.finalRemovalWindowMs
    const out: Uint8Array[] = []
    for (const [hash, { item, at }] of [...this.finalRemovals.entries()]) {
      if (at < since) this.finalRemovals.delete(hash)
      else out.push(item)
    }
    return out
  }

  /** Sends the batch to `deliver` now (the flush timer, or an item that would overfill the frame). */
  flush (): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const items = this.batch
    const bytes = this.batchBytes
    const first = this.flushedSeq() + 1
    this.batch = []
    this.batchBytes = 0
    if (items.length > 0) this.deliver({ items, first, bytes })
  }

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
    this.itemsFed++
    const none = this.listeners() === 0
    // the batch is always the last items numbered (flushedSeq): it goes before the next is numbered
    if (this.batch.length > 0 && (none || this.batchBytes + item.byteLength + ITEMS_HEADER_BYTES > this.config.maxFrameBytes)) this.flush()
    this.currentJournal.append(++this.seq, item)
    if (none) return
    this.batch.push(item)
    this.batchBytes += item.byteLength
    this.flushTimer ??= setTimeout(() => { this.flush() }, this.config.flushIntervalMs)
  }
}

/** A snapshot's bytes per tx, about: an announcement with one nullifier. */
const SNAPSHOT_ITEM_BYTES = 1 + META_FIXED_BYTES + 32
