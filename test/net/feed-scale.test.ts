import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import {
  decodeServerFrame, encodeControlFrame, FEED_ACK, FEED_ITEMS, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, maxItemsPerFrame
} from '../../src/net/feed/codec.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * The feed at the scale: one relay, two more full nodes, 60 light
 * nodes, all on loopback TCP. Each light node is connected to the relay and
 * one of the full nodes, and subscribes to both.
 */
const LIGHT_NODES = 60
/** the relay's feed window and queue, small so that a slow subscriber reaches them with a few dozen txs */
const WINDOW_BYTES = 4096
const QUEUE_BYTES = 4096

describe('light feed, 60 light nodes on a relay', () => {
  let relay: Lightpool
  let fulls: Lightpool[]
  let lights: Lightpool[]
  const all = (): Lightpool[] => [relay, ...fulls, ...lights]

  beforeAll(async () => {
    relay = await startNode({ feed: { server: { windowBytes: WINDOW_BYTES, maxQueueBytes: QUEUE_BYTES, maxSubscribersPerIp: 1000 } } })
    fulls = [await startNode(), await startNode()]
    await connect(fulls[0]!, relay)
    await connect(fulls[1]!, relay)
    await connect(fulls[0]!, fulls[1]!)
    lights = []
    for (let i = 0; i < LIGHT_NODES; i++) {
      const light = await startNode({ mode: 'light' })
      lights.push(light)
      await connect(light, relay)
      await connect(light, fulls[i % 2]!)
    }
    await waitFor(() => lights.every(l => l.libp2p.services.feedClient!.subscribed().length === 2), 60_000, 'every light node to subscribe to two full nodes')
  }, 180_000)
  afterAll(async () => { await stopAll(all()) }, 60_000)

  it('every light node lists every tx and drops every mined and evicted one; the relay keeps its full-node mesh', async () => {
    const txs = await Promise.all(Array.from({ length: 40 }, async () => await makeTx({ payloadBytes: 4_000 })))
    for (const [i, tx] of txs.entries()) expect((await [relay, ...fulls][i % 3]!.submitTx(tx.bytes)).status).toBe('added')
    await waitFor(() => lights.every(l => txs.every(tx => l.pool.has(tx.hash))), 60_000, 'every light node to list every tx')

    // mined: every full node learns of the block; evicted: each pool let go of it
    const mined = txs.slice(0, 5).map(tx => tx.hash)
    const evicted = txs.slice(5, 8).map(tx => tx.hash)
    for (const node of [relay, ...fulls]) {
      node.pool.markMined({ hashes: mined })
      for (const h of evicted) node.pool.remove(h, 'evicted')
    }
    const gone = [...mined, ...evicted]
    await waitFor(() => lights.every(l => gone.every(h => !l.pool.has(h))), 60_000, 'every light node to drop the mined and evicted txs')
    expect(lights.every(l => txs.slice(8).every(tx => l.pool.has(tx.hash)))).toBe(true)

    // A light node's GRAFT can reach the relay before its feed SUBSCRIBE (both
    // follow the connection); the relay accepts it at score 0 and prunes it at
    // the first heartbeat after the subscription gives it −60 (scores are
    // cached for one heartbeat). So the mesh is checked once settled: within a
    // few heartbeats, not at the instant the last light node subscribed.
    const topic = relay.net.ids.txTopic
    const lightIds = new Set(lights.map(l => l.peerId.toString()))
    const fullIds = fulls.map(f => f.peerId.toString())
    const settled = (): boolean => {
      const m = relay.libp2p.services.pubsub.getMeshPeers(topic)
      return fullIds.every(id => m.includes(id)) && !m.some(p => lightIds.has(p))
    }
    await waitFor(settled, 5_000, 'the relay\'s mesh to hold both full nodes and no light node').catch(() => {})
    const mesh = relay.libp2p.services.pubsub.getMeshPeers(topic)
    expect(mesh).toEqual(expect.arrayContaining(fullIds))
    expect(mesh.filter(p => lightIds.has(p))).toEqual([])
    const stats = relay.libp2p.services.feedServer!.stats()
    expect(stats.subscribers).toBeGreaterThanOrEqual(LIGHT_NODES)
    console.log(`relay feed: ${JSON.stringify(stats)}; relay mesh ${mesh.length} peers`)
  }, 180_000)

  it('a light node that is away for 5 s lists what came and drops what went meanwhile', async () => {
    const away = lights[0]!
    const seen = await Promise.all(Array.from({ length: 6 }, async () => await makeTx()))
    for (const tx of seen) await relay.submitTx(tx.bytes)
    await waitFor(() => seen.every(tx => away.pool.has(tx.hash)), 30_000, 'the txs before the break')

    for (const peer of [relay, fulls[0]!]) await away.libp2p.hangUp(peer.peerId)
    await waitFor(() => away.libp2p.services.feedClient!.subscribed().length === 0, 10_000, 'both subscriptions to end')
    const meanwhile = await Promise.all(Array.from({ length: 10 }, async () => await makeTx()))
    for (const [i, tx] of meanwhile.entries()) await [relay, ...fulls][i % 3]!.submitTx(tx.bytes)
    await waitFor(() => fulls.every(f => meanwhile.every(tx => f.pool.has(tx.hash))), 30_000, 'the full nodes to have the new txs')
    for (const node of [relay, ...fulls]) {
      node.pool.markMined({ hashes: [seen[0]!.hash] })
      node.pool.remove(seen[1]!.hash, 'evicted')
    }
    await new Promise(resolve => setTimeout(resolve, 5_000))
    expect(meanwhile.some(tx => away.pool.has(tx.hash))).toBe(false)

    await connect(away, relay)
    await connect(away, fulls[0]!)
    await waitFor(() => meanwhile.every(tx => away.pool.has(tx.hash)) && !away.pool.has(seen[0]!.hash) && !away.pool.has(seen[1]!.hash), 30_000, 'no gap after the break')
    expect(seen.slice(2).every(tx => away.pool.has(tx.hash))).toBe(true)
  }, 120_000)

  it('a subscriber that stops acknowledging hits its queue cap and is resynced, with the relay\'s feed memory bounded', async () => {
    const slow = await startNode({ mode: 'light', feed: { enabled: false } })
    lights.push(slow)
    await connect(slow, relay)
    const server = relay.libp2p.services.feedServer!
    const stream = await slow.libp2p.dialProtocol(relay.peerId, relay.net.ids.feed)
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    stream.send(encodeControlFrame({ type: FEED_SUBSCRIBE }))
    const listed = new Set<string>()
    let read = 0
    let snapshots = 0
    const reader = (async () => {
      while (true) {
        const bytes = await lp.read().catch(() => undefined)
        if (bytes === undefined) return
        read += bytes.byteLength
        const frame = decodeServerFrame(bytes.subarray(), maxItemsPerFrame(64 * 1024))
        if (frame.type === FEED_SNAPSHOT_START) { snapshots++; listed.clear() }
        if (frame.type === FEED_ITEMS) for (const item of frame.items) if (item.op === 'add') listed.add(item.meta.hash); else listed.delete(item.hash)
        void FEED_SNAPSHOT_END
      }
    })()
    // its snapshot (the pool so far) exceeds the window: wait until the relay has sent what it may
    await waitFor(() => read >= WINDOW_BYTES - 2048, 10_000, 'the first window')
    const resyncsBefore = server.stats().resyncs
    const burst = await Promise.all(Array.from({ length: 120 }, async () => await makeTx()))
    let peakQueued = 0
    for (const tx of burst) {
      await relay.submitTx(tx.bytes)
      peakQueued = Math.max(peakQueued, server.stats().queuedBytes)
    }
    await new Promise(resolve => setTimeout(resolve, 300))
    peakQueued = Math.max(peakQueued, server.stats().queuedBytes)
    expect(server.stats().resyncs).toBeGreaterThan(resyncsBefore)
    // every subscriber's queue stays within its cap
    expect(peakQueued).toBeLessThanOrEqual(server.stats().subscribers * QUEUE_BYTES)
    console.log(`slow subscriber: peak queued ${peakQueued} B over ${server.stats().subscribers} subscribers, resyncs ${server.stats().resyncs - resyncsBefore}`)

    // it acknowledges everything from now on: a fresh snapshot brings it up to date
    const acker = setInterval(() => {
      if (read > 0) { stream.send(encodeControlFrame({ type: FEED_ACK, bytes: read })); read = 0 }
    }, 50)
    try {
      await waitFor(() => snapshots >= 2 && burst.every(tx => listed.has(tx.hash)), 30_000, 'the resync to list every tx')
    } finally {
      clearInterval(acker)
      stream.abort(new Error('done'))
      await reader
    }
  }, 120_000)
})
