import { equals } from 'uint8arrays/equals'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'
import { hex, result, startRpc, WsClient, type RunningRpc } from './helpers.ts'

let nodes: Lightpool[] = []
let servers: RunningRpc[] = []
afterEach(async () => {
  await Promise.all(servers.map(async s => { await s.rpc.close() }))
  await stopAll(nodes)
  nodes = []
  servers = []
})

describe('a tx submitted over RPC', () => {
  it('reaches a connected node and is readable there', async () => {
    const a = await startNode()
    const b = await startNode()
    nodes = [a, b]
    await connect(a, b)
    await waitForMesh(nodes)
    const rpcA = await startRpc({ node: a })
    const rpcB = await startRpc({ node: b })
    servers = [rpcA, rpcB]

    // a watcher of B's pool hears of it as it arrives
    const watcher = await WsClient.connect(rpcB.wsUrl)
    const sub = (await watcher.call('pool_subscribe', ['newTxs'])).result

    const tx = await makeTx({ payloadBytes: 40_000 })
    expect(await result(rpcA.url, 'pool_sendTx', [hex(tx.bytes)])).toEqual({ hash: `0x${tx.hash}` })

    await waitFor(() => b.pool.get(tx.hash)?.hasBody === true, 10_000, 'the tx at node B')
    const body = await b.pool.getBody(tx.hash)
    expect(body !== undefined && equals(body, tx.bytes)).toBe(true)

    const viaB: string = await result(rpcB.url, 'pool_getTx', [tx.hash])
    expect(equals(Buffer.from(viaB.slice(2), 'hex'), tx.bytes)).toBe(true)
    expect(await result(rpcB.url, 'pool_getTxStatus', [`0x${tx.hash}`])).toMatchObject({ status: 'pending' })
    await waitFor(() => watcher.notifications.length === 1, 5_000, 'the newTxs notification from B')
    expect(watcher.notifications[0]).toMatchObject({ subscription: sub, result: { hash: `0x${tx.hash}`, hasBody: true } })
    await watcher.close()
  })

  it('is fetched on demand by a light node\'s pool_getTx', async () => {
    const full = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [full, light]
    await connect(light, full)
    await waitForMesh(nodes)
    const rpcFull = await startRpc({ node: full })
    const rpcLight = await startRpc({ node: light })
    servers = [rpcFull, rpcLight]

    const tx = await makeTx({ payloadBytes: 40_000 })
    await result(rpcFull.url, 'pool_sendTx', [hex(tx.bytes)])
    await waitFor(() => light.pool.has(tx.hash), 10_000, 'the light node to list the tx')
    const listed = await result(rpcLight.url, 'pool_getPendingTxs', [{ limit: 10 }])
    expect(listed.txs).toMatchObject([{ hash: `0x${tx.hash}`, hasBody: false }])

    const body: string = await result(rpcLight.url, 'pool_getTx', [tx.hash])
    expect(equals(Buffer.from(body.slice(2), 'hex'), tx.bytes)).toBe(true)
    expect(light.pool.get(tx.hash)?.hasBody).toBe(true)
  })

  it('is not looked for at peers when nobody announced it, so they are not blamed', async () => {
    const a = await startNode()
    const b = await startNode()
    nodes = [a, b]
    await connect(a, b)
    await waitForMesh(nodes)
    const rpcA = await startRpc({ node: a, limits: { rateLimitPerSecond: 10_000 } })
    servers = [rpcA]
    // node.getTx would ask b for each, and b's "missing" answers cost it reputation
    for (let i = 0; i < 60; i++) {
      expect(await result(rpcA.url, 'pool_getTx', [hex(crypto.getRandomValues(new Uint8Array(32)))])).toBeNull()
    }
    expect(a.reputation.score(b.peerId.toString())).toBe(0)
    expect(a.libp2p.getConnections(b.peerId)).toHaveLength(1)
  })
})
