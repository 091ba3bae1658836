/** How pool data looks on the wire: hashes and bytes as 0x-hex, bigints as decimal strings. */
import type { PoolEntry, PoolStats } from '../../src/index.ts'

export interface TxSummary {
  hash: string
  size: number
  /** decimal string: fees are bigints */
  fee: string
  expiresAt: number
  nullifiers: string[]
  receivedAt: number
  hasBody: boolean
}

export function prefixed (hex: string): string {
  return `0x${hex}`
}

/**
 * A tx body as 0x-hex. Through Buffer rather than src/tx/hex.ts's toHex:
 * that one builds the string a character pair at a time, and an 80 KB string
 * built so is a rope V8 must flatten before JSON.stringify, which under load
 * (measured: 400 getTx of a 40 KB tx) costs ~10× more time and garbage.
 */
export function bodyHex (bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

export function txSummary (tx: PoolEntry): TxSummary {
  return {
    hash: prefixed(tx.hash),
    size: tx.size,
    fee: tx.fee.toString(),
    expiresAt: tx.expiresAt,
    nullifiers: tx.nullifiers.map(prefixed),
    receivedAt: tx.receivedAt,
    hasBody: tx.hasBody
  }
}

export interface PoolStatusJson {
  count: number
  bytes: number
  withBody: number
  maxCount: number
  maxBytes: number
  minFee: string
  feeFloor: string
}

export function poolStatus (stats: PoolStats): PoolStatusJson {
  return { ...stats, minFee: stats.minFee.toString(), feeFloor: stats.feeFloor.toString() }
}
