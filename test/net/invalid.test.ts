import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import type { TxVerifier } from '../../src/index.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** A verifier that accepts anything: the hostile node relays txs whose signatures are wrong. */
const acceptAll: TxVerifier = { verify: async () => undefined }

async function forgedTx () {
  const built = await makeTx({ payloadBytes: 5_000 })
  const bytes = built.bytes.slice()
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff // break the signature
  return bytes
}

describe('invalid txs', () => {
  it('are never announced past their first receiver, and the relaying peer is penalized', async () => {
    const hostile = await startNode({ verifier: acceptAll })
    const first = await startNode()
    const second = await startNode()
    nodes = [hostile, first, second]
    await connect(hostile, first)
    await connect(first, second)
    await waitForMesh(nodes)

    const rejected: string[] = []
    first.net.events.on('tx:rejected', (e) => rejected.push(e.rule))
    const forged = await forgedTx()
    expect((await hostile.submitTx(forged)).status).toBe('added')
    await waitFor(() => rejected.length === 1, 5_000, 'the first receiver to reject it')
    expect(rejected).toEqual(['invalid-signature'])
    expect(first.reputation.score(hostile.peerId.toString())).toBeLessThan(0)

    // a valid tx from the same origin crosses the same path, so the path works…
    const valid = await makeTx()
    await hostile.submitTx(valid.bytes)
    await waitFor(() => second.pool.get(valid.hash)?.hasBody === true, 5_000, 'the valid tx')
    // …and the forged one's announcement never reached the second node
    expect(second.net.stats().announcementsReceived).toBe(1)
    expect(first.pool.size).toBe(1)
  })

  it('a peer relaying a stream of invalid txs is disconnected and refused', async () => {
    const hostile = await startNode({ verifier: acceptAll })
    const honest = await startNode()
    nodes = [hostile, honest]
    await connect(hostile, honest)
    await waitForMesh(nodes)
    let banned = 0
    honest.reputation.events.on('banned', () => { banned++ })
    for (let i = 0; i < 10; i++) {
      if (banned > 0) break // counted by the 'banned' listener above, between our awaits
      await hostile.submitTx(await forgedTx())
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await waitFor(() => banned === 1, 5_000, 'the ban')
    await waitFor(() => honest.libp2p.getConnections(hostile.peerId).length === 0, 5_000, 'the disconnect')
    // penalties per offense are explicit: the default is 20 per invalid tx and a ban at -100
    expect(honest.reputation.score(hostile.peerId.toString())).toBeLessThanOrEqual(-100)
    // it is refused if it comes back
    await hostile.libp2p.dial(honest.libp2p.getMultiaddrs()[0]!).then(() => 'connected', () => 'refused')
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(honest.libp2p.getConnections(hostile.peerId)).toHaveLength(0)
    expect(honest.reputation.isBanned(hostile.peerId.toString())).toBe(true)
  })
})
