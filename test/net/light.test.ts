import { equals } from 'uint8arrays/equals'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

describe('light nodes', () => {
  it('see every announcement but download no body until asked', async () => {
    const origin = await startNode()
    const relay = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [origin, relay, light]
    await connect(origin, relay)
    await connect(light, relay)
    await waitForMesh(nodes)

    const txs = await Promise.all(Array.from({ length: 10 }, async () => await makeTx({ payloadBytes: 40_000 })))
    for (const tx of txs) await origin.submitTx(tx.bytes)
    await waitFor(() => txs.every(tx => light.pool.has(tx.hash)), 10_000, 'the light node to list every tx')
    expect(txs.every(tx => light.pool.get(tx.hash)?.hasBody === false)).toBe(true)
    expect(light.net.stats().fetcher.requests).toBe(0)
    expect(light.pool.get(txs[0]!.hash)).toMatchObject({ size: txs[0]!.meta.size, fee: txs[0]!.meta.fee })

    const body = await light.getTx(txs[3]!.hash)
    expect(body !== undefined && equals(body, txs[3]!.bytes)).toBe(true)
    expect(light.pool.get(txs[3]!.hash)?.hasBody).toBe(true)
    expect(light.net.stats().fetcher).toMatchObject({ requests: 1, bodies: 1 })
  })

  it('do not forward announcements they cannot serve', async () => {
    const origin = await startNode()
    const light = await startNode({ mode: 'light' })
    const behind = await startNode()
    nodes = [origin, light, behind]
    await connect(origin, light)
    await connect(light, behind)
    await waitForMesh(nodes)
    const tx = await makeTx()
    await origin.submitTx(tx.bytes)
    await waitFor(() => light.pool.has(tx.hash), 5_000, 'the light node')
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(behind.pool.has(tx.hash)).toBe(false)
  })

  it('drop an announced tx whose body turns out invalid, and blame who announced it', async () => {
    const liar = await startNode({ verifier: { verify: async () => undefined } })
    const light = await startNode({ mode: 'light' })
    nodes = [liar, light]
    await connect(light, liar)
    await waitForMesh(nodes)
    const built = await makeTx()
    const forged = built.bytes.slice()
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 1
    const result = await liar.submitTx(forged)
    const hash = result.status === 'added' ? result.hash : ''
    await waitFor(() => light.pool.has(hash), 5_000, 'the announcement')
    expect(await light.getTx(hash)).toBeUndefined()
    expect(light.pool.has(hash)).toBe(false)
    expect(light.reputation.score(liar.peerId.toString())).toBeLessThan(0)
  })

  it('list a peer\'s pool by sync without fetching bodies', async () => {
    const full = await startNode()
    nodes = [full]
    const txs = await Promise.all(Array.from({ length: 12 }, async () => await makeTx({ payloadBytes: 30_000 })))
    for (const tx of txs) await full.submitTx(tx.bytes)
    const light = await startNode({ mode: 'light' })
    nodes.push(light)
    await connect(light, full)
    await waitFor(() => light.pool.size === 12, 5_000, 'sync')
    expect(light.net.stats().fetcher.requests).toBe(0)
  })

  it('looking up hashes nobody announced costs no peer its reputation', async () => {
    const full = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [full, light]
    await connect(light, full)
    await waitForMesh(nodes)
    for (let i = 0; i < 30; i++) expect(await light.getTx(i.toString(16).padStart(64, '0'))).toBeUndefined()
    expect(light.reputation.score(full.peerId.toString())).toBe(0)
  })
})
