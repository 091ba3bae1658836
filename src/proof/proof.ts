import { ByteReader, ByteWriter, DecodeError } from '../codec/bytes.ts'
import { ed25519Verify, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../crypto/ed25519.ts'
import { sha256 } from '../crypto/sha256.ts'
import type { TxSigner } from '../tx/build.ts'
import { fromHex, toHex } from '../tx/hex.ts'

/**
 * A rollup proof: rare, large, gossiped with the same announce-then-fetch
 * machinery as txs but on its own topic, with its own size cap.
 *
 *   u8  version = 1
 *   u64 blockNumber      at most 2^53-1
 *   32B prover           Ed25519 public key
 *   u32 proof length     ≤ maxProofBytes
 *   proof
 *   64B signature        by prover over "lightpool/proof/v1\n" ‖ SHA-256(everything above)
 */
const PROOF_VERSION = 1
export const PROOF_FIXED_BYTES = 1 + 8 + 32 + 4 + 64
/** Default cap on a proof's bytes: 4 MiB. */
export const DEFAULT_MAX_PROOF_BYTES = 4 * 1024 * 1024

export interface Proof {
  blockNumber: number
  prover: Uint8Array
  proof: Uint8Array
  signature: Uint8Array
  encoded: Uint8Array
}

export interface ProofMeta {
  hash: string
  size: number
  blockNumber: number
}

const DOMAIN = new TextEncoder().encode('lightpool/proof/v1\n')

async function signingMessage (unsigned: Uint8Array): Promise<Uint8Array> {
  const digest = await sha256(unsigned)
  const msg = new Uint8Array(DOMAIN.byteLength + 32)
  msg.set(DOMAIN)
  msg.set(digest, DOMAIN.byteLength)
  return msg
}

export function decodeProof (bytes: Uint8Array, maxProofBytes = DEFAULT_MAX_PROOF_BYTES): Proof {
  const r = new ByteReader(bytes)
  const version = r.u8('proof.version')
  if (version !== PROOF_VERSION) throw new DecodeError('proof.version', `unsupported version ${version}`)
  const blockNumber = r.u64Safe('proof.blockNumber')
  const prover = r.bytes(PUBLIC_KEY_BYTES, 'proof.prover')
  const proof = r.lengthPrefixed('proof.proof', maxProofBytes)
  const signature = r.bytes(SIGNATURE_BYTES, 'proof.signature')
  r.end('proof')
  return { blockNumber, prover, proof, signature, encoded: bytes }
}

export async function buildProof (blockNumber: number, proof: Uint8Array, signer: TxSigner): Promise<{ bytes: Uint8Array, meta: ProofMeta }> {
  const unsigned = new ByteWriter(PROOF_FIXED_BYTES + proof.byteLength)
    .u8(PROOF_VERSION).u64(blockNumber).bytes(signer.publicKey).lengthPrefixed(proof).finish()
  const signature = await signer.sign(await signingMessage(unsigned))
  const bytes = new ByteWriter(unsigned.byteLength + SIGNATURE_BYTES).bytes(unsigned).bytes(signature).finish()
  return { bytes, meta: { hash: toHex(await sha256(bytes)), size: bytes.byteLength, blockNumber } }
}

export async function verifyProofSignature (p: Proof): Promise<boolean> {
  const unsigned = p.encoded.subarray(0, p.encoded.byteLength - SIGNATURE_BYTES)
  return await ed25519Verify(p.signature, await signingMessage(unsigned), p.prover)
}

export function encodeProofAnnouncement (meta: ProofMeta): Uint8Array {
  return new ByteWriter(45).u8(PROOF_VERSION).bytes(fromHex(meta.hash)).u32(meta.size).u64(meta.blockNumber).finish()
}

export function decodeProofAnnouncement (bytes: Uint8Array, maxProofBytes = DEFAULT_MAX_PROOF_BYTES): ProofMeta {
  const r = new ByteReader(bytes)
  const version = r.u8('proofAnnouncement.version')
  if (version !== PROOF_VERSION) throw new DecodeError('proofAnnouncement.version', `unsupported version ${version}`)
  const hash = toHex(r.bytes(32, 'proofAnnouncement.hash'))
  const size = r.u32('proofAnnouncement.size')
  if (size < PROOF_FIXED_BYTES || size > PROOF_FIXED_BYTES + maxProofBytes) throw new DecodeError('proofAnnouncement.size', `${size} is outside the proof size limits`)
  const blockNumber = r.u64Safe('proofAnnouncement.blockNumber')
  r.end('proofAnnouncement')
  return { hash, size, blockNumber }
}
