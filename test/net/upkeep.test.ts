import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { PING_PROTOCOL } from '../../src/net/liveness.ts'
import { muxerPing } from '../../src/net/muxer.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'

/**
 * What keeps an idle node cheap (issue 22): liveness by yamux PING frames
 * instead of ping streams, and peer-keeping rounds that back off while they
 * gain nothing. The Node full node turns both on (node/run-node.ts); the
 * library's defaults keep the old behaviour, which test/net/liveness.test.ts
 * and test/net/discovery.test.ts cover.
 */

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** Peers that never ping on their own within a test. */
const quiet = { liveness: { intervalMs: 600_000 } }

/** The yamux muxer libp2p keeps on a connection (the field muxerPing reads). */
function yamuxOf (conn: Connection): { handlePing: (header: { flag: number, length: number }) => void } {
  return (conn as unknown as { muxer: { handlePing: (header: { flag: number, length: number }) => void } }).muxer
}

describe('liveness by yamux PING frames', () => {
  it('finds the yamux muxer of a real connection (fails if libp2p renames the field it reads)', async () => {
    const a = await startNode(quiet)
    const b = await startNode(quiet)
    nodes = [a, b]
    await connect(a, b)
    const conn = a.libp2p.getConnections(b.peerId)[0]!
    const ping = muxerPing(conn)
    expect(ping).toBeTypeOf('function')
    expect(await ping!()).toBeGreaterThanOrEqual(0)
    // a connection whose muxer is not lightpool's yamux is pinged by a stream
    expect(muxerPing({ muxer: {} } as unknown as Connection)).toBeUndefined()
  })

  it('pings without opening a stream, and keeps conn.rtt', async () => {
    const hub = await startNode({ liveness: { intervalMs: 300, slots: 1, timeoutMs: 300, via: 'muxer' } })
    const peer = await startNode(quiet)
    nodes = [hub, peer]
    let pingStreams = 0
    await peer.libp2p.unhandle(PING_PROTOCOL)
    await peer.libp2p.handle(PING_PROTOCOL, async (stream) => { pingStreams++; stream.abort(new Error('not this way')) }, { runOnLimitedConnection: true })
    await connect(peer, hub)
    await waitFor(() => hub.libp2p.getConnections(peer.peerId).length > 0, 5_000, 'the hub to hold the connection')

    await waitFor(() => hub.libp2p.services.liveness.stats().answered >= 3, 10_000, 'three answered pings')
    expect(pingStreams).toBe(0)
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ missed: 0, closed: 0 })
    expect(hub.libp2p.getConnections(peer.peerId)[0]!.rtt).toBeTypeOf('number')
  })

  it('closes a connection whose peer\'s yamux stops answering PINGs, after missesBeforeClose misses', async () => {
    const hub = await startNode({ liveness: { intervalMs: 300, slots: 1, timeoutMs: 300, via: 'muxer' } })
    const mute = await startNode(quiet)
    nodes = [hub, mute]
    await connect(mute, hub)
    // the hub takes the connection in a moment after the dial resolves
    await waitFor(() => hub.libp2p.getConnections(mute.peerId).length > 0, 5_000, 'the hub to hold the connection')
    const muxer = yamuxOf(mute.libp2p.getConnections(hub.peerId)[0]!)
    const handlePing = muxer.handlePing.bind(muxer)
    // yamux flag SYN (1) asks for an answer: dropped, as by a peer that hangs
    muxer.handlePing = (header) => { if (header.flag !== 1) handlePing(header) }

    await waitFor(() => hub.libp2p.getConnections(mute.peerId).length === 0, 10_000, 'the dead connection to be closed')
    expect(hub.libp2p.services.liveness.stats()).toMatchObject({ missed: 2, closed: 1 })
  })
})

describe('peer keeping that backs off while it gains nothing', () => {
  it('doubles the wait between rounds up to idleMaintenanceIntervalMs, and is back at the base when a peer connects', async () => {
    const only = await startNode()
    // three peers wanted, one to be had: every round would ask it for more
    const node = await startNode({ net: { peers: { minPeers: 3, maintenanceIntervalMs: 100, idleMaintenanceIntervalMs: 800 } } })
    nodes = [only, node]
    await connect(node, only)
    const keeper = node.net.keeper
    await waitFor(() => keeper.nextWaitMs === 800, 5_000, 'the wait to reach idleMaintenanceIntervalMs')

    const other = await startNode()
    nodes.push(other)
    await connect(other, node)
    await waitFor(() => keeper.nextWaitMs <= 200, 2_000, 'the wait back near maintenanceIntervalMs')
  })

  it('keeps every round at maintenanceIntervalMs by default', async () => {
    const only = await startNode()
    const node = await startNode({ net: { peers: { minPeers: 3, maintenanceIntervalMs: 100 } } })
    nodes = [only, node]
    await connect(node, only)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    expect(node.net.keeper.nextWaitMs).toBe(100)
  })

  it('does not keep a due redial waiting: an unreachable bootnode is retried on its own backoff, and connects once it is up', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const boot = await startNode({ privateKey })
    const addr = boot.libp2p.getMultiaddrs()[0]!.toString()
    await boot.stop()
    // rounds that gain nothing would wait up to a minute; the bootnode's retries are due every 400 ms at most
    const node = await startNode({ bootstrap: [addr], net: { peers: { minPeers: 2, maintenanceIntervalMs: 100, retryBaseMs: 100, retryMaxMs: 400, idleMaintenanceIntervalMs: 60_000 } } })
    nodes = [node]
    await waitFor(() => node.net.keeper.nextWaitMs >= 3_200, 10_000, 'the rounds to back off')
    const port = addr.split('/tcp/')[1]!.split('/')[0]!
    const revived = await startNode({ privateKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    nodes.push(revived)
    const t = Date.now()
    await waitFor(() => node.libp2p.getConnections(revived.peerId).length > 0, 10_000, 'the redial')
    // the next due retry, not the backed-off round (over 3 s by now)
    expect(Date.now() - t).toBeLessThan(2_500)
  })
})
