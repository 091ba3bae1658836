import { yamux } from '@chainsafe/libp2p-yamux'
import { muxer } from '../../../src/net/muxer.ts'
import { tcp } from '@libp2p/tcp'
import type { Libp2p } from 'libp2p'
import type { PeerId } from '@libp2p/interface'
import { gossipsub, type Gossip } from '../../../src/net/gossip.ts'
import { createLightpool, type Lightpool } from '../../../src/lightpool.ts'
import { TxIntake, TxPool, TxValidator } from '../../../src/index.ts'
import { randomGraph } from '../../helpers/topology.ts'
import { StreamMeter } from './meter.ts'
import { bfsChildren, treeNode } from './tree-node.ts'
import { BENCH_CONNECTIONS, benchLibp2p } from './stack.ts'
import { LinkEmulator, type LinkProfile } from '../../helpers/link-emulator.ts'

/** One node of a benchmark network, whichever the protocol. */
export interface BenchNode {
  meter: StreamMeter
  /** Validates, stores and sends a tx into the network from this node. */
  publish: (bytes: Uint8Array) => Promise<void>
  /** Called with a tx hash when this node holds its full body. */
  onArrival: (fn: (hash: string) => void) => void
  libp2p: Libp2p
  stop: () => Promise<void>
}

/**
 * ideal-tree is the floor (see tree-node.ts): each body sent once per node
 * along a precomputed tree, nothing else on the wire.
 *
 * gossipsub-push-lazy-window is the baseline on lightpool's muxer (yamux with
 * window updates per half window): not a deployed configuration, but it shows
 * how much of lightpool's lead is the muxer fix, which plain gossipsub could
 * adopt too, and how much is announce-then-fetch.
 */
export type Mode = 'lightpool' | 'gossipsub-push' | 'gossipsub-push-lazy-window' | 'ideal-tree'

/** Big enough that no benchmark run ever evicts: eviction is not what is measured. */
const POOL = { maxCount: 100_000, maxBytes: 16 * 1024 * 1024 * 1024 }
const TOPIC = '/bench/tx/1'

async function lightpoolNode (mode: 'full' | 'light'): Promise<BenchNode & { lp: Lightpool }> {
  const meter = new StreamMeter()
  const lp = await createLightpool({
    network: 'bench',
    mode,
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    pool: POOL,
    metrics: () => meter.metrics(),
    connectionManager: BENCH_CONNECTIONS,
    net: { peers: { minPeers: 0 } }
  })
  return {
    lp,
    meter,
    libp2p: lp.libp2p,
    publish: async (bytes) => {
      const r = await lp.submitTx(bytes)
      if (r.status !== 'added') throw new Error(`publish refused: ${r.status}`)
    },
    onArrival: (fn) => { lp.pool.events.on('added', (e) => { if (e.tx.hasBody) fn(e.tx.hash) }) },
    stop: async () => { await lp.stop() }
  }
}

/**
 * The baseline: every body pushed as a plain gossipsub message with default
 * mesh parameters (what Aztec does today). For a fair comparison it
 * validates and stores each tx exactly as lightpool does before forwarding it,
 * and shares lightpool's loopback-specific setting (IP colocation off).
 */
async function pushNode (lazyWindow: boolean): Promise<BenchNode> {
  const meter = new StreamMeter()
  const pool = new TxPool({ config: POOL })
  const intake = new TxIntake({ pool, validator: new TxValidator() })
  const libp2p = await benchLibp2p(meter, lazyWindow ? muxer() : yamux(), {
    pubsub: gossipsub({
      // gossipsub's own message id for unsigned messages: SHA-256 of the data,
      // computed natively (multiformats uses node:crypto in Node)
      globalSignaturePolicy: 'StrictNoSign',
      asyncValidation: true,
      allowPublishToZeroTopicPeers: true,
      scoreParams: { IPColocationFactorWeight: 0 }
    })
  })
  const pubsub = libp2p.services.pubsub as Gossip
  const arrivals: Array<(hash: string) => void> = []
  pubsub.subscribe(TOPIC)
  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msgId, propagationSource, msg } = evt.detail
    void intake.submit(msg.data, { source: 'gossip' }).then((r) => {
      pubsub.reportMessageValidationResult(msgId, propagationSource.toString(), r.status === 'added' ? 'accept' : r.status === 'rejected' ? 'reject' : 'ignore')
      if (r.status === 'added') for (const fn of arrivals) fn(r.hash)
    })
  })
  return {
    meter,
    libp2p,
    publish: async (bytes) => {
      const r = await intake.submit(bytes, { source: 'local' })
      if (r.status !== 'added') throw new Error(`publish refused: ${r.status}`)
      await pubsub.publish(TOPIC, bytes)
    },
    onArrival: (fn) => { arrivals.push(fn) },
    stop: async () => { await libp2p.stop(); await pool.stop() }
  }
}

export interface BenchNetwork {
  full: BenchNode[]
  light: BenchNode[]
  /** the emulated wide-area network the nodes are connected over, if any */
  emulator?: LinkEmulator
  /** Outbound connections that do not go through the emulator (must be none: they would not be shaped). */
  unshaped: () => number
  stop: () => Promise<void>
}

/**
 * N full nodes on a random graph of the given degree, plus light nodes each
 * attached to two full nodes; with a link profile, every connection goes
 * through an emulated wide-area network (test/helpers/link-emulator.ts).
 */
export async function buildNetwork (mode: Mode, nodes: number, degree: number, lightNodes: number, seed: number, profile?: LinkProfile): Promise<BenchNetwork> {
  const emulator = profile === undefined ? undefined : await LinkEmulator.start(profile)
  const edges = randomGraph(nodes, degree, seed)
  let full: Array<BenchNode & { route?: (self: number, children: PeerId[][]) => void }>
  let light: BenchNode[] = []
  if (mode === 'ideal-tree') {
    full = await Promise.all(Array.from({ length: nodes }, async () => {
      const meter = new StreamMeter()
      return { meter, ...await treeNode(meter, POOL) }
    }))
  } else {
    full = await Promise.all(Array.from({ length: nodes }, async () => mode === 'lightpool' ? await lightpoolNode('full') : await pushNode(mode === 'gossipsub-push-lazy-window')))
    if (mode === 'lightpool') light = await Promise.all(Array.from({ length: lightNodes }, async () => await lightpoolNode('light')))
  }
  const all = [...full, ...light]
  /** node `from` dials node `to` (indices into full, then light), through the emulator when there is one */
  const connect = async (from: number, to: number): Promise<void> => {
    const target = all[to]!.libp2p.getMultiaddrs()[0]!
    await all[from]!.libp2p.dial(emulator === undefined ? target : await emulator.route(from, to, target))
  }
  for (const [a, b] of edges) await connect(a, b)
  for (let i = 0; i < light.length; i++) {
    await connect(nodes + i, i % nodes)
    await connect(nodes + i, (i + 1) % nodes)
  }
  if (mode === 'ideal-tree') {
    const children = bfsChildren(nodes, edges)
    full.forEach((node, i) => { node.route?.(i, children[i]!.map(list => list.map(j => full[j]!.libp2p.peerId))) })
  } else {
    // let subscriptions and meshes settle (a few gossipsub heartbeats)
    await new Promise(resolve => setTimeout(resolve, 3_000))
  }
  return {
    full,
    light,
    emulator,
    unshaped: () => emulator === undefined
      ? 0
      : all.reduce((n, node) => n + node.libp2p.getConnections().filter(c => c.direction === 'outbound' && !emulator.carries(c.remoteAddr)).length, 0),
    stop: async () => {
      await Promise.all(all.map(async n => { await n.stop().catch(() => {}) }))
      await emulator?.stop()
    }
  }
}
