/**
 * Structural caps of the tx envelope. A decoder checks every length against
 * these before allocating, so a hostile length field costs nothing.
 */
export interface TxLimits {
  /** Largest payload (public data + proof). Typical txs carry ~40 KB. Default 128 KiB. */
  maxPayloadBytes: number
  /** Most nullifiers one tx may carry. Default 64 (the rollup's per-tx maximum). */
  maxNullifiers: number
}

export const DEFAULT_TX_LIMITS: Readonly<TxLimits> = Object.freeze({
  maxPayloadBytes: 128 * 1024,
  maxNullifiers: 64
})

/** Bytes of an encoded tx other than its payload and nullifiers. */
export const TX_FIXED_BYTES = 1 + 8 + 8 + 1 + 32 + 4 + 64

/** Bytes each nullifier takes in the envelope: the nullifier and its seed, 32 each. */
export const NULLIFIER_ENTRY_BYTES = 32 + 32

/** The largest encoding these limits allow. */
export function maxTxBytes (limits: TxLimits): number {
  return TX_FIXED_BYTES + limits.maxNullifiers * NULLIFIER_ENTRY_BYTES + limits.maxPayloadBytes
}
