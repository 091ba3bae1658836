import type { Connection } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { DEFAULT_MUXER_OPTIONS } from '../../src/net/muxer.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'

/**
 * A connection whose muxer has closed does not keep its socket open.
 * libp2p 3 closes a connection's socket only through Connection.close/abort;
 * a muxer closed by the peer's GoAway left the socket open and the connection
 * listed as open, on which every stream failed ("The connection muxer is
 * closed"). On a relay, such sockets piled up until its per-address cap
 * refused every browser behind that address.
 */

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** Peers that never ping on their own within a test: liveness would close the dead connection itself. */
const quiet = { liveness: { intervalMs: 600_000 } }

interface YamuxInternals { status: string, sendGoAway: (reason?: number) => void }
function yamuxOf (conn: Connection): YamuxInternals {
  return (conn as unknown as { muxer: YamuxInternals }).muxer
}

describe('a muxer that closes takes its transport with it', () => {
  it('the peer sends GoAway and keeps its socket open: the receiver closes the socket within the grace', async () => {
    const a = await startNode(quiet)
    const b = await startNode(quiet)
    nodes = [a, b]
    await connect(a, b)
    await waitFor(() => b.libp2p.getConnections(a.peerId).length > 0, 5_000, 'b to hold the connection')
    const onA = a.libp2p.getConnections(b.peerId)[0]!
    // b says GoAway (normal termination) on the wire, and does nothing else: its muxer and socket stay as they are
    yamuxOf(b.libp2p.getConnections(a.peerId)[0]!).sendGoAway(0)
    await waitFor(() => yamuxOf(onA).status !== 'open', 5_000, 'a\'s muxer to take the GoAway')
    // the muxer is closed; the socket under it is not yet
    expect(onA.status).toBe('open')
    const t = Date.now()
    await waitFor(() => onA.status !== 'open', DEFAULT_MUXER_OPTIONS.transportGraceMs + 3_000, 'a to close the socket under its closed muxer')
    expect(Date.now() - t).toBeGreaterThanOrEqual(DEFAULT_MUXER_OPTIONS.transportGraceMs - 500)
    // and b sees its end close: nothing is left half-open on either side
    await waitFor(() => b.libp2p.getConnections(a.peerId).length === 0, 5_000, 'b to see the connection close')
    expect(a.libp2p.getConnections(b.peerId)).toHaveLength(0)
  })

  it('a connection closed the ordinary way is untouched by the grace timer', async () => {
    const a = await startNode(quiet)
    const b = await startNode(quiet)
    nodes = [a, b]
    await connect(a, b)
    const onA = a.libp2p.getConnections(b.peerId)[0]!
    await onA.close()
    expect(onA.status).toBe('closed')
    await waitFor(() => b.libp2p.getConnections(a.peerId).length === 0, 5_000, 'b to see the close')
    // a new connection between the same two is not hit by the old one's timer
    await connect(a, b)
    await new Promise(resolve => setTimeout(resolve, DEFAULT_MUXER_OPTIONS.transportGraceMs + 500))
    expect(a.libp2p.getConnections(b.peerId)[0]?.status).toBe('open')
  })
})
