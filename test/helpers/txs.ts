import { buildTx, Ed25519Signer, type BuiltTx } from '../../src/index.ts'

/** A fresh nullifier seed: the tx built from it spends a nullifier no other tx has. */
export function randomSeed (): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32))
}

export interface TestTxOptions {
  fee?: bigint
  expiresAt?: number
  /** Seeds of the tx's nullifiers (derived with the signer's key): the same seed and signer give the same nullifier. */
  nullifierSeeds?: Uint8Array[]
  payloadBytes?: number
  signer?: Ed25519Signer
}

const defaultSigner = Ed25519Signer.generate()

/** A valid signed tx; fields default to something any default pool admits. */
export async function makeTx (opts: TestTxOptions = {}): Promise<BuiltTx> {
  const payload = new Uint8Array(opts.payloadBytes ?? 256)
  crypto.getRandomValues(payload.subarray(0, Math.min(payload.length, 65536)))
  return await buildTx({
    fee: opts.fee ?? 100n,
    expiresAt: opts.expiresAt ?? Date.now() + 10 * 60_000,
    nullifierSeeds: opts.nullifierSeeds ?? [randomSeed()],
    payload
  }, opts.signer ?? defaultSigner)
}
