import type { TxMeta } from '../../src/index.ts'
import { compareRank } from '../../src/index.ts'

/**
 * The baseline the pool benchmark compares against: a Map of pending txs with
 * a nullifier map, and a linear scan for the worst tx when full — what a
 * first, unindexed mempool looks like. Same admission rules, no ordered index.
 */
export class NaivePool {
  private readonly byHash = new Map<string, TxMeta>()
  private readonly byNullifier = new Map<string, TxMeta>()
  private readonly maxCount: number

  constructor (maxCount: number) {
    this.maxCount = maxCount
  }

  get size (): number { return this.byHash.size }

  add (meta: TxMeta): boolean {
    if (this.byHash.has(meta.hash)) return false
    for (const n of meta.nullifiers) if (this.byNullifier.has(n)) return false
    if (this.byHash.size >= this.maxCount) {
      let worst: TxMeta | undefined
      for (const e of this.byHash.values()) if (worst === undefined || compareRank(e, worst) > 0) worst = e
      if (worst === undefined || compareRank(meta, worst) >= 0) return false
      this.remove(worst)
    }
    this.byHash.set(meta.hash, meta)
    for (const n of meta.nullifiers) this.byNullifier.set(n, meta)
    return true
  }

  private remove (meta: TxMeta): void {
    this.byHash.delete(meta.hash)
    for (const n of meta.nullifiers) this.byNullifier.delete(n)
  }
}
