import { afterEach, describe, expect, it } from 'vitest'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { equals } from 'uint8arrays/equals'
import { lightpoolService, type LightpoolNode, type LightpoolServiceInit } from '../../src/libp2p.ts'
import { waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * The `lightpool/libp2p` entry as its docs show it: a plain js-libp2p node,
 * built by its owner with createLibp2p, adds `lightpool: lightpoolService()`
 * to its services and is a lightpool node: it gossips announcements, fetches
 * bodies once, and serves the light feed.
 */
type Node = Libp2p<{ identify: unknown, ping: unknown, lightpool: LightpoolNode }>
let nodes: Node[] = []
afterEach(async () => { await Promise.all(nodes.map(async n => { await n.stop() })); nodes = [] })

async function plainNode (init: LightpoolServiceInit): Promise<Node> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), lightpool: lightpoolService({ network: 'plain', ...init }) }
  })
  nodes.push(node)
  return node
}

describe('lightpool as a service of a plain libp2p node', () => {
  it('full nodes gossip and fetch a tx; a light node lists it from the feed', async () => {
    const a = await plainNode({})
    const b = await plainNode({})
    const light = await plainNode({ mode: 'light', feed: { client: { targets: [a.peerId.toString()] } } })
    await b.dial(a.getMultiaddrs()[0]!)
    await light.dial(a.getMultiaddrs()[0]!)
    await waitFor(() => a.services.lightpool.pubsub.getSubscribers(a.services.lightpool.net.ids.txTopic).length >= 1 &&
      light.services.lightpool.feedClient?.subscribed().length === 1, 15_000, 'gossip and the feed')

    const tx = await makeTx()
    expect((await a.services.lightpool.submitTx(tx.bytes)).status).toBe('added')
    await waitFor(() => b.services.lightpool.pool.get(tx.hash)?.hasBody === true, 15_000, 'b to fetch the body')
    await waitFor(() => light.services.lightpool.pool.has(tx.hash), 15_000, 'the light node to list it')
    // light: metadata only, the body on demand
    expect(light.services.lightpool.pool.get(tx.hash)?.hasBody).toBe(false)
    const body = await light.services.lightpool.getTx(tx.hash)
    expect(body !== undefined && equals(body, tx.bytes)).toBe(true)
  })

  it('needs identify, and says so when it is missing', async () => {
    await expect(createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { lightpool: lightpoolService() }
    })).rejects.toThrow(/@libp2p\/identify/)
  })
})
