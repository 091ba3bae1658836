/**
 * A child process of `npm run bench:relay`: either the M full nodes that
 * publish, or a share of the N light nodes. Kept out of the relay's process so
 * that the relay's CPU and memory (process.cpuUsage, rss) are its own.
 *
 * Talks to the parent over IPC: it sends 'ready' once its nodes are connected
 * (light: subscribed to the relay's feed, or to its gossip topic), then obeys
 * 'measure' / 'publish' / 'report' / 'stop'.
 */
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLightpool, type Lightpool } from '../../../src/lightpool.ts'
import { StreamMeter } from '../propagation/meter.ts'
import { makeTx } from '../../helpers/txs.ts'
import { startRawSubscriber, type RawSubscriber } from './raw-subscribers.ts'

export interface WorkerInit {
  /** raw: feed subscribers without a node behind them (raw-subscribers.ts) */
  role: 'full' | 'light' | 'raw'
  count: number
  relay: string
  network: string
  feed: boolean
}

type Command =
  | { type: 'measure' }
  | { type: 'prepare', rate: number, seconds: number, size: number }
  | { type: 'publish', rate: number }
  | { type: 'report' }
  | { type: 'stop' }

const init = JSON.parse(process.argv[2]!) as WorkerInit
const send = (msg: unknown): void => { process.send!(msg) }
const wall = (): number => performance.timeOrigin + performance.now()

const meters: StreamMeter[] = []
const nodes: Lightpool[] = []
/** light: hash → time listed, per node */
const listed: Array<Map<string, number>> = []
/** full: hash → time submitted */
const published = new Map<string, number>()
let measuring = false
/** this process's CPU at 'measure', to report what the run cost it (is the machine, not the relay, the limit?) */
let cpuAtMeasure = process.cpuUsage()
let wallAtMeasure = 0

const raws: RawSubscriber[] = []
/** one raw subscriber in this many decodes its frames and times its listings (raw-subscribers.ts says why) */
const RAW_DECODE_EVERY = 10

async function startNodes (): Promise<void> {
  if (init.role === 'raw') {
    for (let i = 0; i < init.count; i++) raws.push(await startRawSubscriber(init.relay, init.network, () => measuring, wall, i % RAW_DECODE_EVERY === 0))
    return
  }
  for (let i = 0; i < init.count; i++) {
    const meter = new StreamMeter()
    const node = await createLightpool({
      network: init.network,
      mode: init.role,
      transports: [tcp()],
      listen: init.role === 'full' ? ['/ip4/127.0.0.1/tcp/0'] : [],
      // generous handshakes: a loaded machine (this one, shared) misses libp2p's 5 s defaults
      connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 500, dialTimeout: 30_000, inboundUpgradeTimeout: 30_000 },
      metrics: () => meter.metrics(),
      feed: { enabled: init.feed },
      pool: { maxCount: 100_000, maxBytes: 2 ** 40 },
      net: { peers: { minPeers: 0 } }
    })
    const seen = new Map<string, number>()
    node.pool.events.on('added', ({ tx }) => { if (measuring && !seen.has(tx.hash)) seen.set(tx.hash, wall()) })
    meters.push(meter)
    nodes.push(node)
    listed.push(seen)
    // the machine is shared and many nodes dial at once: a handshake may time out, so try again
    for (let attempt = 1; ; attempt++) {
      try {
        await node.libp2p.dial(multiaddr(init.relay), { signal: AbortSignal.timeout(30_000) })
        break
      } catch (err) {
        if (attempt >= 5) throw err
        await new Promise(resolve => setTimeout(resolve, 500 * attempt))
      }
    }
  }
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length && init.role === 'full'; j++) await nodes[i]!.libp2p.dial(nodes[j]!.libp2p.getMultiaddrs()[0]!)
  }
  const relayId = multiaddr(init.relay).getComponents().findLast(c => c.name === 'p2p')!.value!
  const ready = (n: Lightpool): boolean => init.role === 'light' && init.feed
    ? (n.libp2p.services.feedClient?.subscribed().length ?? 0) >= 1
    : n.libp2p.services.pubsub.getSubscribers(n.net.ids.txTopic).map(String).includes(relayId)
  const deadline = Date.now() + 120_000
  while (!nodes.every(ready)) {
    if (Date.now() > deadline) throw new Error(`${init.role} nodes not ready after 120 s`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

let txs: Awaited<ReturnType<typeof makeTx>>[] = []

/** Signs the txs before the measurement starts, so the relay's CPU window holds only their traffic. */
async function prepare (rate: number, seconds: number, size: number): Promise<void> {
  const total = Math.round(rate * seconds)
  txs = []
  for (let i = 0; i < total; i++) txs.push(await makeTx({ payloadBytes: size, expiresAt: Date.now() + 60 * 60_000 }))
}

async function publish (rate: number): Promise<void> {
  const total = txs.length
  const start = wall()
  const inFlight: Array<Promise<unknown>> = []
  for (let i = 0; i < total; i++) {
    const due = start + i * 1000 / rate
    const wait = due - wall()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    const tx = txs[i]!
    published.set(tx.hash, wall())
    inFlight.push(nodes[i % nodes.length]!.submitTx(tx.bytes))
  }
  await Promise.all(inFlight)
}

process.on('message', (cmd: Command) => {
  void (async () => {
    if (cmd.type === 'measure') {
      measuring = true
      cpuAtMeasure = process.cpuUsage()
      wallAtMeasure = wall()
      for (const m of meters) { m.reset(); m.counting = true }
      for (const r of raws) { r.bytes = 0; r.listed.clear() }
      send({ type: 'measuring' })
    } else if (cmd.type === 'prepare') {
      await prepare(cmd.rate, cmd.seconds, cmd.size)
      send({ type: 'prepared' })
    } else if (cmd.type === 'publish') {
      await publish(cmd.rate)
      send({ type: 'published' })
    } else if (cmd.type === 'report') {
      const used = process.cpuUsage(cpuAtMeasure)
      const cpuMsPerS = (used.user + used.system) / 1000 / ((wall() - wallAtMeasure) / 1000)
      if (init.role === 'full') {
        send({ type: 'report', published: [...published], cpuMsPerS })
      } else if (init.role === 'raw') {
        send({ type: 'report', listed: raws.filter(r => r.decode).map(r => [...r.listed]), bytes: raws.map(r => r.bytes), cpuMsPerS })
      } else {
        const byProtocol: Record<string, number> = {}
        for (const m of meters) for (const [protocol, bytes] of m.received) byProtocol[protocol] = (byProtocol[protocol] ?? 0) + bytes
        send({ type: 'report', listed: listed.map(m => [...m]), bytes: meters.map(m => m.total()), byProtocol, cpuMsPerS })
      }
    } else if (cmd.type === 'stop') {
      await Promise.all([...nodes.map(n => async () => { await n.stop() }), ...raws.map(r => async () => { await r.node.stop() })].map(async stop => { await Promise.resolve(stop()).catch(() => {}) }))
      process.exit(0)
    }
  })().catch((err) => { send({ type: 'error', message: (err as Error).stack }) })
})

startNodes().then(() => { send({ type: 'ready' }) }, (err) => { send({ type: 'error', message: (err as Error).stack }) })
