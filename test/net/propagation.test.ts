import { equals } from 'uint8arrays/equals'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { line, randomGraph, ring } from '../helpers/topology.ts'
import { makeTx } from '../helpers/txs.ts'
import { LinkEmulator } from '../helpers/link-emulator.ts'

let nodes: Lightpool[] = []
let emulator: LinkEmulator | undefined
afterEach(async () => {
  await stopAll(nodes)
  nodes = []
  await emulator?.stop()
  emulator = undefined
})

/** Nodes on the given graph; with `wan`, every connection crosses an emulated wide-area path. */
async function build (n: number, edges: Array<[number, number]>, wan?: { latencyMs: number, mbit: number }): Promise<Lightpool[]> {
  nodes = await Promise.all(Array.from({ length: n }, async () => await startNode()))
  if (wan !== undefined) emulator = await LinkEmulator.start(wan)
  for (const [a, b] of edges) {
    if (emulator === undefined) await connect(nodes[a]!, nodes[b]!)
    else await nodes[a]!.libp2p.dial(await emulator.route(a, b, nodes[b]!.libp2p.getMultiaddrs()[0]!))
  }
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

  it('fetches each body once per node when peers are 20 ms apart and a body takes a while to arrive', async () => {
    // On bare loopback a tx's announcements, requests and bodies barely
    // overlap in time. Here a body takes ~60 ms to cross a path, so a node
    // hears of a tx again (another path of gossip, IHAVE/IWANT repair) while
    // the body is still on its way: the moment a body could be asked twice.
    await build(12, randomGraph(12, 3, 7), { latencyMs: 20, mbit: 8 })
    await publishAndAwaitAll(12)
    const stats = nodes.map(n => n.net.stats().fetcher)
    expect(stats.reduce((sum, s) => sum + s.bodies, 0)).toBe(12 * 11)
    expect(stats.reduce((sum, s) => sum + s.requests, 0)).toBeLessThanOrEqual(12 * 11)
  })
})
