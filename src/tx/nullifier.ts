import { sha256 } from '../crypto/sha256.ts'
import { toHex } from './hex.ts'
import type { Tx } from './types.ts'

/**
 * Nullifiers bound to their owner. A rollup's proof ties each nullifier to a
 * secret only its owner knows; lightpool's default Ed25519 txs have no proof,
 * so without a binding anyone could copy a pending tx's nullifier into a tx
 * of their own, bid 10 % more and evict it. Here a nullifier must be
 *
 *   SHA-256("lightpool/nullifier/v1\n" ‖ sender public key ‖ seed)
 *
 * with the 32-byte seed carried beside it in the tx. The same owner re-using
 * a seed gets the same nullifier (so a fee bump replaces its own tx); another
 * key with the same seed gets a different one.
 */
const NULLIFIER_DOMAIN = new TextEncoder().encode('lightpool/nullifier/v1\n')

export async function deriveNullifier (sender: Uint8Array, seed: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(NULLIFIER_DOMAIN.byteLength + sender.byteLength + seed.byteLength)
  input.set(NULLIFIER_DOMAIN)
  input.set(sender, NULLIFIER_DOMAIN.byteLength)
  input.set(seed, NULLIFIER_DOMAIN.byteLength + sender.byteLength)
  return await sha256(input)
}

/** Resolves to the first nullifier of `tx` not derived from its sender and seed (hex), or undefined when all are. */
export async function unboundNullifier (tx: Tx): Promise<string | undefined> {
  const { nullifiers, nullifierSeeds, sender } = tx.header
  for (let i = 0; i < nullifiers.length; i++) {
    const expected = await deriveNullifier(sender, nullifierSeeds[i]!)
    if (toHex(expected) !== toHex(nullifiers[i]!)) return toHex(nullifiers[i]!)
  }
  return undefined
}
