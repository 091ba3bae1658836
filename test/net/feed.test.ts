import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx, randomSeed } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

const subscribedTo = (light: Lightpool, n: number): boolean => (light.libp2p.services.feedClient?.subscribed().length ?? 0) >= n

describe('light feed', () => {
  it('lists every tx a full node accepts, starting from its pool, and applies every removal with its reason', async () => {
    const full = await startNode()
    nodes = [full]
    const before = await Promise.all(Array.from({ length: 5 }, async () => await makeTx()))
    for (const tx of before) expect((await full.submitTx(tx.bytes)).status).toBe('added')
    const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } } })
    nodes.push(light)
    await connect(light, full)
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    // the snapshot: txs the full node held before the light node came
    await waitFor(() => before.every(tx => light.pool.has(tx.hash)), 10_000, 'the snapshot')

    const live = await Promise.all(Array.from({ length: 10 }, async () => await makeTx({ payloadBytes: 20_000 })))
    for (const tx of live) await full.submitTx(tx.bytes)
    await waitFor(() => live.every(tx => light.pool.has(tx.hash)), 10_000, 'live txs')
    expect(light.pool.get(live[0]!.hash)).toMatchObject({ hasBody: false, fee: live[0]!.meta.fee, size: live[0]!.meta.size })

    const removed: Array<{ hash: string, reason: string }> = []
    light.pool.events.on('removed', (e) => { removed.push({ hash: e.tx.hash, reason: e.reason }) })
    full.pool.markMined({ hashes: [live[0]!.hash, before[0]!.hash] })
    full.pool.remove(live[1]!.hash, 'evicted')
    await waitFor(() => !light.pool.has(live[0]!.hash) && !light.pool.has(before[0]!.hash) && !light.pool.has(live[1]!.hash), 10_000, 'removals')
    expect(removed).toEqual(expect.arrayContaining([
      { hash: live[0]!.hash, reason: 'mined' },
      { hash: before[0]!.hash, reason: 'mined' },
      { hash: live[1]!.hash, reason: 'evicted' }
    ]))
    // a mined tx's nullifiers are remembered: a late copy is refused
    expect(light.pool.canAdmit(live[0]!.meta)).toMatchObject({ ok: false, rule: 'nullifier-spent' })
    const server = full.libp2p.services.feedServer!.stats()
    expect(server.subscribers).toBe(1)
    expect(server.framesSent).toBeGreaterThan(0)
  })

  it('delivers a replacement before the removal it causes, so the subscriber\'s own pool links the two', async () => {
    // the full node's gossip announcements paced to 1/s: the second tx reaches
    // the light node by the feed alone, and the order of the feed's items decides
    const full = await startNode({ net: { announce: { perSecond: 1 } } })
    const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } } })
    nodes = [full, light]
    await connect(light, full)
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    const seed = randomSeed()
    const first = await makeTx({ fee: 100n, nullifierSeeds: [seed] })
    expect((await full.submitTx(first.bytes)).status).toBe('added')
    await waitFor(() => light.pool.has(first.hash), 10_000, 'the first tx')

    // the light pool replaces the first tx itself, on the second's announcement,
    // rather than dropping it on a bare removal first (which left an observer's
    // page with no link between the two, and listing neither for a moment)
    const removals: Array<{ hash: string, reason: string, by?: string }> = []
    const replacedBy: Record<string, string[]> = {}
    light.pool.events.on('removed', (e) => { removals.push({ hash: e.tx.hash, reason: e.reason, ...(e.by === undefined ? {} : { by: e.by }) }) })
    light.pool.events.on('added', (e) => { replacedBy[e.tx.hash] = e.replaced.map(r => r.hash) })
    const second = await makeTx({ fee: 110n, nullifierSeeds: [seed] })
    expect((await full.submitTx(second.bytes)).status).toBe('added')
    await waitFor(() => light.pool.has(second.hash) && !light.pool.has(first.hash), 10_000, 'the replacement')
    expect(removals).toEqual([{ hash: first.hash, reason: 'replaced', by: second.hash }])
    expect(replacedBy[second.hash]).toEqual([first.hash])
  })

  it('tells a subscriber that was away when a tx was mined that it was mined, not merely no longer listed', async () => {
    // The observer's "follows a tx to mined" test timed out once under load:
    // a removal sent while the tab's subscription was down is lost, and the
    // next snapshot alone can only say the tx is gone ('removed').
    const full = await startNode()
    const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } }, feed: { client: { retryBaseMs: 100 } } })
    nodes = [full, light]
    await connect(light, full)
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    const [mined, kept] = await Promise.all([makeTx(), makeTx()])
    for (const tx of [mined, kept]) expect((await full.submitTx(tx.bytes)).status).toBe('added')
    // listed by the feed itself (gossip may bring them first)
    await waitFor(() => light.pool.has(mined.hash) && light.pool.has(kept.hash) && light.libp2p.services.feedClient!.stats()[0]?.listed === 2, 10_000, 'the txs')

    await light.libp2p.hangUp(full.peerId)
    await waitFor(() => !subscribedTo(light, 1), 10_000, 'the subscription to end')
    full.pool.markMined({ hashes: [mined.hash] })
    const removed: Array<{ hash: string, reason: string }> = []
    light.pool.events.on('removed', (e) => { removed.push({ hash: e.tx.hash, reason: e.reason }) })
    await connect(light, full)
    await waitFor(() => !light.pool.has(mined.hash), 15_000, 'the mined tx to go')
    expect(removed).toEqual([{ hash: mined.hash, reason: 'mined' }])
    expect(light.pool.has(kept.hash)).toBe(true)
  })

  it('holds one subscription per relay however many peer events arrive at once, and keeps what its snapshot listed', async () => {
    // Seen with 16 browser tabs on one node (issue 15): identify events from
    // the tabs' WebRTC peers and the maintain timer each started a search for
    // relays; two searches both found the relay idle and both subscribed. The
    // relay keeps a peer's newest subscription and closed the older one, whose
    // end then cleared the shared snapshot in progress, so the newer one's
    // SNAPSHOT_END emptied the tab's view and pool, and every resubscription
    // closed the one before it.
    const full = await startNode()
    nodes = [full]
    const txs = await Promise.all(Array.from({ length: 5 }, async () => await makeTx()))
    for (const tx of txs) expect((await full.submitTx(tx.bytes)).status).toBe('added')
    const light = await startNode({
      mode: 'light',
      net: { sync: { maxPagesPerPeer: 0 } },
      // the relay named, as a tab names its relays; the timer out of the way, so the events below decide
      feed: { client: { targets: [full.peerId.toString()], maintainIntervalMs: 60_000 } }
    })
    nodes.push(light)
    await connect(light, full)
    for (let i = 0; i < 3; i++) {
      // libp2p's internal event bus, which its services listen on (the node's own events are a copy of it)
      const bus = (light.libp2p as unknown as { components: { events: EventTarget } }).components.events
      bus.dispatchEvent(new CustomEvent('peer:identify', { detail: { peerId: full.peerId, protocols: [full.net.ids.feed] } }))
    }
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    await waitFor(() => txs.every(tx => light.pool.has(tx.hash)), 10_000, 'the snapshot')
    // long enough for a second subscription's snapshot and the first's end to have played out
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const [stats] = light.libp2p.services.feedClient!.stats()
    expect(stats).toMatchObject({ subscribed: true, snapshots: 1, adds: txs.length, listed: txs.length })
    expect(txs.every(tx => light.pool.has(tx.hash))).toBe(true)
    expect(full.libp2p.services.feedServer!.stats()).toMatchObject({ subscribers: 1 })
  })

  it('keeps its subscribers out of the full node\'s tx mesh', async () => {
    const full = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [full, light]
    await connect(light, full)
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    const topic = full.net.ids.txTopic
    await waitFor(() => full.libp2p.services.pubsub.getSubscribers(topic).map(String).includes(light.peerId.toString()), 10_000, 'the light node\'s gossip subscription')
    // heartbeats prune negative-score peers from the mesh
    await new Promise(resolve => setTimeout(resolve, 2_500))
    expect(full.libp2p.services.pubsub.getMeshPeers(topic)).not.toContain(light.peerId.toString())
  })

  it('pushes a light node\'s own tx to its relay, which validates, stores and announces it', async () => {
    const relay = await startNode({ pool: { minFee: 50n } })
    const other = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [relay, other, light]
    await connect(relay, other)
    await connect(light, relay)
    await waitFor(() => subscribedTo(light, 1), 10_000, 'the subscription')
    const tx = await makeTx()
    const result = await light.submitTx(tx.bytes)
    expect(result).toMatchObject({ status: 'added', hash: tx.hash })
    // durable on the relay when the answer came
    expect(relay.pool.get(tx.hash)?.hasBody).toBe(true)
    expect(light.pool.get(tx.hash)?.hasBody).toBe(true)
    await waitFor(() => other.pool.has(tx.hash), 10_000, 'the relay to announce it')
    expect(relay.libp2p.services.push!.stats()).toMatchObject({ pushes: 1, added: 1 })

    // the relay's refusal comes back with its rule (the light node's own floor is lower)
    const cheap = await makeTx({ fee: 10n })
    const refused = await light.submitTx(cheap.bytes)
    expect(refused).toMatchObject({ status: 'ignored', rule: 'fee-below-floor' })
    expect(relay.pool.has(cheap.hash)).toBe(false)
  })
})
