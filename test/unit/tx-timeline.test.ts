import { describe, expect, it } from 'vitest'
import { TxPool, TxTimeline } from '../../src/index.ts'

const NOW = 1_700_000_000_000
const h = (i: number): string => i.toString(16).padStart(64, '0')
const meta = (i: number, fee: bigint, nullifier: number) => ({ hash: h(i), size: 1000, fee, expiresAt: NOW + 60_000, nullifiers: [h(10_000 + nullifier)] })

describe('tx timeline', () => {
  it('follows a tx from pending to replaced, naming the replacement, and the replacement names what it replaced', async () => {
    let now = NOW
    const pool = new TxPool({ now: () => now })
    const timeline = new TxTimeline(pool, {}, () => now)
    const changes: string[] = []
    timeline.events.on('change', ({ hash }) => changes.push(hash))
    await pool.add(meta(1, 100n, 7))
    expect(timeline.get(h(1))!.steps).toEqual([{ at: NOW, status: 'pending' }])
    now += 5000
    await pool.add(meta(2, 110n, 7))
    const old = timeline.get(h(1))!
    expect(old.steps).toEqual([{ at: NOW, status: 'pending' }, { at: NOW + 5000, status: 'replaced', by: h(2) }])
    expect(old.tx.fee).toBe(100n)
    expect(timeline.status(h(1))?.status).toBe('replaced')
    expect(timeline.get(h(2))!.replaced).toEqual([h(1)])
    expect(timeline.status(h(2))?.status).toBe('pending')
    expect(changes).toEqual([h(1), h(2)])
    pool.markMined({ hashes: [h(2)] })
    expect(timeline.status(h(2))?.status).toBe('mined')
    expect(timeline.get(h(3))).toBeUndefined()
    timeline.close()
    await pool.stop()
  })

  it('keeps at most `capacity` records', async () => {
    const pool = new TxPool({ now: () => NOW })
    const timeline = new TxTimeline(pool, { capacity: 10 }, () => NOW)
    for (let i = 0; i < 50; i++) {
      await pool.add(meta(i + 1, 100n, i))
      pool.remove(h(i + 1), 'expired')
    }
    expect(timeline.get(h(1))).toBeUndefined()
    expect(timeline.status(h(50))?.status).toBe('expired')
    expect((timeline as unknown as { records: { size: number } }).records.size).toBe(10)
    await pool.stop()
  })
})
