import { LruCache } from '../util/lru.ts'
import { Emitter } from '../util/emitter.ts'
import type { PoolEntry, PoolEvents, RemovalReason } from './pool.ts'

/**
 * What happened to a tx, as one node's pool saw it: pending from when it
 * arrived, then each removal with its reason (replaced, evicted, expired,
 * mined, …) and the tx that caused it; and the txs it displaced.
 *
 * Built from the pool's events only, so it is the same on a full node and a
 * light one — a light node learns of removals it did not cause itself (mined
 * txs, the relay's evictions) from the light feed's `removed` events, which
 * land here with no change.
 *
 * Memory is bounded: only txs with something to tell (removed, or having
 * displaced others) get a record, and the `capacity` most recently touched
 * records are kept. A pending tx with no record is simply "pending since it
 * arrived" (read from the pool).
 */
export type TxStatusKind = 'pending' | RemovalReason

export interface TimelineStep {
  at: number
  status: TxStatusKind
  /** The tx that replaced or evicted this one. */
  by?: string
}

export interface TxTimelineRecord {
  /** The tx as the pool last held it (kept after it left the pool). */
  tx: PoolEntry
  steps: TimelineStep[]
  /** Txs this one replaced (they shared a nullifier with it). */
  replaced: string[]
  /** Txs this one pushed out of a full pool. */
  evicted: string[]
}

export interface TxTimelineConfig {
  /** Records kept (txs removed, or that displaced others), least recently touched dropped first. ~0.5 kB each. Default 5 000. */
  capacity: number
}

export const DEFAULT_TX_TIMELINE_CONFIG: Readonly<TxTimelineConfig> = Object.freeze({ capacity: 5_000 })

/** Steps kept per tx: a tx re-admitted and removed again and again cannot grow its record without bound. */
const MAX_STEPS = 16

export interface TxTimelineEvents {
  /** Something new about `hash`. */
  change: { hash: string }
}

export class TxTimeline {
  readonly events = new Emitter<TxTimelineEvents>()
  private readonly pool: { get: (hash: string) => PoolEntry | undefined, events: Emitter<PoolEvents> }
  private readonly records: LruCache<string, TxTimelineRecord>
  private readonly unsubscribe: Array<() => void>
  private readonly now: () => number

  constructor (pool: { get: (hash: string) => PoolEntry | undefined, events: Emitter<PoolEvents> }, config: Partial<TxTimelineConfig> = {}, now: () => number = Date.now) {
    this.pool = pool
    this.now = now
    this.records = new LruCache({ ...DEFAULT_TX_TIMELINE_CONFIG, ...config }.capacity)
    this.unsubscribe = [
      pool.events.on('added', ({ tx, replaced, evicted }) => {
        const known = this.records.get(tx.hash)
        // re-admitted after a removal: its story goes on
        if (known !== undefined) this.step(known, { at: tx.receivedAt, status: 'pending' }, tx)
        if (replaced.length === 0 && evicted.length === 0) {
          if (known !== undefined) this.events.emit('change', { hash: tx.hash })
          return
        }
        const rec = known ?? this.create(tx)
        rec.replaced.push(...replaced.map(r => r.hash))
        rec.evicted.push(...evicted.map(r => r.hash))
        this.events.emit('change', { hash: tx.hash })
      }),
      pool.events.on('removed', ({ tx, reason, by }) => {
        const rec = this.records.get(tx.hash) ?? this.create(tx)
        this.step(rec, by === undefined ? { at: this.now(), status: reason } : { at: this.now(), status: reason, by }, tx)
        this.events.emit('change', { hash: tx.hash })
      })
    ]
  }

  /** The tx's story, or undefined if this node never saw it (or has forgotten it). */
  get (hash: string): TxTimelineRecord | undefined {
    const rec = this.records.get(hash)
    if (rec !== undefined) return rec
    const tx = this.pool.get(hash)
    return tx === undefined ? undefined : { tx, steps: [{ at: tx.receivedAt, status: 'pending' }], replaced: [], evicted: [] }
  }

  /** Where the tx stands now: the last step. */
  status (hash: string): TimelineStep | undefined {
    return this.get(hash)?.steps.at(-1)
  }

  close (): void {
    for (const u of this.unsubscribe.splice(0)) u()
  }

  private create (tx: PoolEntry): TxTimelineRecord {
    const rec: TxTimelineRecord = { tx, steps: [{ at: tx.receivedAt, status: 'pending' }], replaced: [], evicted: [] }
    this.records.set(tx.hash, rec)
    return rec
  }

  private step (rec: TxTimelineRecord, step: TimelineStep, tx: PoolEntry): void {
    rec.tx = tx
    rec.steps.push(step)
    if (rec.steps.length > MAX_STEPS) rec.steps.splice(1, rec.steps.length - MAX_STEPS)
  }
}
