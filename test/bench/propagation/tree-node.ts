import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { muxer } from '../../../src/net/muxer.ts'
import { TxIntake, TxPool, TxValidator, type PoolConfig } from '../../../src/index.ts'
import type { StreamMeter } from './meter.ts'
import { benchLibp2p } from './stack.ts'

const PROTOCOL = '/bench/tree/1'

/**
 * The floor, not a protocol: every body crosses exactly one link into each
 * node, along the breadth-first tree rooted at its origin, over one
 * long-lived stream per link, with no announcements, requests or control
 * traffic. Nobody could deploy it (it needs the whole topology in advance and
 * trusts every link), but it is the least work any protocol that validates
 * every body at every node can do on this stack, so its capacity is the
 * ceiling for lightpool and the baseline alike on this machine.
 *
 * A frame is a 2-byte origin index, then the tx.
 */
export interface TreeNode {
  /** This node's index, and for each origin index the peers it forwards that origin's txs to. */
  route: (self: number, children: PeerId[][]) => void
  /** Validates and stores a tx published here, then sends it down this node's tree. */
  publish: (bytes: Uint8Array) => Promise<void>
  onArrival: (fn: (hash: string) => void) => void
  libp2p: Libp2p
  stop: () => Promise<void>
}

export async function treeNode (meter: StreamMeter, pool: Partial<PoolConfig>): Promise<TreeNode> {
  const txs = new TxPool({ config: pool })
  const intake = new TxIntake({ pool: txs, validator: new TxValidator() })
  const libp2p = await benchLibp2p(meter, muxer())
  let self = -1
  let stopping = false
  let children: PeerId[][] = []
  const arrivals: Array<(hash: string) => void> = []
  const links = new Map<string, Promise<LengthPrefixedStream<Stream>>>()

  const link = async (peer: PeerId): Promise<LengthPrefixedStream<Stream>> => {
    const key = peer.toString()
    let lp = links.get(key)
    if (lp === undefined) {
      lp = libp2p.dialProtocol(peer, PROTOCOL).then(stream => lpStream(stream, { maxDataLength: 1 << 24 }))
      links.set(key, lp)
    }
    return await lp
  }

  const forward = async (origin: number, tx: Uint8Array): Promise<void> => {
    const frame = new Uint8Array(2 + tx.byteLength)
    new DataView(frame.buffer).setUint16(0, origin)
    frame.set(tx, 2)
    await Promise.all((children[origin] ?? []).map(async (peer) => { await (await link(peer)).write(frame) }))
  }

  const receive = async (frame: Uint8Array): Promise<void> => {
    const origin = new DataView(frame.buffer, frame.byteOffset).getUint16(0)
    const tx = frame.subarray(2)
    const r = await intake.submit(tx, { source: 'gossip' })
    if (r.status !== 'added') return
    for (const fn of arrivals) fn(r.hash)
    await forward(origin, tx)
  }

  await libp2p.handle(PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: 1 << 24 })
    try {
      while (true) {
        const frame = (await lp.read()).subarray()
        // like gossipsub's async validation: the next frame is read while this one validates
        // a send cut short by the network stopping is not a failure worth reporting
        void receive(frame).catch((err) => { if (!stopping) console.error('tree: receive failed', err) })
      }
    } catch {
      // the stream ended: the network is stopping
    }
  })

  return {
    libp2p,
    route: (index, table) => { self = index; children = table },
    publish: async (bytes) => {
      const r = await intake.submit(bytes, { source: 'local' })
      if (r.status !== 'added') throw new Error(`publish refused: ${r.status}`)
      await forward(self, bytes)
    },
    onArrival: (fn) => { arrivals.push(fn) },
    stop: async () => { stopping = true; await libp2p.stop(); await txs.stop() }
  }
}

/** For each origin, each node's children in the breadth-first tree rooted at that origin. */
export function bfsChildren (nodes: number, edges: Array<[number, number]>): number[][][] {
  const adjacent: number[][] = Array.from({ length: nodes }, () => [])
  for (const [a, b] of edges) { adjacent[a]!.push(b); adjacent[b]!.push(a) }
  // children[node][origin] = the nodes that `node` forwards origin's txs to
  const children: number[][][] = Array.from({ length: nodes }, () => Array.from({ length: nodes }, () => []))
  for (let origin = 0; origin < nodes; origin++) {
    const seen = new Set([origin])
    const queue = [origin]
    while (queue.length > 0) {
      const at = queue.shift()!
      for (const next of adjacent[at]!) {
        if (seen.has(next)) continue
        seen.add(next)
        children[at]![origin]!.push(next)
        queue.push(next)
      }
    }
  }
  return children
}
