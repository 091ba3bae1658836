import { type RemovalReason, type TimelineStep, type TxPool, TxTimeline } from '../../src/index.ts'

export type TxStatus =
  | { status: 'pending', history: TxHistoryStep[] }
  | { status: 'mined', history: TxHistoryStep[] }
  /** `by`: the tx that replaced or evicted it, 0x-hex */
  | { status: 'dropped', reason: Exclude<RemovalReason, 'mined'>, by?: string, history: TxHistoryStep[] }
  | { status: 'unknown' }

/** One step of a tx's story as JSON-RPC gives it: when (ms since the epoch), what, and the tx that caused it. */
export interface TxHistoryStep {
  at: number
  status: TimelineStep['status']
  by?: string
}

/**
 * What became of a tx, for `pool_getTxStatus`: pending while the pool holds
 * it, then mined or dropped (with the pool's reason) for as long as it stays
 * among the `capacity` most recently touched; unknown before it arrived or
 * after it is forgotten. Read from the core's TxTimeline, the one record of a
 * tx's story (the observer's tx page reads the same), so the answer carries
 * the steps too.
 */
export class TxStatusTracker {
  private readonly timeline: TxTimeline

  constructor (pool: Pick<TxPool, 'get' | 'events'>, capacity: number) {
    this.timeline = new TxTimeline(pool, { capacity })
  }

  /** `hash`: 64 lowercase hex digits, as the pool keys txs. */
  status (hash: string): TxStatus {
    const record = this.timeline.get(hash)
    const last = record?.steps.at(-1)
    if (record === undefined || last === undefined) return { status: 'unknown' }
    const history = record.steps.map(s => s.by === undefined ? { at: s.at, status: s.status } : { at: s.at, status: s.status, by: `0x${s.by}` })
    if (last.status === 'pending') return { status: 'pending', history }
    if (last.status === 'mined') return { status: 'mined', history }
    return last.by === undefined
      ? { status: 'dropped', reason: last.status, history }
      : { status: 'dropped', reason: last.status, by: `0x${last.by}`, history }
  }

  close (): void {
    this.timeline.close()
  }
}
