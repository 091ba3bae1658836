import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { PING_PROTOCOL } from '../../src/net/liveness.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** Peers that never ping on their own within a test. */
const quiet = { liveness: { intervalMs: 600_000 } }

/**
 * Replaces a node's ping handler; `answer` false makes it read the ping and
 * never reply; `delayMs` says how long it waits before the n-th answer.
 */
async function pingHandler (node: Lightpool, onPing: () => void, answer = true, delayMs: (n: number) => number = () => 0): Promise<void> {
  await node.libp2p.unhandle(PING_PROTOCOL)
  let n = 0
  await node.libp2p.handle(PING_PROTOCOL, async (stream: Stream) => {
    onPing()
    const wait = delayMs(n++)
    const bytes = byteStream(stream)
    const challenge = await bytes.read({ bytes: 32 })
    if (!answer) return
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    await bytes.write(challenge)
    await stream.close()
  }, { runOnLimitedConnection: true })
}

describe('connection liveness', () => {
  it('pings every connection once per interval, spread over it instead of all in one tick', async () => {
    const hub = await startNode({ liveness: { intervalMs: 1_000, slots: 5 } })
    const peers = await Promise.all(Array.from({ length: 5 }, async () => await startNode(quiet)))
    nodes = [hub, ...peers]
    const firstPing: number[] = []
    const pings = peers.map(() => 0)
    for (const [i, p] of peers.entries()) await pingHandler(p, () => { firstPing[i] ??= Date.now(); pings[i]!++ })
    for (const p of peers) await connect(p, hub)

    await waitFor(() => peers.every((_, i) => firstPing[i] !== undefined), 3_000, 'a ping to every peer')
    // five connections in five slots of 200 ms: libp2p's own monitor pings them all within a few ms
    const spread = Math.max(...firstPing) - Math.min(...firstPing)
    expect(spread).toBeGreaterThanOrEqual(500)
    // once per interval, not more often: counted over two more intervals (a
    // loaded machine can only stretch an interval, never add pings to it; one
    // ping of slack for a slot that starts a little early)
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const now = Date.now()
    for (const [i, n] of pings.entries()) expect(n).toBeLessThanOrEqual(Math.floor((now - firstPing[i]!) / 1_000) + 2)
    // a peer logs the ping when it arrives; its answer reaches the hub a moment later
    await waitFor(() => hub.libp2p.getConnections().every(c => typeof c.rtt === 'number'), 3_000, 'an rtt on every connection')
  })

  it('closes a connection whose peer stops answering pings, and keeps one to a peer without ping', async () => {
    const hub = await startNode({ liveness: { intervalMs: 300, slots: 1, timeoutMs: 300 } })
    const mute = await startNode(quiet)
    const noPing = await startNode(quiet)
    nodes = [hub, mute, noPing]
    let pinged = 0
    await pingHandler(mute, () => { pinged++ }, false)
    await noPing.libp2p.unhandle(PING_PROTOCOL)
    await connect(mute, hub)
    await connect(noPing, hub)

    // missesBeforeClose 2: a miss at 300 ms, then one at 600 ms more
    await waitFor(() => hub.libp2p.getConnections(mute.peerId).length === 0, 5_000, 'the dead connection to be closed')
    expect(pinged).toBeGreaterThanOrEqual(2)
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ missed: 2, closed: 1 })
    // it answered the negotiation with "not supported": alive, as libp2p's monitor counts it
    expect(hub.libp2p.getConnections(noPing.peerId).length).toBeGreaterThan(0)
  })

  it('keeps a connection whose peer was slow to answer once: one miss is asked again, with a longer wait', async () => {
    // the peer stalls its first answer past timeoutMs (a starved browser tab), then answers at once
    const hub = await startNode({ liveness: { intervalMs: 300, slots: 1, timeoutMs: 300 } })
    const slow = await startNode(quiet)
    nodes = [hub, slow]
    let pinged = 0
    await pingHandler(slow, () => { pinged++ }, true, n => n === 0 ? 450 : 0)
    await connect(slow, hub)

    await waitFor(() => hub.libp2p.services.liveness.stats().answered >= 3, 5_000, 'three answered pings')
    // with one miss closing it (the old rule), the connection was gone after the first 300 ms
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ missed: 1, closed: 0 })
    expect(hub.libp2p.getConnections(slow.peerId).length).toBeGreaterThan(0)
    expect(pinged).toBeGreaterThanOrEqual(4)
  })

  it('waits as long as a connection\'s round trips say: a peer that always answers in 400 ms misses no ping after the first', async () => {
    const hub = await startNode({ liveness: { intervalMs: 300, slots: 1, timeoutMs: 300 } })
    const far = await startNode(quiet)
    nodes = [hub, far]
    await pingHandler(far, () => {}, true, () => 400)
    await connect(far, hub)

    await waitFor(() => hub.libp2p.services.liveness.stats().answered >= 5, 10_000, 'five answered pings')
    // the first ping knows no round trip yet and misses at 300 ms; its retry and every later ping wait for srtt + 4 × rttvar
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ missed: 1, closed: 0 })
    const conn = hub.libp2p.getConnections(far.peerId)[0]!
    expect(conn.rtt).toBeGreaterThanOrEqual(400)
    expect(hub.libp2p.services.liveness.waitFor(conn)).toBeGreaterThan(400)
  })

  it('checks a peer\'s older connection at once when it opens a new one, and closes the old one if it does not answer', async () => {
    // the hub pings only on a new connection from a peer it already holds (its interval is ten minutes)
    const hub = await startNode({ liveness: { intervalMs: 600_000, timeoutMs: 500 } })
    const peer = await startNode(quiet)
    nodes = [hub, peer]
    await connect(peer, hub)
    await waitFor(() => hub.libp2p.getConnections(peer.peerId).length === 1, 5_000, 'the hub to hold the first connection')
    const first = hub.libp2p.getConnections(peer.peerId)[0]!
    // the first connection goes dead as far as pings tell: the peer reads them and never answers
    await pingHandler(peer, () => {}, false)
    // the peer comes back on a new connection, as a tab redials its relay
    await peer.libp2p.dial(hub.libp2p.getMultiaddrs()[0]!, { force: true })
    await waitFor(() => first.status !== 'open', 3_000, 'the old connection to be closed')
    expect(hub.libp2p.getConnections(peer.peerId)).toHaveLength(1)
    expect(hub.libp2p.getConnections(peer.peerId)[0]).not.toBe(first)
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ closed: 1, replaced: 1 })
  })

  it('keeps a peer\'s older connection that answers when it opens a new one (two live connections, as from a simultaneous dial)', async () => {
    const hub = await startNode({ liveness: { intervalMs: 600_000, timeoutMs: 500 } })
    const peer = await startNode(quiet)
    nodes = [hub, peer]
    await connect(peer, hub)
    await waitFor(() => hub.libp2p.getConnections(peer.peerId).length === 1, 5_000, 'the hub to hold the first connection')
    let pings = 0
    await pingHandler(peer, () => { pings++ })
    await peer.libp2p.dial(hub.libp2p.getMultiaddrs()[0]!, { force: true })
    await waitFor(() => pings >= 1, 3_000, 'the old connection to be checked')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    expect(hub.libp2p.getConnections(peer.peerId)).toHaveLength(2)
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ answered: 1, closed: 0, replaced: 0 })
  })

  it('refuses a nonsensical configuration', async () => {
    await expect(startNode({ liveness: { slots: 0 } })).rejects.toThrow(/liveness.slots/)
    await expect(startNode({ liveness: { timeoutMs: 5_000, maxTimeoutMs: 1_000 } })).rejects.toThrow(/liveness.maxTimeoutMs/)
  })
})
