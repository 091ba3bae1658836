import { ByteReader, ByteWriter, DecodeError } from '../codec/bytes.ts'
import { fromHex, toHex } from './hex.ts'
import { DEFAULT_TX_LIMITS, maxTxBytes, NULLIFIER_ENTRY_BYTES, TX_FIXED_BYTES, type TxLimits } from './limits.ts'
import type { TxMeta } from './types.ts'

/**
 * The binary form of a tx's metadata, shared by announcements, sync pages and
 * the stores:
 *
 *   32B hash | u32 size | u64 fee | u64 expiresAt | u8 count | 32B × count nullifiers
 *
 * META_FIXED_BYTES (53) + 32·n bytes. Decoding checks `size` and the
 * nullifier count against the envelope limits, so a lying announcement cannot
 * make us fetch more than a tx can be.
 */
export const META_FIXED_BYTES = 32 + 4 + 8 + 8 + 1

export function writeMeta (w: ByteWriter, meta: TxMeta): ByteWriter {
  w.bytes(fromHex(meta.hash)).u32(meta.size).u64(meta.fee).u64(meta.expiresAt).u8(meta.nullifiers.length)
  for (const n of meta.nullifiers) w.bytes(fromHex(n))
  return w
}

export function readMeta (r: ByteReader, limits: TxLimits = DEFAULT_TX_LIMITS): TxMeta {
  const hash = toHex(r.bytes(32, 'hash'))
  const size = r.u32('size')
  if (size < TX_FIXED_BYTES || size > maxTxBytes(limits)) throw new DecodeError('size', `${size} is outside [${TX_FIXED_BYTES}, ${maxTxBytes(limits)}]`)
  const fee = r.u64('fee')
  const expiresAt = r.u64Safe('expiresAt')
  const count = r.u8('nullifierCount')
  if (count > limits.maxNullifiers) throw new DecodeError('nullifierCount', `${count} exceeds the cap ${limits.maxNullifiers}`)
  if (size < TX_FIXED_BYTES + count * NULLIFIER_ENTRY_BYTES) throw new DecodeError('size', `${size} bytes cannot hold ${count} nullifiers`)
  const nullifiers: string[] = []
  for (let i = 0; i < count; i++) {
    const n = toHex(r.bytes(32, 'nullifiers'))
    if (nullifiers.includes(n)) throw new DecodeError('nullifiers', 'duplicate nullifier')
    nullifiers.push(n)
  }
  return { hash, size, fee, expiresAt, nullifiers }
}

export function encodeMeta (meta: TxMeta): Uint8Array {
  return writeMeta(new ByteWriter(META_FIXED_BYTES + 32 * meta.nullifiers.length), meta).finish()
}

export function decodeMeta (bytes: Uint8Array, limits: TxLimits = DEFAULT_TX_LIMITS): TxMeta {
  const r = new ByteReader(bytes)
  const meta = readMeta(r, limits)
  r.end('meta')
  return meta
}
