import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { recordFigure, STRESS } from '../helpers/figures.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/**
 * Spam within the rules: valid, signed, low-fee txs at ten times what the
 * pool can hold, with a few well-paying txs among them. The byte cap holds at
 * every instant, the well-paying txs stay, and the fee a newcomer needs rises.
 */
describe('spam within the rules', () => {
  it('a flood of valid low-fee txs at 10× the pool cap', async () => {
    const TX_BYTES = 4_000
    const CAP_TXS = STRESS ? 500 : 150
    const maxBytes = CAP_TXS * (TX_BYTES + 200)
    const pool = { maxBytes, maxCount: 100_000, minFee: 1n }
    const a = await startNode({ pool })
    const b = await startNode({ pool })
    nodes = [a, b]
    await connect(a, b)
    await waitForMesh(nodes)

    let peakA = 0
    let peakB = 0
    a.pool.events.on('added', () => { peakA = Math.max(peakA, a.pool.bytes) })
    b.pool.events.on('added', () => { peakB = Math.max(peakB, b.pool.bytes) })
    const floorBefore = a.pool.feeFloor()
    const heapBefore = process.memoryUsage()

    const flood = CAP_TXS * 10
    const valuable = await Promise.all(Array.from({ length: 20 }, async (_, i) => await makeTx({ fee: 10_000n + BigInt(i), payloadBytes: TX_BYTES })))
    let admitted = 0
    let refused = 0
    for (let i = 0; i < flood; i++) {
      // fees 1..50, so later spam can still displace earlier, cheaper spam
      const spam = await makeTx({ fee: BigInt(1 + (i % 50)), payloadBytes: TX_BYTES })
      const r = await a.submitTx(spam.bytes)
      if (r.status === 'added') admitted++
      else refused++
      if (i % (flood / 20) === 0) await a.submitTx(valuable[i / (flood / 20)]!.bytes)
      expect(a.pool.bytes).toBeLessThanOrEqual(maxBytes)
    }
    await waitFor(() => valuable.every(v => b.pool.get(v.hash)?.hasBody === true), 15_000, 'the valuable txs on the second node')
    await new Promise(resolve => setTimeout(resolve, 500))

    for (const node of nodes) {
      expect(valuable.every(v => node.pool.has(v.hash)), 'every well-paying tx kept').toBe(true)
      expect(node.pool.bytes).toBeLessThanOrEqual(maxBytes)
    }
    expect(peakA).toBeLessThanOrEqual(maxBytes)
    expect(peakB).toBeLessThanOrEqual(maxBytes)
    const floorAfter = a.pool.feeFloor()
    expect(floorAfter).toBeGreaterThan(floorBefore)
    const heapAfter = process.memoryUsage()
    recordFigure('spam within the rules', `${flood} valid txs into a ${CAP_TXS}-tx pool`, {
      admitted,
      refused,
      pool_bytes: a.pool.bytes,
      cap_bytes: maxBytes,
      peak_bytes_a: peakA,
      peak_bytes_b: peakB,
      fee_floor_before: String(floorBefore),
      fee_floor_after: String(floorAfter),
      heap_growth_mb: Math.round((heapAfter.heapUsed + heapAfter.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers) / 1e5) / 10
    })
  })
})
