import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareRank, TxPool, type TxMeta } from '../../src/index.ts'

const NOW = 1_700_000_000_000

/** Random metadata over a small nullifier universe, so conflicts are frequent. */
const metaArb = fc.record({
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => Buffer.from(b).toString('hex')),
  size: fc.integer({ min: 100, max: 5000 }),
  fee: fc.bigInt({ min: 1n, max: 50n }),
  expiresAt: fc.integer({ min: NOW + 2_000, max: NOW + 100_000 }),
  nullifiers: fc.uniqueArray(fc.integer({ min: 0, max: 40 }).map(n => n.toString(16).padStart(64, '0')), { minLength: 0, maxLength: 3 })
})

type Op =
  | { kind: 'add', meta: TxMeta }
  | { kind: 'mine', pick: number }
  | { kind: 'advance', ms: number }
  | { kind: 'remove', pick: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: metaArb.map(meta => ({ kind: 'add' as const, meta })) },
  { weight: 1, arbitrary: fc.nat().map(pick => ({ kind: 'mine' as const, pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20_000 }).map(ms => ({ kind: 'advance' as const, ms })) },
  { weight: 1, arbitrary: fc.nat().map(pick => ({ kind: 'remove' as const, pick })) }
)

function checkInvariants (pool: TxPool, now: number): void {
  const entries = [...pool.best()]
  expect(entries.length).toBe(pool.size)
  expect(pool.size).toBeLessThanOrEqual(pool.config.maxCount)
  expect(pool.bytes).toBeLessThanOrEqual(pool.config.maxBytes)
  expect(entries.reduce((s, e) => s + e.size, 0)).toBe(pool.bytes)
  const seen = new Set<string>()
  for (const e of entries) {
    for (const n of e.nullifiers) {
      expect(seen.has(n), 'two pending txs share a nullifier').toBe(false)
      seen.add(n)
      expect(pool.byNullifierOf(n)).toBe(e)
    }
    expect(pool.get(e.hash)).toBe(e)
  }
  for (let i = 1; i < entries.length; i++) expect(compareRank(entries[i - 1]!, entries[i]!)).toBeLessThan(0)
  void now
}

describe('TxPool invariants under random operations', () => {
  it('never exceeds its caps, never keeps two txs on one nullifier, stays ordered', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 2000, max: 30_000 }),
      fc.array(opArb, { maxLength: 120 }),
      (maxCount, maxBytes, ops) => {
        let now = NOW
        const pool = new TxPool({ now: () => now, config: { maxCount, maxBytes, minTimeToLiveMs: 0, maxExpiryAheadMs: 10_000_000 } })
        for (const op of ops) {
          const entries = [...pool.best()]
          if (op.kind === 'add') {
            void pool.add(op.meta)
          } else if (op.kind === 'advance') {
            now += op.ms
            pool.sweepExpired()
          } else if (entries.length > 0) {
            const target = entries[op.pick % entries.length]!
            if (op.kind === 'mine') pool.markMined({ hashes: [target.hash] })
            else pool.remove(target.hash)
          }
          checkInvariants(pool, now)
        }
      }), { numRuns: 400 })
  })

  it('with a count cap only and no conflicts, keeps exactly the best N whatever the arrival order', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 15 }),
      fc.uniqueArray(metaArb, { selector: m => m.hash, maxLength: 60 }),
      (maxCount, metas) => {
        const distinct = metas.map((m, i) => ({ ...m, nullifiers: [i.toString(16).padStart(64, 'f')] }))
        const pool = new TxPool({ now: () => NOW, config: { maxCount, minTimeToLiveMs: 0 } })
        for (const m of distinct) void pool.add(m)
        const expected = [...distinct].sort(compareRank).slice(0, maxCount).map(m => m.hash)
        expect([...pool.best()].map(e => e.hash)).toEqual(expected)
      }), { numRuns: 300 })
  })

  it('a tx is expired from the pool once its time passes, never before', () => {
    fc.assert(fc.property(fc.array(metaArb, { maxLength: 40 }), fc.integer({ min: 0, max: 100_000 }), (metas, advance) => {
      let now = NOW
      const pool = new TxPool({ now: () => now, config: { minTimeToLiveMs: 0 } })
      for (const m of metas) void pool.add(m)
      now += advance
      pool.sweepExpired()
      for (const e of pool.best()) expect(e.expiresAt).toBeGreaterThan(now)
    }), { numRuns: 200 })
  })
})
