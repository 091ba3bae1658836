import { ed25519Verify } from '../crypto/ed25519.ts'
import { signingMessage, unsignedPart } from './encoding.ts'
import { unboundNullifier } from './nullifier.ts'
import type { Tx } from './types.ts'

/** Why a verifier refused a tx: the rule it broke and a short reason. */
export interface TxInvalid {
  /**
   * `invalid-signature`: the signature (or a chain's proof) does not verify.
   * `nullifier-not-owned`: a nullifier is not bound to the tx's sender, so
   * the tx could be a copy made to evict the owner's tx.
   */
  rule: 'invalid-signature' | 'nullifier-not-owned'
  message: string
}

/**
 * The validity check that needs the whole tx: the expensive, last stage of
 * validation. The default checks that every nullifier is bound to the sender
 * (nullifier.ts) and the sender's Ed25519 signature; a chain replaces it with
 * its own proof verification (and may call the default too).
 *
 * Whatever a chain checks, it must bind each nullifier to its owner: the pool
 * lets a tx that outbids a pending one on a shared nullifier replace it, so a
 * check that accepts anyone's tx carrying a copied nullifier lets anyone evict
 * any pending tx for 10 % more fee.
 */
export interface TxVerifier {
  /**
   * Resolves to `undefined` when valid, else why not: a `TxInvalid`, or a bare
   * reason string (taken as `invalid-signature`). Must not throw for bad input.
   */
  verify: (tx: Tx) => Promise<TxInvalid | string | undefined>
}

export class SignatureVerifier implements TxVerifier {
  async verify (tx: Tx): Promise<TxInvalid | undefined> {
    const unbound = await unboundNullifier(tx)
    if (unbound !== undefined) return { rule: 'nullifier-not-owned', message: `nullifier ${unbound} is not derived from the sender key and its seed` }
    const message = await signingMessage(unsignedPart(tx))
    const ok = await ed25519Verify(tx.signature, message, tx.header.sender)
    return ok ? undefined : { rule: 'invalid-signature', message: 'Ed25519 signature does not verify for the sender key' }
  }
}
