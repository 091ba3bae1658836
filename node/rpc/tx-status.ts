import { type RemovalReason, type TxPool, LruCache } from '../../src/index.ts'

export type TxStatus =
  | { status: 'pending' }
  | { status: 'mined' }
  /** `by`: the tx that replaced or evicted it, 0x-hex */
  | { status: 'dropped', reason: Exclude<RemovalReason, 'mined'>, by?: string }
  | { status: 'unknown' }

interface Removal { reason: RemovalReason, by?: string }

/**
 * What became of a tx: pending while the pool holds it, then mined or dropped
 * (with the pool's reason) for as long as it stays among the `capacity` most
 * recently removed; unknown before it arrived or after it is forgotten.
 */
export class TxStatusTracker {
  private readonly pool: Pick<TxPool, 'has' | 'events'>
  private readonly removed: LruCache<string, Removal>
  private readonly unsubscribe: () => void

  constructor (pool: Pick<TxPool, 'has' | 'events'>, capacity: number) {
    this.pool = pool
    this.removed = new LruCache(capacity)
    this.unsubscribe = pool.events.on('removed', ({ tx, reason, by }) => {
      this.removed.set(tx.hash, by === undefined ? { reason } : { reason, by })
    })
  }

  /** `hash`: 64 lowercase hex digits, as the pool keys txs. */
  status (hash: string): TxStatus {
    if (this.pool.has(hash)) return { status: 'pending' }
    const removal = this.removed.get(hash)
    if (removal === undefined) return { status: 'unknown' }
    if (removal.reason === 'mined') return { status: 'mined' }
    return removal.by === undefined
      ? { status: 'dropped', reason: removal.reason }
      : { status: 'dropped', reason: removal.reason, by: `0x${removal.by}` }
  }

  close (): void {
    this.unsubscribe()
  }
}
