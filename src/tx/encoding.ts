import { ByteReader, ByteWriter, DecodeError } from '../codec/bytes.ts'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../crypto/ed25519.ts'
import { sha256 } from '../crypto/sha256.ts'
import { toHex } from './hex.ts'
import { DEFAULT_TX_LIMITS, NULLIFIER_ENTRY_BYTES, TX_FIXED_BYTES, type TxLimits } from './limits.ts'
import { TX_VERSION, type Tx, type TxHeader, type TxMeta } from './types.ts'

/**
 * Tx envelope, version 2 (all integers big-endian):
 *
 *   u8  version = 2
 *   u64 fee
 *   u64 expiresAt        unix ms, at most 2^53-1
 *   u8  nullifier count  ≤ limits.maxNullifiers
 *   64B × count          nullifier (32B, pairwise distinct) then its seed (32B)
 *   32B sender           Ed25519 public key
 *   u32 payload length   ≤ limits.maxPayloadBytes
 *   payload
 *   64B signature        Ed25519 by sender over signingMessage()
 *
 * Everything before the signature is "the unsigned encoding". The tx id is
 * SHA-256 of the whole encoding. Version 1 had no seeds (32B per nullifier)
 * and is refused: its nullifiers were bound to nobody.
 */

export const NULLIFIER_BYTES = 32
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const U64_MAX = (1n << 64n) - 1n

export function encodeUnsigned (header: TxHeader, payload: Uint8Array): Uint8Array {
  if (header.fee < 0n || header.fee > U64_MAX) throw new RangeError('fee must fit in u64')
  if (!Number.isSafeInteger(header.expiresAt) || header.expiresAt < 0) throw new RangeError('expiresAt must be a non-negative safe integer')
  if (header.nullifiers.length > 255) throw new RangeError('at most 255 nullifiers can be encoded')
  if (header.sender.byteLength !== PUBLIC_KEY_BYTES) throw new RangeError('sender must be 32 bytes')
  if (header.nullifierSeeds.length !== header.nullifiers.length) throw new RangeError('one nullifier seed per nullifier')
  const w = new ByteWriter(TX_FIXED_BYTES + header.nullifiers.length * NULLIFIER_ENTRY_BYTES + payload.byteLength)
  w.u8(TX_VERSION).u64(header.fee).u64(header.expiresAt).u8(header.nullifiers.length)
  header.nullifiers.forEach((n, i) => {
    const seed = header.nullifierSeeds[i]!
    if (n.byteLength !== NULLIFIER_BYTES || seed.byteLength !== NULLIFIER_BYTES) throw new RangeError('nullifiers and their seeds must be 32 bytes')
    w.bytes(n).bytes(seed)
  })
  return w.bytes(header.sender).lengthPrefixed(payload).finish()
}

export function appendSignature (unsigned: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.byteLength !== SIGNATURE_BYTES) throw new RangeError('signature must be 64 bytes')
  const out = new Uint8Array(unsigned.byteLength + SIGNATURE_BYTES)
  out.set(unsigned)
  out.set(signature, unsigned.byteLength)
  return out
}

/** Strict decode: every length checked against `limits` before use, trailing bytes refused. */
export function decodeTx (bytes: Uint8Array, limits: TxLimits = DEFAULT_TX_LIMITS): Tx {
  const r = new ByteReader(bytes)
  const version = r.u8('version')
  if (version !== TX_VERSION) throw new DecodeError('version', `unsupported version ${version}`)
  const fee = r.u64('fee')
  const expiresAtRaw = r.u64('expiresAt')
  if (expiresAtRaw > MAX_SAFE) throw new DecodeError('expiresAt', 'exceeds 2^53-1')
  const count = r.u8('nullifierCount')
  if (count > limits.maxNullifiers) throw new DecodeError('nullifierCount', `${count} exceeds the cap ${limits.maxNullifiers}`)
  const nullifiers: Uint8Array[] = []
  const nullifierSeeds: Uint8Array[] = []
  const seen = new Set<string>()
  for (let i = 0; i < count; i++) {
    const n = r.bytes(NULLIFIER_BYTES, 'nullifiers')
    const key = toHex(n)
    if (seen.has(key)) throw new DecodeError('nullifiers', 'duplicate nullifier')
    seen.add(key)
    nullifiers.push(n)
    nullifierSeeds.push(r.bytes(NULLIFIER_BYTES, 'nullifierSeeds'))
  }
  const sender = r.bytes(PUBLIC_KEY_BYTES, 'sender')
  const payload = r.lengthPrefixed('payload', limits.maxPayloadBytes)
  const signature = r.bytes(SIGNATURE_BYTES, 'signature')
  r.end('tx')
  return { version, header: { fee, expiresAt: Number(expiresAtRaw), nullifiers, nullifierSeeds, sender }, payload, signature, encoded: bytes }
}

/** The tx's unsigned encoding: everything the signature covers. */
export function unsignedPart (tx: Tx): Uint8Array {
  return tx.encoded.subarray(0, tx.encoded.byteLength - SIGNATURE_BYTES)
}

const SIGNING_DOMAIN = new TextEncoder().encode('lightpool/tx/v1\n')

/**
 * What the sender signs: a domain tag and SHA-256 of the unsigned encoding.
 * Signing a 48-byte digest rather than 40 KB lets hardware signers and other
 * verifiers work on a fixed-size message, and the domain tag keeps a tx
 * signature from being valid for anything else signed by the same key.
 */
export async function signingMessage (unsigned: Uint8Array): Promise<Uint8Array> {
  const digest = await sha256(unsigned)
  const msg = new Uint8Array(SIGNING_DOMAIN.byteLength + digest.byteLength)
  msg.set(SIGNING_DOMAIN)
  msg.set(digest, SIGNING_DOMAIN.byteLength)
  return msg
}

/** The tx id: SHA-256 of the full encoding, as hex. */
export async function txHash (encoded: Uint8Array): Promise<string> {
  return toHex(await sha256(encoded))
}

export function txMeta (tx: Tx, hash: string): TxMeta {
  return {
    hash,
    size: tx.encoded.byteLength,
    fee: tx.header.fee,
    expiresAt: tx.header.expiresAt,
    nullifiers: tx.header.nullifiers.map(toHex)
  }
}
