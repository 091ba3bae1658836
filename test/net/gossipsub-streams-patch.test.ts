import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { deadOutboundStreams, dropOutboundStream } from '../../web/connectivity/gossipsub-streams-patch.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

interface OutboundTable { streamsOutbound: Map<string, { rawStream: { status: string, abort: (err: Error) => void } }> }

/**
 * The browser's gossip watchdog (web/connectivity/gossipsub-streams-patch.ts)
 * reads and edits gossipsub's private outbound-stream table. On a real
 * gossipsub: the table and the fields it reads must exist (an upgrade that
 * renames them makes this fail, where the watchdog would silently do
 * nothing), and the repair — drop the dead stream, identify again — must
 * bring gossip back to a peer the race had cut off.
 */
describe('gossipsub outbound-stream watchdog (library patch)', () => {
  it('finds the dead stream gossipsub kept, and dropping it plus an identify restores gossip', async () => {
    const a = await startNode()
    const b = await startNode()
    nodes = [a, b]
    await connect(a, b)
    await waitForMesh(nodes)
    const pubsub = a.libp2p.services.pubsub
    const table = (pubsub as unknown as OutboundTable).streamsOutbound
    const peerB = b.peerId.toString()

    // the private shape the watchdog relies on
    expect(table).toBeInstanceOf(Map)
    expect(table.get(peerB)?.rawStream.status).toBe('open')
    expect(deadOutboundStreams(pubsub)).toEqual([])

    // the race's outcome: the stream died, and gossipsub still holds it
    const stream = table.get(peerB)!
    stream.rawStream.abort(new Error('the connection closed under the stream'))
    await waitFor(() => stream.rawStream.status !== 'open', 5_000, 'the stream to die')
    table.set(peerB, stream)
    expect(deadOutboundStreams(pubsub)).toEqual([peerB])

    // the repair
    dropOutboundStream(pubsub, peerB)
    const conn = a.libp2p.getConnections(b.peerId)[0]!
    await a.libp2p.services.identify.identify(conn)
    await waitFor(() => table.get(peerB)?.rawStream.status === 'open', 10_000, 'a new outbound stream')

    const tx = await makeTx()
    expect((await a.submitTx(tx.bytes)).status).toBe('added')
    await waitFor(() => b.pool.has(tx.hash), 10_000, 'the tx on the other node, through gossip')
  })
})
