import { ed25519Verify } from '../crypto/ed25519.ts'
import { signingMessage, unsignedPart } from './encoding.ts'
import type { Tx } from './types.ts'

/**
 * The validity check that needs the whole tx: the expensive, last stage of
 * validation. The default checks the sender's Ed25519 signature; a chain
 * replaces it with its own proof verification (and may call the default too).
 */
export interface TxVerifier {
  /** Resolves to `undefined` when valid, else a short reason. Must not throw for bad input. */
  verify: (tx: Tx) => Promise<string | undefined>
}

export class SignatureVerifier implements TxVerifier {
  async verify (tx: Tx): Promise<string | undefined> {
    const message = await signingMessage(unsignedPart(tx))
    const ok = await ed25519Verify(tx.signature, message, tx.header.sender)
    return ok ? undefined : 'Ed25519 signature does not verify for the sender key'
  }
}
