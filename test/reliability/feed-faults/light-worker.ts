/**
 * A child process of the feed fault-injection test: `count` light nodes in
 * Node, each following the relay by its feed and keeping the relay dialled
 * as its bootnode (as a tab's relay keeper does: redialled within a few
 * seconds of a drop). Kept out of the test's process, which runs the relay:
 * a relay stall (its event loop blocked) must not stall them too.
 *
 * IPC: sends 'ready' once every node is subscribed; answers 'report' with
 * each node's pool and feed history; exits on 'stop'.
 */
import { tcp } from '@libp2p/tcp'
import { createLightpool, type Lightpool } from '../../../src/lightpool.ts'

export interface LightWorkerInit {
  count: number
  relay: string
  relayPeer: string
  network: string
}

export interface LightReport {
  peer: string
  pool: string[]
  history: Array<{ at: number, event: string, reason?: string }>
  state: string
}

const init = JSON.parse(process.argv[2]!) as LightWorkerInit
const send = (msg: unknown): void => { process.send!(msg) }
const nodes: Lightpool[] = []

async function start (): Promise<void> {
  for (let i = 0; i < init.count; i++) {
    nodes.push(await createLightpool({
      network: init.network,
      mode: 'light',
      transports: [tcp()],
      listen: [],
      bootstrap: [init.relay],
      connectionManager: { dialTimeout: 10_000 },
      // a relay dialled again within a second or two of a drop, as a tab's relay keeper does
      net: { sync: { maxPagesPerPeer: 0 }, peers: { minPeers: 1, maintenanceIntervalMs: 500, retryBaseMs: 500, retryMaxMs: 2_000 } },
      feed: { client: { targets: [init.relayPeer], historySize: 1_000 } }
    }))
  }
  const deadline = Date.now() + 60_000
  while (!nodes.every(n => n.libp2p.services.feedClient?.stats()[0]?.state === 'live')) {
    if (Date.now() > deadline) throw new Error('light nodes not subscribed after 60 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

function report (): LightReport[] {
  return nodes.map((n) => {
    const feed = n.libp2p.services.feedClient!.stats()[0]
    return { peer: n.peerId.toString(), pool: [...n.pool.best()].map(tx => tx.hash).sort(), history: feed?.history ?? [], state: feed?.state ?? 'none' }
  })
}

process.on('message', (cmd: { type: 'report' | 'stop' }) => {
  if (cmd.type === 'report') send({ type: 'report', nodes: report() })
  else void Promise.allSettled(nodes.map(async n => { await n.stop() })).then(() => process.exit(0))
})
process.on('disconnect', () => { process.exit(0) })

start().then(() => { send({ type: 'ready' }) }, (err: Error) => { send({ type: 'error', message: err.stack }) })
