import { equals } from 'uint8arrays/equals'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { line, randomGraph, ring } from '../helpers/topology.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

async function build (n: number, edges: Array<[number, number]>): Promise<Lightpool[]> {
  nodes = await Promise.all(Array.from({ length: n }, async () => await startNode()))
  for (const [a, b] of edges) await connect(nodes[a]!, nodes[b]!)
  await waitForMesh(nodes)
  return nodes
}

async function publishAndAwaitAll (count: number): Promise<void> {
  const txs = await Promise.all(Array.from({ length: count }, async () => await makeTx({ payloadBytes: 40_000 })))
  for (const [i, tx] of txs.entries()) {
    const origin = nodes[(i * 7) % nodes.length]!
    expect((await origin.submitTx(tx.bytes)).status).toBe('added')
  }
  await waitFor(() => txs.every(tx => nodes.every(n => n.pool.get(tx.hash)?.hasBody === true)), 15_000, 'every node to hold every body')
  for (const n of nodes) {
    // byte-for-byte, without vitest's slow element-wise deep equality on 40 KB arrays
    for (const tx of txs) expect(equals((await n.pool.getBody(tx.hash))!, tx.bytes)).toBe(true)
  }
}

describe('propagation over loopback TCP', () => {
  it('reaches every node of a line', async () => {
    await build(6, line(6))
    await publishAndAwaitAll(5)
  })

  it('reaches every node of a ring', async () => {
    await build(6, ring(6))
    await publishAndAwaitAll(5)
  })

  it('reaches every node of a random graph, fetching each body about once per node', async () => {
    await build(12, randomGraph(12, 3, 7))
    await publishAndAwaitAll(8)
    // each node other than the origin fetched each body once: no duplicates were downloaded
    const bodies = nodes.reduce((sum, n) => sum + n.net.stats().fetcher.bodies, 0)
    expect(bodies).toBe(8 * 11)
  })
})
