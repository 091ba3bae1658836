import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareRank, DEFAULT_ROLLUP_CONFIG, estimateFees, projectRollups, rollupConfig, TxPool, type RankedTx } from '../../src/index.ts'

const NOW = 1_700_000_000_000
const hashOf = (i: number): string => i.toString(16).padStart(64, '0')
const tx = (i: number, fee: bigint, size: number): RankedTx => ({ hash: hashOf(i), fee, size })

/**
 * The reference the fast implementation is checked against: assign every tx
 * (best first) to a rollup by next-fit, in the plainest possible way.
 */
function assign (ranked: RankedTx[], maxTxs: number, maxBytes: number): number[] {
  const at: number[] = []
  let index = 0
  let n = 0
  let bytes = 0
  for (const t of ranked) {
    if (t.size > maxBytes) { at.push(-1); continue }
    if (n + 1 > maxTxs || bytes + t.size > maxBytes) { index++; n = 0; bytes = 0 }
    n++
    bytes += t.size
    at.push(index)
  }
  return at
}

/** Where a new tx of `fee` and `size` lands when it loses every tie (it goes after all txs of fee ≥ its own). */
function landsWith (ranked: RankedTx[], fee: bigint, size: number, maxTxs: number, maxBytes: number): number {
  const newcomer: RankedTx = { hash: 'f'.repeat(64), fee, size }
  const pos = ranked.findIndex(t => t.fee < fee)
  const list = pos === -1 ? [...ranked, newcomer] : [...ranked.slice(0, pos), newcomer, ...ranked.slice(pos)]
  return assign(list, maxTxs, maxBytes)[list.indexOf(newcomer)]!
}

describe('projected rollups', () => {
  it('fills rollups best first by next-fit on count and bytes', () => {
    const ranked = [tx(1, 90n, 400), tx(2, 80n, 400), tx(3, 70n, 300), tx(4, 60n, 100), tx(5, 50n, 900), tx(6, 40n, 100)]
    const r = projectRollups(ranked, { rollups: 3, maxTxs: 3, maxBytes: 1000 })
    // 400+400 = 800, then 300 does not fit: sealed at 2 txs
    expect(r[0]).toEqual({ index: 0, txs: 2, bytes: 800, minFee: 80n, maxFee: 90n, full: true })
    // 300 + 100 = 400; 900 does not fit
    expect(r[1]).toEqual({ index: 1, txs: 2, bytes: 400, minFee: 60n, maxFee: 70n, full: true })
    expect(r[2]).toEqual({ index: 2, txs: 2, bytes: 1000, minFee: 40n, maxFee: 50n, full: false })
  })

  it('seals a rollup at maxTxs, skips a tx larger than a rollup, and always returns K rollups', () => {
    const ranked = [tx(1, 9n, 10), tx(2, 8n, 5000), tx(3, 7n, 10), tx(4, 6n, 10)]
    const r = projectRollups(ranked, { rollups: 4, maxTxs: 2, maxBytes: 1000 })
    expect(r.map(b => b.txs)).toEqual([2, 1, 0, 0])
    expect(r[0]!.full).toBe(true)
    expect(r[3]).toEqual({ index: 3, txs: 0, bytes: 0, minFee: undefined, maxFee: undefined, full: false })
  })

  it('has documented, valid defaults and refuses a bad configuration', () => {
    expect(DEFAULT_ROLLUP_CONFIG).toEqual({ rollups: 6, maxTxs: 1000, maxBytes: 4 * 1024 * 1024 })
    expect(Object.isFrozen(DEFAULT_ROLLUP_CONFIG)).toBe(true)
    expect(() => rollupConfig({ maxTxs: 0 })).toThrow(/maxTxs must be a positive integer/)
    expect(() => rollupConfig({ rollups: 1.5 })).toThrow(/rollups/)
    expect(() => estimateFees([], { size: 0, floor: 1n })).toThrow(/size/)
  })

  it('agrees with the reference assignment for random pools', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ fee: fc.bigInt({ min: 1n, max: 60n }), size: fc.integer({ min: 1, max: 700 }) }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 200, max: 1500 }),
      (items, K, maxTxs, maxBytes) => {
        const ranked = items.map((it, i) => tx(i, it.fee, it.size)).sort(compareRank)
        const at = assign(ranked, maxTxs, maxBytes)
        const r = projectRollups(ranked, { rollups: K, maxTxs, maxBytes })
        expect(r).toHaveLength(K)
        for (let k = 0; k < K; k++) {
          const members = ranked.filter((_, i) => at[i] === k)
          expect(r[k]!.txs).toBe(members.length)
          expect(r[k]!.bytes).toBe(members.reduce((s, t) => s + t.size, 0))
          expect(r[k]!.maxFee).toBe(members[0]?.fee)
          expect(r[k]!.minFee).toBe(members.at(-1)?.fee)
        }
      }), { numRuns: 300 })
  })
})

describe('fee estimate', () => {
  it('is the floor while the next rollup has room, and one above the marginal tx once it is full', () => {
    const ranked = [tx(1, 100n, 400), tx(2, 50n, 400), tx(3, 20n, 400)]
    const cfg = { rollups: 2, maxTxs: 10, maxBytes: 1000 }
    // a 200-byte tx still fits after the first two (800 + 200 = 1000): it need only beat the third
    expect(estimateFees(ranked, { ...cfg, size: 200, floor: 1n }).byRollup).toEqual([21n, 1n])
    // a 300-byte tx fits only after the first one
    const e = estimateFees(ranked, { ...cfg, size: 300, floor: 1n })
    expect(e.nextRollup).toBe(51n)
    expect(e.withinRollups).toBe(1n)
    // never below the pool's floor
    expect(estimateFees(ranked, { ...cfg, size: 200, floor: 30n }).byRollup).toEqual([30n, 30n])
    // a tx larger than a rollup gets no estimate
    expect(estimateFees(ranked, { ...cfg, size: 1001, floor: 1n }).byRollup).toEqual([undefined, undefined])
    // empty pool: the floor
    expect(estimateFees([], { ...cfg, size: 500, floor: 7n }).byRollup).toEqual([7n, 7n])
  })

  it('is the lowest fee that lands a tx within rollup k, for random pools (checked against the reference)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ fee: fc.bigInt({ min: 1n, max: 40n }), size: fc.integer({ min: 1, max: 600 }) }), { maxLength: 50 }),
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 300, max: 1200 }),
      fc.integer({ min: 1, max: 600 }), fc.bigInt({ min: 1n, max: 10n }),
      (items, K, maxTxs, maxBytes, size, floor) => {
        const ranked = items.map((it, i) => tx(i, it.fee, it.size)).sort(compareRank)
        const e = estimateFees(ranked, { rollups: K, maxTxs, maxBytes, size, floor })
        expect(e.byRollup).toHaveLength(K)
        if (size > maxBytes) {
          expect(e.byRollup.every(f => f === undefined)).toBe(true)
          return
        }
        for (let k = 0; k < K; k++) {
          const fee = e.byRollup[k]!
          expect(fee).toBeGreaterThanOrEqual(floor)
          // it is enough…
          const at = landsWith(ranked, fee, size, maxTxs, maxBytes)
          expect(at).toBeLessThanOrEqual(k)
          // …and one less is not (unless it is the floor)
          if (fee > floor) expect(landsWith(ranked, fee - 1n, size, maxTxs, maxBytes)).toBeGreaterThan(k)
          // further rollups never cost more
          if (k > 0) expect(fee).toBeLessThanOrEqual(e.byRollup[k - 1]!)
        }
      }), { numRuns: 500 })
  })

  it('reads a real pool: best() and feeFloor() in, the figures the RPC and page show out', async () => {
    const pool = new TxPool({ now: () => NOW })
    for (let i = 0; i < 30; i++) {
      const r = await pool.add({ hash: hashOf(i + 1), size: 40_000, fee: BigInt(1000 + i * 10), expiresAt: NOW + 60_000, nullifiers: [hashOf(1000 + i)] })
      expect(r.status).toBe('added')
    }
    const cfg = { rollups: 3, maxTxs: 10, maxBytes: 4 * 1024 * 1024 }
    const r = projectRollups(pool.best(), cfg)
    expect(r.map(b => [b.txs, b.maxFee, b.minFee])).toEqual([[10, 1290n, 1200n], [10, 1190n, 1100n], [10, 1090n, 1000n]])
    const e = estimateFees(pool.best(), { ...cfg, size: 40_000, floor: pool.feeFloor() })
    expect(e.byRollup).toEqual([1201n, 1101n, 1001n])
    await pool.stop()
  })
})
