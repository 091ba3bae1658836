import type { Hex } from './hex.ts'

/** 2: each nullifier travels with the seed it is derived from (see nullifier.ts). */
export const TX_VERSION = 2

/** The signed header of a tx. */
export interface TxHeader {
  /**
   * The priority the sender bids: the pool orders, replaces and evicts by it.
   * What the chain charges is its own business; lightpool treats it as a score.
   */
  fee: bigint
  /** Unix time in milliseconds after which the tx can no longer be included. */
  expiresAt: number
  /** 32-byte nullifiers; two pending txs never share one. */
  nullifiers: Uint8Array[]
  /**
   * One 32-byte seed per nullifier, in the same order. The default verifier
   * requires nullifiers[i] = deriveNullifier(sender, nullifierSeeds[i]), which
   * binds every nullifier to its owner's key; a chain whose proof binds them
   * its own way may leave the seeds zero.
   */
  nullifierSeeds: Uint8Array[]
  /** Ed25519 public key of the sender, which signs the tx. */
  sender: Uint8Array
}

/** A decoded tx. `encoded` is its canonical encoding; the id is SHA-256 of it. */
export interface Tx {
  version: number
  header: TxHeader
  /** Opaque to lightpool: public data and proof. */
  payload: Uint8Array
  signature: Uint8Array
  encoded: Uint8Array
}

/**
 * What the pool keeps in memory per tx, and what an announcement carries: all
 * that metadata-only admission needs (size, fee, expiry, nullifiers).
 */
export interface TxMeta {
  hash: Hex
  /** Bytes of the encoded tx. */
  size: number
  fee: bigint
  expiresAt: number
  /** Hex nullifiers, distinct. */
  nullifiers: Hex[]
}
