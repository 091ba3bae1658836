import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { line } from '../helpers/topology.ts'
import { makeTx } from '../helpers/txs.ts'
import { hostilePeer } from '../helpers/hostile.ts'
import { LinkEmulator } from '../helpers/link-emulator.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

const hasAll = (n: Lightpool, hashes: string[]): boolean => hashes.every(h => n.pool.get(h)?.hasBody === true)

describe('sync on connect', () => {
  it('a node that joins late gets the pending pool by sync', async () => {
    nodes = await Promise.all([0, 1, 2].map(async () => await startNode()))
    for (const [a, b] of line(3)) await connect(nodes[a]!, nodes[b]!)
    await waitForMesh(nodes)
    const txs = await Promise.all(Array.from({ length: 30 }, async (_, i) => await makeTx({ payloadBytes: 10_000 + i })))
    for (const tx of txs) await nodes[0]!.submitTx(tx.bytes)
    await waitFor(() => nodes.every(n => hasAll(n, txs.map(t => t.hash))), 10_000, 'initial propagation')

    const late = await startNode({ net: { sync: { pageSize: 7 } } })
    nodes.push(late)
    await connect(late, nodes[2]!)
    await waitFor(() => hasAll(late, txs.map(t => t.hash)), 10_000, 'sync of the late node')
    expect(late.net.stats().announcementsReceived).toBe(0)
    expect(late.net.stats().syncs).toBeGreaterThanOrEqual(1)
  })

  it('a partitioned network converges after it heals', async () => {
    nodes = await Promise.all(Array.from({ length: 6 }, async () => await startNode()))
    // two halves: 0-1-2 and 3-4-5
    for (const [a, b] of [[0, 1], [1, 2], [3, 4], [4, 5]] as const) await connect(nodes[a]!, nodes[b]!)
    await waitForMesh(nodes)
    const left = await Promise.all(Array.from({ length: 6 }, async () => await makeTx({ payloadBytes: 20_000 })))
    const right = await Promise.all(Array.from({ length: 6 }, async () => await makeTx({ payloadBytes: 20_000 })))
    for (const tx of left) await nodes[0]!.submitTx(tx.bytes)
    for (const tx of right) await nodes[5]!.submitTx(tx.bytes)
    await waitFor(() => nodes.slice(0, 3).every(n => hasAll(n, left.map(t => t.hash))) &&
      nodes.slice(3).every(n => hasAll(n, right.map(t => t.hash))), 10_000, 'each half to converge')
    expect(nodes.slice(0, 3).every(n => right.every(t => !n.pool.has(t.hash)))).toBe(true)

    await connect(nodes[2]!, nodes[3]!)
    const all = [...left, ...right].map(t => t.hash)
    await waitFor(() => nodes.every(n => hasAll(n, all)), 15_000, 'the healed network to converge')
  })

  it('sync stops at the first page the pool has no room for', async () => {
    const big = await startNode()
    const small = await startNode({ pool: { maxCount: 5 }, net: { sync: { pageSize: 5 } } })
    nodes = [big, small]
    const txs = await Promise.all(Array.from({ length: 40 }, async (_, i) => await makeTx({ fee: BigInt(100 + i) })))
    for (const tx of txs) await big.submitTx(tx.bytes)
    let pages = 0
    small.net.events.on('sync:done', (e) => { pages = e.pages })
    await connect(small, big)
    await waitFor(() => small.pool.size === 5 && pages > 0, 10_000, 'sync')
    // the best five, and no more pages than needed to see the pool was full
    const best = [...txs].sort((a, b) => Number(b.meta.fee - a.meta.fee)).slice(0, 5).map(t => t.hash)
    await waitFor(() => best.every(h => small.pool.get(h)?.hasBody === true), 10_000, 'the best bodies')
    expect(pages).toBeLessThanOrEqual(2)
  })

  it('a tx admitted while a connection is still being set up reaches the new peer', async () => {
    // published between connect and the exchange of subscriptions: too early for gossip,
    // so the sync that starts once the peer has subscribed must carry it
    for (let round = 0; round < 8; round++) {
      const a = await startNode()
      const b = await startNode()
      nodes.push(a, b)
      const tx = await makeTx()
      await connect(b, a)
      await a.submitTx(tx.bytes)
      await waitFor(() => b.pool.get(tx.hash)?.hasBody === true, 5_000, `round ${round}`)
    }
  })

  it('an announcement that arrives while its tx is being fetched by sync is forwarded once the body is in', async () => {
    // B gets tx X from A by sync, over a slow path; meanwhile another peer
    // announces X to B. B's own announcement of X would be the same bytes,
    // which gossipsub drops as a message it has seen: unless B forwards the one
    // it got, C (connected to B alone) never hears of X.
    const [a, b, c] = await Promise.all([0, 1, 2].map(async () => await startNode()))
    nodes = [a!, b!, c!]
    const other = await hostilePeer()
    const emulator = await LinkEmulator.start({ latencyMs: 100, mbit: 1 })
    try {
      await connect(c!, b!)
      await other.libp2p.dial(b!.libp2p.getMultiaddrs()[0]!)
      await waitForMesh([b!, c!])
      await waitFor(() => other.libp2p.services.pubsub.getSubscribers(other.ids.txTopic).length > 0, 5_000, 'B subscribed, as the other peer sees it')

      const tx = await makeTx()
      expect((await a!.submitTx(tx.bytes)).status).toBe('added')
      await b!.libp2p.dial(await emulator.route(1, 0, a!.libp2p.getMultiaddrs()[0]!))
      await waitFor(() => b!.net.stats().fetcher.fetching > 0, 5_000, 'B to fetch X by sync')
      const { hash, size, fee, expiresAt, nullifiers } = a!.pool.get(tx.hash)!
      await other.announce({ hash, size, fee, expiresAt, nullifiers })

      await waitFor(() => b!.pool.get(tx.hash)?.hasBody === true, 5_000, 'B to hold X')
      await waitFor(() => c!.pool.get(tx.hash)?.hasBody === true, 5_000, 'C to hear of X from B')
    } finally {
      await other.stop()
      await emulator.stop()
    }
  })
})
