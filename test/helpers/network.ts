import { tcp } from '@libp2p/tcp'
import { createLightpool, type Lightpool, type LightpoolInit } from '../../src/lightpool.ts'

export type TestNodeInit = Partial<LightpoolInit>

/** A lightpool node on loopback TCP with test-friendly defaults (no peer upkeep dials unless asked). */
export async function startNode (init: TestNodeInit = {}): Promise<Lightpool> {
  return await createLightpool({
    network: 'test',
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    // every test node dials from 127.0.0.1: lift libp2p's per-host inbound rate limit
    connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 200 },
    ...init,
    net: { peers: { minPeers: 0, ...init.net?.peers }, ...init.net }
  })
}

export async function connect (a: Lightpool, b: Lightpool): Promise<void> {
  await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
}

/** Waits until every node's gossipsub mesh for the tx topic has at least `min` peers (or each node has that many topic peers). */
export async function waitForMesh (nodes: Lightpool[], min = 1, timeoutMs = 15_000): Promise<void> {
  const topic = nodes[0]!.net.ids.txTopic
  await waitFor(() => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(topic).length >= Math.min(min, nodes.length - 1) &&
    n.libp2p.services.pubsub.getMeshPeers(topic).length >= Math.min(min, 1)), timeoutMs, 'gossipsub mesh')
}

export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export async function stopAll (nodes: Lightpool[]): Promise<void> {
  await Promise.all(nodes.map(async n => { await n.stop().catch(() => {}) }))
}
