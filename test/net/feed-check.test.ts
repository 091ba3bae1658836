import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** A full node that takes any tx: its feed lists txs whose bodies are invalid. */
const liarInit = { verifier: { verify: async () => undefined } }

async function forged (): Promise<Uint8Array> {
  const bytes = (await makeTx()).bytes.slice()
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1
  return bytes
}

describe('light feed: trust, but check', () => {
  it('a sampled listing whose body is invalid gets its relay distrusted, its listings dropped and its reputation charged', async () => {
    const liar = await startNode(liarInit)
    const honest = await startNode()
    const light = await startNode({ mode: 'light', feed: { check: { sampleFraction: 1 } } })
    nodes = [liar, honest, light]
    await connect(light, liar)
    await connect(light, honest)
    const client = light.libp2p.services.feedClient!
    await waitFor(() => client.subscribed().length === 2, 10_000, 'both subscriptions')
    const good = await makeTx()
    await honest.submitTx(good.bytes)
    await waitFor(() => light.pool.has(good.hash), 10_000, 'the honest listing')

    const result = await liar.submitTx(await forged())
    expect(result.status).toBe('added')
    const hash = result.hash!
    await waitFor(() => client.stats().find(s => s.peer === liar.peerId.toString())?.unbacked === 1, 15_000, 'the check to catch the liar')
    const liarStats = client.stats().find(s => s.peer === liar.peerId.toString())!
    expect(liarStats.distrustedUntil).toBeGreaterThan(Date.now())
    expect(light.pool.has(hash)).toBe(false)
    expect(light.reputation.score(liar.peerId.toString())).toBeLessThan(0)
    await waitFor(() => !client.subscribed().includes(liar.peerId.toString()), 5_000, 'the liar to be unsubscribed')
    // the honest relay's listings stay, and it keeps its standing
    expect(light.pool.has(good.hash)).toBe(true)
    expect(client.subscribed()).toEqual([honest.peerId.toString()])
    expect(client.stats().find(s => s.peer === honest.peerId.toString())).toMatchObject({ unbacked: 0 })
  })

  it('counts, per relay, txs one lists and another does not within the window', async () => {
    const liar = await startNode(liarInit)
    const honest = await startNode()
    const light = await startNode({ mode: 'light', feed: { check: { sampleFraction: 0, agreementWindowMs: 1_000 } } })
    nodes = [liar, honest, light]
    await connect(light, liar)
    await connect(light, honest)
    const client = light.libp2p.services.feedClient!
    await waitFor(() => client.subscribed().length === 2, 10_000, 'both subscriptions')
    // the honest node never takes the forged tx, so only the liar lists it
    const result = await liar.submitTx(await forged())
    await waitFor(() => light.pool.has(result.hash!), 10_000, 'the listing')
    const stat = (n: Lightpool): ReturnType<typeof client.stats>[number] | undefined => client.stats().find(s => s.peer === n.peerId.toString())
    await waitFor(() => stat(honest)?.missed === 1, 10_000, 'the window to settle')
    expect(stat(liar)).toMatchObject({ alone: 1, missed: 0 })
    expect(stat(honest)).toMatchObject({ alone: 0, missed: 1 })
  })

  it('a tx the user opens is checked against every relay that lists it', async () => {
    const full = await startNode()
    const light = await startNode({ mode: 'light', feed: { check: { sampleFraction: 0 } } })
    nodes = [full, light]
    await connect(light, full)
    const client = light.libp2p.services.feedClient!
    await waitFor(() => client.subscribed().length === 1, 10_000, 'the subscription')
    const tx = await makeTx()
    await full.submitTx(tx.bytes)
    await waitFor(() => client.holders(tx.hash).length === 1, 10_000, 'the feed listing')
    expect(await light.getTx(tx.hash)).toBeDefined()
    expect(client.stats()[0]).toMatchObject({ checked: 1, unbacked: 0 })
  })
})
