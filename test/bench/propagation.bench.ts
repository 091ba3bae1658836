/**
 * npm run bench:propagation [-- --nodes 20 --degree 6 --rate 10 --seconds 20 --size 40000 --light 2 --find-capacity]
 *                             [-- --latency-ms 25 --mbit 10]
 *
 * N nodes in one process on loopback TCP, a random graph of the given degree,
 * txs of `size` bytes published at `rate` per second from random nodes. The
 * modes run in the same process, one after the other, on the same graph and
 * the same txs:
 *   lightpool       announce (gossipsub, ~130 B) then fetch bodies by hash
 *   gossipsub-push  every body is a gossipsub message (the baseline), stock yamux
 *   gossipsub-push-lazy-window  the baseline on lightpool's muxer (src/net/muxer.ts),
 *                   to separate the muxer's share of the difference from the protocol's
 *   ideal-tree      the floor, not a protocol: each body sent exactly once into each
 *                   node along a precomputed tree, nothing else on the wire (see
 *                   propagation/tree-node.ts). Its capacity bounds every protocol's
 *                   on this machine and stack.
 *
 * One JSON line per mode:
 *   delivered_to_all  txs that reached every node / txs published
 *   amplification     payload bytes a node received on all protocol streams
 *                     ÷ bytes of the txs it needed (not its own), mean over nodes
 *   t_all_p50/p99_ms  publish → the last node holding the full body
 *   cpu_ms_per_delivery  process CPU time (all nodes, all threads) per tx
 *                     delivered to one node
 *   loop_ms_per_delivery  the event loop's busy time per delivery: with every
 *                     node on one JS thread, this is what caps capacity here
 * and one line for light nodes: bytes received per tx, as a fraction of the tx.
 *
 * --find-capacity raises the rate until fewer than 99% of txs reach every node
 * within 2 s, and prints the highest sustained rate per mode.
 *
 * --latency-ms / --mbit put the nodes on an emulated wide-area network
 * (test/helpers/link-emulator.ts): every path adds that one-way delay and every
 * node's uplink and downlink carry that many Mbit/s. Bare loopback measures
 * CPU (20 nodes share one thread); this measures what a deployment is limited
 * by, bandwidth, and lets latency do to IDONTWANT what it does on the
 * internet. The lines then also carry
 *   wire_amplification   every byte the full nodes received on the wire (all
 *                        protocols, noise and yamux included) ÷ tx bytes needed
 *   busiest_uplink_mbit  the busiest node's average upload over the run
 */
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { buildTx, Ed25519Signer, NULLIFIER_ENTRY_BYTES, TX_FIXED_BYTES } from '../../src/index.ts'
import { buildNetwork, type BenchNode, type Mode } from './propagation/networks.ts'
import type { LinkProfile } from '../helpers/link-emulator.ts'

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    degree: { type: 'string', default: '6' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    size: { type: 'string', default: '40000' },
    light: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    modes: { type: 'string', default: 'lightpool,gossipsub-push,gossipsub-push-lazy-window,ideal-tree' },
    'find-capacity': { type: 'boolean', default: false },
    'capacity-seconds': { type: 'string', default: '8' },
    'deadline-ms': { type: 'string', default: '2000' },
    'latency-ms': { type: 'string', default: '0' },
    mbit: { type: 'string', default: '0' }
  }
})
const NODES = Number(args.nodes)
const DEGREE = Number(args.degree)
const SIZE = Number(args.size)
const LIGHT = Number(args.light)
const SEED = Number(args.seed)
const MODES = args.modes.split(',') as Mode[]
const DEADLINE_MS = Number(args['deadline-ms'])
const LATENCY_MS = Number(args['latency-ms'])
const MBIT = Number(args.mbit)
if (!(LATENCY_MS >= 0) || !(MBIT >= 0)) throw new Error(`--latency-ms and --mbit take numbers ≥ 0 (got ${args['latency-ms']}, ${args.mbit})`)
/** Without either option the nodes talk over bare loopback; with one, over an emulated wide-area network. */
const PROFILE: LinkProfile | undefined = LATENCY_MS > 0 || MBIT > 0 ? { latencyMs: LATENCY_MS, mbit: MBIT } : undefined
const NETWORK = PROFILE === undefined ? {} : { latency_ms: LATENCY_MS, mbit: MBIT }

interface RunResult {
  published: number
  deliveredToAll: number
  withinDeadline: number
  tAll: number[]
  amplification: number
  cpuMsPerDelivery: number
  loopMsPerDelivery: number
  lightBytesPerTx?: number
  /** with an emulated network: every byte the full nodes received on the wire (all protocols, encryption and muxing included) ÷ bytes of the txs they needed */
  wireAmplification?: number
  /** with an emulated network: the average speed of the busiest node's uplink over the run, Mbit/s */
  busiestUplinkMbit?: number
}

let seq = 0
const signer = Ed25519Signer.generate()
async function makeTxs (count: number): Promise<Array<{ bytes: Uint8Array, hash: string }>> {
  const payloadBytes = SIZE - TX_FIXED_BYTES - NULLIFIER_ENTRY_BYTES
  const out = []
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(payloadBytes)
    crypto.getRandomValues(payload.subarray(0, Math.min(65536, payloadBytes)))
    const nullifier = new Uint8Array(32)
    new DataView(nullifier.buffer).setUint32(0, ++seq)
    crypto.getRandomValues(nullifier.subarray(4))
    const built = await buildTx({ fee: 100n, expiresAt: Date.now() + 3_600_000, nullifierSeeds: [nullifier], payload }, signer)
    out.push({ bytes: built.bytes, hash: built.hash })
  }
  return out
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]!
}

async function run (mode: Mode, rate: number, seconds: number): Promise<RunResult> {
  const net = await buildNetwork(mode, NODES, DEGREE, mode === 'lightpool' ? LIGHT : 0, SEED, PROFILE)
  try {
    const count = Math.round(rate * seconds)
    const txs = await makeTxs(count)
    const published = new Map<string, { at: number, origin: number }>()
    const arrivals = new Map<string, number[]>()
    net.full.forEach((node, i) => {
      node.onArrival((hash) => {
        const p = published.get(hash)
        if (p === undefined || p.origin === i) return
        const list = arrivals.get(hash) ?? []
        list.push(performance.now())
        arrivals.set(hash, list)
      })
    })
    for (const n of [...net.full, ...net.light]) { n.meter.reset(); n.meter.counting = true }
    await net.emulator?.traffic() // reset: count only the run
    const cpuBefore = process.cpuUsage()
    const loopBefore = performance.eventLoopUtilization()

    // publish at a steady rate from pseudo-random nodes
    const start = performance.now()
    let rng = SEED
    const pending: Array<Promise<void>> = []
    for (let i = 0; i < count; i++) {
      const due = start + i * 1000 / rate
      const wait = due - performance.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
      rng = (Math.imul(rng, 1103515245) + 12345) & 0x7fffffff
      // the high bits: this generator's low bits cycle with a short period
      // (`rng % 20` picked only nodes 0, 4, 8, 12 and 16)
      const origin = Math.floor(rng / 0x80000000 * NODES)
      const tx = txs[i]!
      published.set(tx.hash, { at: performance.now(), origin })
      pending.push(net.full[origin]!.publish(tx.bytes).catch((err) => { console.error('publish failed', err) }))
    }
    await Promise.all(pending)
    // drain: give the last txs time to arrive everywhere
    const drainUntil = performance.now() + Math.max(5_000, DEADLINE_MS * 2)
    while (performance.now() < drainUntil && [...published.keys()].some(h => (arrivals.get(h)?.length ?? 0) < NODES - 1)) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    for (const n of [...net.full, ...net.light]) n.meter.counting = false
    const elapsedSeconds = (performance.now() - start) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const loop = performance.eventLoopUtilization(loopBefore)
    const wire = await net.emulator?.traffic()
    const unshaped = net.unshaped()
    if (unshaped > 0) throw new Error(`${mode}: ${unshaped} connections bypassed the emulated network; the figures would be meaningless`)

    const tAll: number[] = []
    let withinDeadline = 0
    for (const [hash, p] of published) {
      const list = arrivals.get(hash) ?? []
      if (list.length < NODES - 1) continue
      const t = Math.max(...list) - p.at
      tAll.push(t)
      if (t <= DEADLINE_MS) withinDeadline++
    }
    tAll.sort((a, b) => a - b)

    // amplification: what each node received ÷ what it needed (every tx it did not publish)
    const neededBy = net.full.map((_node: BenchNode, i) => {
      let needed = 0
      for (const [hash, p] of published) if (p.origin !== i && (arrivals.get(hash)?.length ?? 0) > 0) needed += SIZE
      return needed
    })
    const ratios = net.full.map((node, i) => neededBy[i] === 0 ? 0 : node.meter.total() / neededBy[i]!)
    const deliveries = Math.max(1, [...arrivals.values()].reduce((s, l) => s + l.length, 0))
    const result: RunResult = {
      published: count,
      deliveredToAll: tAll.length,
      withinDeadline,
      tAll,
      amplification: ratios.reduce((a, b) => a + b, 0) / ratios.length,
      // CPU time of the whole process (all nodes, all threads) per tx delivered to one node
      cpuMsPerDelivery: (cpu.user + cpu.system) / 1000 / deliveries,
      // the event loop's busy time per delivery: the one thread all nodes share
      loopMsPerDelivery: loop.active / deliveries
    }
    if (wire !== undefined) {
      const needed = neededBy.reduce((a, b) => a + b, 0)
      result.wireAmplification = needed === 0 ? 0 : net.full.reduce((sum, _n, i) => sum + (wire.received[i] ?? 0), 0) / needed
      result.busiestUplinkMbit = Math.max(0, ...wire.sent.map(b => b ?? 0)) * 8 / elapsedSeconds / 1e6
    }
    if (net.light.length > 0) {
      result.lightBytesPerTx = net.light.reduce((s, n) => s + n.meter.total(), 0) / net.light.length / count
    }
    return result
  } finally {
    await net.stop()
  }
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d

async function fixedRate (): Promise<void> {
  const rate = Number(args.rate)
  for (const mode of MODES) {
    const r = await run(mode, rate, Number(args.seconds))
    console.log(JSON.stringify({
      bench: 'propagation',
      mode,
      nodes: NODES,
      rate,
      size: SIZE,
      ...NETWORK,
      delivered_to_all: `${r.deliveredToAll}/${r.published}`,
      amplification: round(r.amplification, 3),
      t_all_p50_ms: round(percentile(r.tAll, 50), 1),
      t_all_p99_ms: round(percentile(r.tAll, 99), 1),
      cpu_ms_per_delivery: round(r.cpuMsPerDelivery, 2),
      loop_ms_per_delivery: round(r.loopMsPerDelivery, 2),
      ...(r.wireAmplification === undefined ? {} : { wire_amplification: round(r.wireAmplification, 3), busiest_uplink_mbit: round(r.busiestUplinkMbit ?? 0, 1) })
    }))
    if (r.lightBytesPerTx !== undefined) {
      console.log(JSON.stringify({
        bench: 'propagation',
        mode: 'lightpool-light-node',
        light_nodes: LIGHT,
        rate,
        size: SIZE,
        bytes_per_tx: Math.round(r.lightBytesPerTx),
        fraction_of_tx_bytes: round(r.lightBytesPerTx / SIZE, 4)
      }))
    }
  }
}

async function findCapacity (): Promise<void> {
  const seconds = Number(args['capacity-seconds'])
  for (const mode of MODES) {
    const tried: Array<{ rate: number, within_2s: number }> = []
    const passes = async (rate: number): Promise<boolean> => {
      const r = await run(mode, rate, seconds)
      const ok = r.withinDeadline / r.published
      tried.push({ rate, within_2s: round(ok, 3) })
      return ok >= 0.99
    }
    // grow by 1.5× until a rate fails, then bisect down to a 10% bracket
    let best = 0
    let failed = Infinity
    for (let rate = Number(args.rate); rate <= 2_000; rate = Math.round(rate * 1.5)) {
      if (await passes(rate)) best = rate
      else { failed = rate; break }
    }
    while (Number.isFinite(failed) && failed - best > Math.max(1, best * 0.1)) {
      const mid = Math.round((best + failed) / 2)
      if (await passes(mid)) best = mid
      else failed = mid
    }
    console.log(JSON.stringify({ bench: 'propagation-capacity', mode, nodes: NODES, size: SIZE, ...NETWORK, deadline_ms: DEADLINE_MS, max_rate: best, tried }))
  }
}

if (args['find-capacity']) await findCapacity()
else await fixedRate()
process.exit(0)
