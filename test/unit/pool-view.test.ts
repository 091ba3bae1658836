import { describe, expect, it } from 'vitest'
import { TxPool } from '../../src/index.ts'
import { PoolView } from '../../web/ui/pool-view.ts'

/**
 * PoolView paces the page's frames whatever the arrival rate: at most one
 * per `minFrameIntervalMs`, and after an expensive frame not before its cost
 * ÷ `frameBudgetShare`. (It has no DOM: `schedule` stands in for
 * requestAnimationFrame.)
 */
const h = (i: number): string => i.toString(16).padStart(64, '0')

async function frameTimes (view: PoolView, pool: TxPool, ms: number, onFrame: () => void = () => {}): Promise<number[]> {
  const at: number[] = []
  const off = view.onFrame(() => { at.push(Date.now()); onFrame() })
  let i = 0
  const started = Date.now()
  while (Date.now() - started < ms) {
    // a tx every 5 ms: 200 tx/s
    await pool.add({ hash: h(++i + Math.floor(Math.random() * 1e9) * 1000), size: 100, fee: 10n, expiresAt: Date.now() + 60_000, nullifiers: [] })
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  off()
  return at.slice(1) // the first frame comes at once on subscribe
}

describe('PoolView frame pacing', () => {
  it('renders at most one frame per 200 ms at 200 tx/s, and backs off after a frame that cost 40 ms', async () => {
    const pool = new TxPool()
    const view = new PoolView(pool, { schedule: (fn) => { setTimeout(fn, 0) } })
    const fast = await frameTimes(view, pool, 1200)
    expect(fast.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < fast.length; i++) expect(fast[i]! - fast[i - 1]!).toBeGreaterThanOrEqual(195)
    // each frame "cost" 40 ms: the next waits 400 ms
    const slow = await frameTimes(view, pool, 2000, () => { view.reportFrameCost(40) })
    expect(view.frameInterval).toBe(400)
    for (let i = 1; i < slow.length; i++) expect(slow[i]! - slow[i - 1]!).toBeGreaterThanOrEqual(395)
    // and never more than 500 ms apart while things change
    view.reportFrameCost(10_000)
    expect(view.frameInterval).toBe(500)
    view.reportFrameCost(1)
    expect(view.frameInterval).toBe(200)
    view.destroy()
    await pool.stop()
  })
})
