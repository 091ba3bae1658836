import { DEFAULT_TX_LIMITS, maxTxBytes } from '../tx/limits.ts'
import type { AdmissionPolicy } from './policy.ts'

export interface PoolConfig extends AdmissionPolicy {
  /** Most pending txs. Default 10 000. */
  maxCount: number
  /** Most bytes of pending txs (sum of encoded sizes). Default 512 MiB. */
  maxBytes: number
  /**
   * A tx that shares a nullifier with pending ones replaces them only if its fee
   * is at least this many percent above each of theirs (and strictly higher).
   * Without a bump, two txs could replace each other forever for free. Default 10.
   */
  replacementBumpPercent: number
  /** How many nullifiers of mined txs to remember, to refuse late txs that spend them. Default 10 000. */
  minedNullifierMemory: number
  /** How often `start()`ed pools sweep expired txs. Default 1 s. */
  sweepIntervalMs: number
}

export const DEFAULT_POOL_CONFIG: Readonly<PoolConfig> = Object.freeze({
  maxCount: 10_000,
  maxBytes: 512 * 1024 * 1024,
  replacementBumpPercent: 10,
  minedNullifierMemory: 10_000,
  sweepIntervalMs: 1_000,
  minFee: 1n,
  minTimeToLiveMs: 2_000,
  maxExpiryAheadMs: 24 * 60 * 60 * 1000,
  maxTxBytes: maxTxBytes(DEFAULT_TX_LIMITS)
})

/** Refuses a config the pool could not honour, naming the field. */
export function validateConfig (c: PoolConfig): void {
  const positiveInts: Array<keyof PoolConfig> = ['maxCount', 'maxBytes', 'sweepIntervalMs', 'maxTxBytes', 'minedNullifierMemory']
  for (const key of positiveInts) {
    const v = c[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`pool config ${key} must be a positive integer, got ${String(v)}`)
  }
  for (const key of ['minTimeToLiveMs', 'maxExpiryAheadMs', 'replacementBumpPercent'] as const) {
    if (!Number.isSafeInteger(c[key]) || c[key] < 0) throw new RangeError(`pool config ${key} must be a non-negative integer, got ${c[key]}`)
  }
  if (typeof c.minFee !== 'bigint' || c.minFee < 0n) throw new RangeError('pool config minFee must be a non-negative bigint')
}
