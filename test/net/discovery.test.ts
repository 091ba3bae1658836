import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

const addrOf = (n: Lightpool): string => n.libp2p.getMultiaddrs()[0]!.toString()
const connected = (a: Lightpool, b: Lightpool): boolean => a.libp2p.getConnections(b.peerId).length > 0
const keeper = { minPeers: 2, maintenanceIntervalMs: 100, retryBaseMs: 100 }

describe('discovery', () => {
  it('finds peers through a bootnode, then reconnects to them from its peer store with the bootnode gone', async () => {
    const boot = await startNode()
    const other = await startNode()
    nodes = [boot, other]
    await connect(other, boot)

    // the peer store survives the restart; node/ keeps it on disk (LMDB), here in memory
    const datastore = new MemoryDatastore()
    const bootAddr = addrOf(boot)
    let node = await startNode({ datastore, bootstrap: [bootAddr], net: { peers: keeper } })
    nodes.push(node)
    await waitFor(() => connected(node, boot), 5_000, 'the bootnode dial')
    await waitFor(() => connected(node, other), 10_000, 'a peer learned by peer exchange')

    await node.stop()
    await boot.stop()
    nodes = [other]
    node = await startNode({ datastore, bootstrap: [bootAddr], net: { peers: keeper } })
    nodes.push(node)
    await waitFor(() => connected(node, other), 10_000, 'a reconnect from the peer store')
    expect(connected(node, boot)).toBe(false)
  })

  it('keeps retrying an unreachable bootnode with backoff, and connects once it is up', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const boot = await startNode({ privateKey })
    const addr = addrOf(boot)
    await boot.stop()
    const node = await startNode({ bootstrap: [addr], net: { peers: keeper } })
    nodes = [node]
    await new Promise(resolve => setTimeout(resolve, 400))
    expect(node.libp2p.getConnections()).toHaveLength(0)
    // the same identity comes back on the same port
    const port = addr.split('/tcp/')[1]!.split('/')[0]!
    const revived = await startNode({ privateKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    nodes.push(revived)
    await waitFor(() => connected(node, revived), 10_000, 'the redial')
  })
})
