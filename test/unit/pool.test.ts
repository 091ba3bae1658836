import { describe, expect, it } from 'vitest'
import { MemoryPoolStore, TxPool, type PoolEvents, type StoreBatch } from '../../src/index.ts'
import { meta, nullifier } from '../helpers/meta.ts'

function recordEvents (pool: TxPool) {
  const log: string[] = []
  pool.events.on('added', (e: PoolEvents['added']) => log.push(`added ${e.tx.fee}`))
  pool.events.on('removed', (e: PoolEvents['removed']) => log.push(`${e.reason} ${e.tx.fee}`))
  return log
}

describe('TxPool', () => {
  it('orders best-first by fee, ties broken by the smaller hash', async () => {
    const pool = new TxPool()
    await pool.add(meta({ fee: 5n, hash: 'b'.repeat(64) }))
    await pool.add(meta({ fee: 5n, hash: 'a'.repeat(64) }))
    await pool.add(meta({ fee: 9n }))
    await pool.add(meta({ fee: 1n }))
    expect([...pool.best()].map(e => [e.fee, e.hash[0]])).toEqual([[9n, '0'], [5n, 'a'], [5n, 'b'], [1n, '0']])
    expect(pool.worst()?.fee).toBe(1n)
  })

  it('evicts the worst when full by count, and refuses what does not beat it', async () => {
    const pool = new TxPool({ config: { maxCount: 2 } })
    const log = recordEvents(pool)
    await pool.add(meta({ fee: 10n }))
    await pool.add(meta({ fee: 20n }))
    expect(await pool.add(meta({ fee: 10n, hash: 'f'.repeat(64) }))).toMatchObject({ status: 'ignored', rule: 'pool-full' })
    const r = await pool.add(meta({ fee: 15n }))
    expect(r.status === 'added' && r.evicted.map(e => e.fee)).toEqual([10n])
    expect(log).toEqual(['added 10', 'added 20', 'evicted 10', 'added 15'])
    expect(pool.feeFloor()).toBe(16n)
  })

  it('breaks an equal-fee tie for the last place by hash', async () => {
    const pool = new TxPool({ config: { maxCount: 1 } })
    await pool.add(meta({ fee: 10n, hash: 'b'.repeat(64) }))
    expect((await pool.add(meta({ fee: 10n, hash: 'c'.repeat(64) }))).status).toBe('ignored')
    expect((await pool.add(meta({ fee: 10n, hash: 'a'.repeat(64) }))).status).toBe('added')
    expect([...pool.best()].map(e => e.hash[0])).toEqual(['a'])
  })

  it('evicts as many as the byte cap needs, all worse than the newcomer', async () => {
    const pool = new TxPool({ config: { maxBytes: 3000 } })
    await pool.add(meta({ fee: 1n, size: 1000 }))
    await pool.add(meta({ fee: 2n, size: 1000 }))
    await pool.add(meta({ fee: 9n, size: 1000 }))
    const r = await pool.add(meta({ fee: 5n, size: 2000 }))
    expect(r.status === 'added' && r.evicted.map(e => e.fee)).toEqual([1n, 2n])
    expect(pool.bytes).toBe(3000)
    // a tx that would need the fee-9 tx's room is refused
    expect(await pool.add(meta({ fee: 6n, size: 2500 }))).toMatchObject({ rule: 'pool-full' })
    expect(await pool.add(meta({ fee: 99n, size: 3001 }))).toMatchObject({ rule: 'pool-full' })
  })

  it('replaces every nullifier conflict only with the bump', async () => {
    const pool = new TxPool({ config: { replacementBumpPercent: 25 } })
    const log = recordEvents(pool)
    await pool.add(meta({ fee: 100n, nullifiers: [nullifier(1)] }))
    await pool.add(meta({ fee: 80n, nullifiers: [nullifier(2)] }))
    const both = [nullifier(1), nullifier(2)]
    expect(await pool.add(meta({ fee: 124n, nullifiers: both }))).toMatchObject({ rule: 'replacement-underpriced' })
    const r = await pool.add(meta({ fee: 125n, nullifiers: both }))
    expect(r.status === 'added' && r.replaced.map(e => e.fee)).toEqual([100n, 80n])
    expect(pool.size).toBe(1)
    expect(pool.byNullifierOf(nullifier(2))?.fee).toBe(125n)
    expect(log.slice(-3)).toEqual(['replaced 100', 'replaced 80', 'added 125'])
  })

  it('needs a strictly higher fee to replace even with a zero bump', async () => {
    const pool = new TxPool({ config: { replacementBumpPercent: 0 } })
    await pool.add(meta({ fee: 100n, nullifiers: [nullifier(1)] }))
    expect(await pool.add(meta({ fee: 100n, nullifiers: [nullifier(1)] }))).toMatchObject({ rule: 'replacement-underpriced' })
    expect((await pool.add(meta({ fee: 101n, nullifiers: [nullifier(1)] }))).status).toBe('added')
  })

  it('sweeps expired txs', async () => {
    let now = 1_000_000
    const pool = new TxPool({ now: () => now, config: { minTimeToLiveMs: 0 } })
    const log = recordEvents(pool)
    await pool.add(meta({ fee: 1n, expiresAt: now + 10 }))
    await pool.add(meta({ fee: 2n, expiresAt: now + 20 }))
    await pool.add(meta({ fee: 3n, expiresAt: now + 30 }))
    now += 20
    expect(pool.sweepExpired().map(e => e.fee)).toEqual([1n, 2n])
    expect(log.slice(-2)).toEqual(['expired 1', 'expired 2'])
    expect(pool.size).toBe(1)
  })

  it('markMined removes included txs and their conflicts, and remembers spent nullifiers', async () => {
    const pool = new TxPool()
    const log = recordEvents(pool)
    const a = meta({ fee: 10n, nullifiers: [nullifier(1)] })
    await pool.add(a)
    await pool.add(meta({ fee: 20n, nullifiers: [nullifier(2)] }))
    await pool.add(meta({ fee: 30n, nullifiers: [nullifier(3)] }))
    const removed = pool.markMined({ hashes: [a.hash], nullifiers: [nullifier(2)] })
    expect(removed.map(e => e.fee)).toEqual([10n, 20n])
    expect(log.slice(-2)).toEqual(['mined 10', 'conflict 20'])
    expect(await pool.add(meta({ fee: 99n, nullifiers: [nullifier(1)] }))).toMatchObject({ rule: 'nullifier-spent' })
  })

  it('pages best-first with a cursor that survives the removal of its tx', async () => {
    const pool = new TxPool()
    for (let fee = 1n; fee <= 10n; fee++) await pool.add(meta({ fee }))
    const p1 = pool.page({ limit: 4 })
    expect(p1.txs.map(e => e.fee)).toEqual([10n, 9n, 8n, 7n])
    pool.remove(p1.txs[3]!.hash)
    const p2 = pool.page({ limit: 4, cursor: p1.next! })
    expect(p2.txs.map(e => e.fee)).toEqual([6n, 5n, 4n, 3n])
    const p3 = pool.page({ limit: 4, cursor: p2.next! })
    expect(p3.txs.map(e => e.fee)).toEqual([2n, 1n])
    expect(p3.next).toBeUndefined()
    expect(() => pool.page({ limit: 1, cursor: 'nonsense' })).toThrow(/cursor/)
  })

  it('batches store writes and serves bodies before they land', async () => {
    const store = new MemoryPoolStore()
    const batches: StoreBatch[] = []
    const write = store.write.bind(store)
    store.write = async (b) => { batches.push(b); await write(b) }
    const pool = new TxPool({ store })
    const adds = Array.from({ length: 50 }, (_, i) => pool.add(meta({ fee: BigInt(i + 1) }), new Uint8Array([i])))
    const first = [...pool.best()].at(-1)!
    expect(await pool.getBody(first.hash)).toEqual(new Uint8Array([0]))
    await Promise.all(adds)
    expect(batches.length).toBeLessThanOrEqual(2)
    expect(store.size).toBe(50)
  })

  it('takes a tx out again when the store cannot persist it', async () => {
    const store = new MemoryPoolStore()
    store.write = async () => { throw new Error('disk full') }
    const pool = new TxPool({ store })
    const log = recordEvents(pool)
    await expect(pool.add(meta({ fee: 1n }), new Uint8Array(1))).rejects.toThrow('disk full')
    expect(pool.size).toBe(0)
    expect(log).toEqual(['added 1', 'store-failed 1'])
  })

  it('restores from its store, dropping what no longer passes', async () => {
    const store = new MemoryPoolStore()
    const first = new TxPool({ store })
    const keep = meta({ fee: 5n })
    const bad = meta({ fee: 6n })
    const stale = meta({ fee: 7n, expiresAt: Date.now() + 60_000 })
    for (const m of [keep, bad, stale]) await first.add(m, new Uint8Array([1]))
    await first.stop()
    const second = new TxPool({ store, now: () => Date.now() + 120_000 })
    const result = await second.restore(async (rec) => rec.meta.hash === bad.hash ? undefined : rec.meta)
    expect(result).toEqual({ restored: 1, dropped: 2 })
    expect([...second.best()].map(e => e.hash)).toEqual([keep.hash])
    expect(store.size).toBe(1)
  })

  it('light entries take a body later', async () => {
    const pool = new TxPool()
    const m = meta({ fee: 5n })
    await pool.add(m)
    expect(pool.get(m.hash)?.hasBody).toBe(false)
    expect(await pool.getBody(m.hash)).toBeUndefined()
    let bodies = 0
    pool.events.on('body', () => { bodies++ })
    expect(await pool.attachBody(m.hash, new Uint8Array([7]))).toBe(true)
    expect(await pool.getBody(m.hash)).toEqual(new Uint8Array([7]))
    expect(pool.stats().withBody).toBe(1)
    expect(bodies).toBe(1)
    expect(await pool.attachBody('0'.repeat(64), new Uint8Array([7]))).toBe(false)
  })

  it('refuses nonsensical configuration', () => {
    expect(() => new TxPool({ config: { maxCount: 0 } })).toThrow(/maxCount/)
    expect(() => new TxPool({ config: { maxBytes: 1.5 } })).toThrow(/maxBytes/)
    expect(() => new TxPool({ config: { minFee: -1n } })).toThrow(/minFee/)
  })

  it('keeps a throwing listener from breaking the pool', async () => {
    const errors: unknown[] = []
    const pool = new TxPool({ onListenerError: (err) => errors.push(err) })
    pool.events.on('added', () => { throw new Error('boom') })
    expect((await pool.add(meta({ fee: 1n }))).status).toBe('added')
    expect(errors).toHaveLength(1)
  })
})
