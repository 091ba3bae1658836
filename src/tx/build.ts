import { ed25519PublicKey, ed25519RandomSecretKey, ed25519Sign, SECRET_KEY_BYTES } from '../crypto/ed25519.ts'
import { appendSignature, encodeUnsigned, signingMessage, txHash, txMeta, decodeTx } from './encoding.ts'
import { DEFAULT_TX_LIMITS, type TxLimits } from './limits.ts'
import { deriveNullifier } from './nullifier.ts'
import type { Tx, TxMeta } from './types.ts'

/** Signs txs for one sender key. */
export interface TxSigner {
  readonly publicKey: Uint8Array
  sign: (message: Uint8Array) => Promise<Uint8Array>
}

export class Ed25519Signer implements TxSigner {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array

  constructor (secretKey: Uint8Array) {
    if (secretKey.byteLength !== SECRET_KEY_BYTES) throw new RangeError(`an Ed25519 secret key is ${SECRET_KEY_BYTES} bytes`)
    this.secretKey = secretKey
    this.publicKey = ed25519PublicKey(secretKey)
  }

  static generate (): Ed25519Signer {
    return new Ed25519Signer(ed25519RandomSecretKey())
  }

  async sign (message: Uint8Array): Promise<Uint8Array> {
    return ed25519Sign(message, this.secretKey)
  }
}

export interface TxFields {
  fee: bigint
  expiresAt: number
  /**
   * One 32-byte seed per nullifier the tx spends: its nullifiers are derived
   * from these and the signer's key (nullifier.ts). Re-use a seed to replace
   * your own pending tx with a higher fee.
   */
  nullifierSeeds: Uint8Array[]
  payload: Uint8Array
}

export interface BuiltTx {
  tx: Tx
  bytes: Uint8Array
  hash: string
  meta: TxMeta
}

/** Encodes and signs a tx. Throws RangeError for fields the envelope cannot hold. */
export async function buildTx (fields: TxFields, signer: TxSigner, limits: TxLimits = DEFAULT_TX_LIMITS): Promise<BuiltTx> {
  const nullifiers = await Promise.all(fields.nullifierSeeds.map(async seed => await deriveNullifier(signer.publicKey, seed)))
  const header = { fee: fields.fee, expiresAt: fields.expiresAt, nullifiers, nullifierSeeds: fields.nullifierSeeds, sender: signer.publicKey }
  const unsigned = encodeUnsigned(header, fields.payload)
  const signature = await signer.sign(await signingMessage(unsigned))
  const bytes = appendSignature(unsigned, signature)
  // decoding what was just built checks it against the limits a receiver applies
  const tx = decodeTx(bytes, limits)
  const hash = await txHash(bytes)
  return { tx, bytes, hash, meta: txMeta(tx, hash) }
}
