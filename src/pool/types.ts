import type { Refusal } from '../tx/refusals.ts'
import type { TxMeta } from '../tx/types.ts'

/** A pending tx as the pool holds it. Treat as read-only. */
export interface PoolEntry extends TxMeta {
  /** Unix ms when this node admitted it. */
  readonly receivedAt: number
  /** Whether this node holds the body (always, on a full node; on demand, on a light one). */
  hasBody: boolean
}

export type RemovalReason =
  /** a tx with a shared nullifier outbid it */
  | 'replaced'
  /** the pool was full and a better tx needed the room */
  | 'evicted'
  | 'expired'
  /** included in a block */
  | 'mined'
  /** shares a nullifier with a mined tx */
  | 'conflict'
  /** its body turned out invalid (light nodes admit on announcement) */
  | 'invalid'
  /** the store could not persist it, so it was never acknowledged */
  | 'store-failed'
  /** removed by its owner */
  | 'removed'

export interface PoolEvents {
  added: { tx: PoolEntry, replaced: PoolEntry[], evicted: PoolEntry[] }
  removed: { tx: PoolEntry, reason: RemovalReason, by?: string }
  /** a light node obtained the body of a pending tx */
  body: { tx: PoolEntry }
  /**
   * an added tx is now durable in the store (and still pending): from here on
   * it may be announced, which is what the light feed waits for
   */
  stored: { tx: PoolEntry }
}

export type AdmissionCheck =
  | { ok: true, replaces: PoolEntry[], evicts: PoolEntry[] }
  | ({ ok: false } & Refusal)

export type AddResult =
  | { status: 'added', tx: PoolEntry, replaced: PoolEntry[], evicted: PoolEntry[] }
  | Refusal

export interface PoolStats {
  count: number
  bytes: number
  withBody: number
  maxCount: number
  maxBytes: number
  minFee: bigint
  /** The fee a new tx needs now: the configured floor, or above the worst pending tx when full. */
  feeFloor: bigint
}

export interface PoolPage {
  txs: PoolEntry[]
  /** Pass back as `cursor` for the next page; absent on the last page. */
  next?: string
}
