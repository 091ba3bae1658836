/**
 * npm run bench:relay [-- --light 200 --raw 1000 --full 4 --rate 100 --seconds 20 --size 40000 --procs 4 --nice-light 10 --flush-ms 50 --modes feed,gossipsub,feed-raw]
 *
 * --flush-ms sets the relay's feed flushIntervalMs (default: the feed's own, 50 ms).
 *
 * What one relay costs to serve N light nodes (tabs). This process runs the
 * relay alone; M full nodes (publishing `rate` txs/s of `size` bytes between
 * them for `seconds`) and the N light nodes run in child processes
 * (relay/worker.ts), so the relay's CPU and memory are measured by themselves.
 * Two modes in one run, same parameters:
 *   feed       light nodes follow the relay by its light feed (src/net/feed)
 *   gossipsub  today's path without it: light nodes on the tx topic
 *   feed-raw   `raw` (1 000) feed subscribers that are only what the relay
 *              sees of a tab (relay/raw-subscribers.ts: a connection, the feed
 *              stream, acks; no pool): the relay at a thousand tabs, which a
 *              2-core machine cannot hold as real light nodes beside the relay
 *
 * One JSON line per mode:
 *   coverage             (light node, tx) pairs listed ÷ all pairs, 5 s after the last publish
 *   listed_within_1s     pairs listed within 1 s of publish ÷ all pairs
 *   t_list_p50/p99_ms    publish (submitted at a full node) → listed at a light node
 *   t_relay_p50/p99_ms   publish → stored at the relay (gossip and the relay's fetch)
 *   t_feed_p50/p99_ms    stored at the relay → listed at a light node: the feed's own part
 *   full/light_procs_cpu_ms_per_s  the other processes' CPU: when the relay's and
 *                        theirs reach machine_cores × 1000, the latencies measure
 *                        a saturated machine
 *   relay_cpu_ms_per_s   the relay process's CPU (user + system) per second of the run
 *   relay_bytes_out_per_light_per_tx  stream payload bytes the light nodes
 *                        received (all from the relay) ÷ (N × txs); noise and
 *                        yamux framing not counted (a few percent more)
 *   bytes_per_light_per_tx_by_protocol  the same, split by protocol (the feed,
 *                        and what gossipsub, identify, ping still bring a tab)
 *   relay_rss_mb         the relay process's peak resident memory
 *   light_per_core_at_100_tx_s  light nodes one core could serve at 100 tx/s,
 *                        extrapolated from the relay's CPU: the run starts with
 *                        a baseline line (mode "no-light-nodes": the same
 *                        publishing, no light nodes) giving the relay's fixed
 *                        cost F (fetching, validating, storing every tx); each
 *                        mode's cost per light node is (cpu − F) ÷ N, and the
 *                        figure is (1000 − F) ÷ that, scaled from `rate` to 100 tx/s
 *                        (cost per light node taken as proportional to the rate)
 */
import { fork, type ChildProcess } from 'node:child_process'
import { availableParallelism, setPriority } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { tcp } from '@libp2p/tcp'
import { createLightpool, type Lightpool } from '../../src/lightpool.ts'
import type { WorkerInit } from './relay/worker.ts'

const { values: args } = parseArgs({
  options: {
    light: { type: 'string', default: '200' },
    raw: { type: 'string', default: '1000' },
    // niceness of the light-node processes (see where they are started); 0: as the relay
    'nice-light': { type: 'string', default: '10' },
    full: { type: 'string', default: '4' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '20' },
    size: { type: 'string', default: '40000' },
    procs: { type: 'string', default: '4' },
    // the relay's feed flushIntervalMs (src/net/feed/server-config.ts); unset: its default
    'flush-ms': { type: 'string' },
    modes: { type: 'string', default: 'feed,gossipsub,feed-raw' }
  }
})
const num = (name: keyof typeof args): number => {
  const v = Number(args[name])
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`--${name} must be a non-negative number, got ${String(args[name])}`)
  return v
}
const LIGHT = num('light')
const FULL = Math.max(1, num('full'))
const RATE = num('rate')
const SECONDS = num('seconds')
const SIZE = num('size')
const PROCS = Math.max(1, num('procs'))
const RAW = num('raw')
const LIGHT_NICE = Math.min(19, num('nice-light'))
type Mode = 'feed' | 'gossipsub' | 'feed-raw'
const FLUSH = args['flush-ms'] === undefined ? {} : { flushIntervalMs: num('flush-ms') }
const MODES = String(args.modes).split(',') as Mode[]
/** after the last publish, time for the last listings to arrive */
const DRAIN_MS = 5_000

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a worker's IPC message is whatever worker.ts sends for that type; each caller reads its own fields
type WorkerMessage = any
interface Worker { proc: ChildProcess, next: (type: string) => Promise<WorkerMessage> }

function startWorker (init: WorkerInit): Worker {
  const proc = fork(join(import.meta.dirname, 'relay/worker.ts'), [JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting: Array<{ type: string, resolve: (m: WorkerMessage) => void, reject: (e: Error) => void }> = []
  proc.on('message', (msg: { type: string, message?: string }) => {
    if (msg.type === 'error') {
      for (const w of waiting.splice(0)) w.reject(new Error(msg.message))
      return
    }
    const i = waiting.findIndex(w => w.type === msg.type)
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(msg)
  })
  proc.on('exit', (code) => { for (const w of waiting.splice(0)) w.reject(new Error(`worker exited with ${code}`)) })
  return { proc, next: async (type) => await new Promise((resolve, reject) => { waiting.push({ type, resolve, reject }) }) }
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

async function run (mode: Mode, light: number, baselineCpu: number | undefined): Promise<Record<string, unknown>> {
  const LIGHT = light
  const network = `relaybench-${mode}`
  const relay: Lightpool = await createLightpool({
    network,
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    connectionManager: { maxConnections: LIGHT + FULL + 100, inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 1000, dialTimeout: 30_000, inboundUpgradeTimeout: 30_000 },
    feed: { enabled: mode !== 'gossipsub', server: { maxSubscribers: LIGHT + 10, maxSubscribersPerIp: LIGHT + 10, ...FLUSH } },
    pool: { maxCount: 100_000, maxBytes: 2 ** 40 },
    net: { peers: { minPeers: 0 } }
  })
  const relayAddr = relay.libp2p.getMultiaddrs()[0]!.toString()
  const workers: Worker[] = []
  try {
    const full = startWorker({ role: 'full', count: FULL, relay: relayAddr, network, feed: mode !== 'gossipsub' })
    workers.push(full)
    await full.next('ready')
    const lights: Worker[] = []
    for (let p = 0; p < Math.min(PROCS, LIGHT); p++) {
      const procs = Math.min(PROCS, LIGHT)
      const count = Math.floor(LIGHT / procs) + (p < LIGHT % procs ? 1 : 0)
      const worker = startWorker({ role: mode === 'feed-raw' ? 'raw' : 'light', count, relay: relayAddr, network, feed: mode !== 'gossipsub' })
      // The light nodes stand for tabs, each on its own device; here they share
      // the machine with the relay and the publishers, and at full priority they
      // took 1.2 of its 2 cores and starved the publishers (publish → relay
      // stored: 6 ms p50 alone, 2.2 s beside them). Niced, they get what the
      // system under test leaves, and a backlog of theirs shows in t_feed.
      if (worker.proc.pid !== undefined && LIGHT_NICE > 0) setPriority(worker.proc.pid, LIGHT_NICE)
      lights.push(worker)
    }
    workers.push(...lights)
    await Promise.all(lights.map(async w => await w.next('ready')))
    full.proc.send({ type: 'prepare', rate: RATE, seconds: SECONDS, size: SIZE })
    await full.next('prepared')
    // let gossipsub heartbeats settle the mesh before measuring
    await new Promise(resolve => setTimeout(resolve, 3_000))

    for (const w of workers) w.proc.send({ type: 'measure' })
    await Promise.all(workers.map(async w => await w.next('measuring')))
    let peakRss = process.memoryUsage().rss
    const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 250)
    // when the relay holds each tx durably: what it feeds from then on is the feed's own delay
    const storedAt = new Map<string, number>()
    relay.pool.events.on('stored', ({ tx }) => { if (!storedAt.has(tx.hash)) storedAt.set(tx.hash, performance.timeOrigin + performance.now()) })
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    full.proc.send({ type: 'publish', rate: RATE })
    await full.next('published')
    await new Promise(resolve => setTimeout(resolve, DRAIN_MS))
    const cpu = process.cpuUsage(cpu0)
    const fetcher = relay.net.stats().fetcher
    const elapsedS = (performance.now() - t0) / 1000
    clearInterval(rssTimer)

    full.proc.send({ type: 'report' })
    const fullReport = await full.next('report') as { published: Array<[string, number]>, cpuMsPerS: number }
    const published = new Map<string, number>(fullReport.published)
    let lightCpuMsPerS = 0
    let pairs = 0
    let within1s = 0
    let bytes = 0
    /** stream payload bytes the light nodes received, per protocol (what besides the feed reaches a tab?) */
    const byProtocol: Record<string, number> = {}
    /** light nodes whose listings were timed (feed-raw: one subscriber in ten) */
    let timed = 0
    const latencies: number[] = []
    /** relay stored → listed at a light node */
    const feedLatencies: number[] = []
    /** publish → stored at the relay (the publishers and the relay's fetch, before any feed) */
    const relayLatencies = [...published].flatMap(([hash, sent]) => storedAt.has(hash) ? [Math.max(0, storedAt.get(hash)! - sent)] : []).sort((a, b) => a - b)
    for (const w of lights) {
      w.proc.send({ type: 'report' })
      const report = await w.next('report') as { listed: Array<Array<[string, number]>>, bytes: number[], byProtocol?: Record<string, number>, cpuMsPerS: number }
      lightCpuMsPerS += report.cpuMsPerS
      for (const node of report.listed) {
        timed++
        const at = new Map(node)
        for (const [hash, sent] of published) {
          const t = at.get(hash)
          if (t === undefined) continue
          pairs++
          const ms = Math.max(0, t - sent)
          latencies.push(ms)
          const stored = storedAt.get(hash)
          if (stored !== undefined) feedLatencies.push(Math.max(0, t - stored))
          if (ms <= 1000) within1s++
        }
      }
      for (const b of report.bytes) bytes += b
      for (const [protocol, b] of Object.entries(report.byProtocol ?? {})) byProtocol[protocol] = (byProtocol[protocol] ?? 0) + b
    }
    latencies.sort((a, b) => a - b)
    feedLatencies.sort((a, b) => a - b)
    const all = timed * published.size
    const cpuMsPerS = (cpu.user + cpu.system) / 1000 / elapsedS
    return {
      bench: 'relay',
      mode,
      light_nodes: LIGHT,
      timed_light_nodes: timed,
      full_nodes: FULL,
      rate: RATE,
      seconds: SECONDS,
      tx_bytes: SIZE,
      txs: published.size,
      // bodies the relay could not get from the publishers in time (a saturated machine, not the relay's doing)
      relay_fetch_given_up: fetcher.givenUp,
      coverage: all === 0 ? null : +(pairs / all).toFixed(4),
      listed_within_1s: all === 0 ? null : +(within1s / all).toFixed(4),
      t_list_p50_ms: +percentile(latencies, 0.5).toFixed(1),
      t_list_p99_ms: +percentile(latencies, 0.99).toFixed(1),
      // the two halves of t_list: publish → the relay stores it; the relay stores it → a light node lists it
      t_relay_p50_ms: +percentile(relayLatencies, 0.5).toFixed(1),
      t_relay_p99_ms: +percentile(relayLatencies, 0.99).toFixed(1),
      t_feed_p50_ms: +percentile(feedLatencies, 0.5).toFixed(1),
      t_feed_p99_ms: +percentile(feedLatencies, 0.99).toFixed(1),
      relay_cpu_ms_per_s: +cpuMsPerS.toFixed(1),
      relay_bytes_out_per_light_per_tx: LIGHT * published.size === 0 ? null : +(bytes / (LIGHT * published.size)).toFixed(1),
      ...(Object.keys(byProtocol).length === 0 || LIGHT * published.size === 0 ? {} : { bytes_per_light_per_tx_by_protocol: Object.fromEntries(Object.entries(byProtocol).map(([p, b]) => [p, +(b / (LIGHT * published.size)).toFixed(1)])) }),
      relay_rss_mb: +(peakRss / 2 ** 20).toFixed(1),
      light_per_core_at_100_tx_s: LIGHT === 0 || baselineCpu === undefined ? null : perCore(cpuMsPerS, baselineCpu, LIGHT),
      // the other processes on the machine: when relay + these near its cores × 1000, latency measures the machine
      full_procs_cpu_ms_per_s: +fullReport.cpuMsPerS.toFixed(1),
      light_procs_cpu_ms_per_s: +lightCpuMsPerS.toFixed(1),
      machine_cores: availableParallelism(),
      ...(mode !== 'gossipsub' ? { feed: relay.libp2p.services.feedServer?.stats() } : { relay_mesh_peers: relay.libp2p.services.pubsub.getMeshPeers(relay.net.ids.txTopic).length })
    }
  } finally {
    for (const w of workers) w.proc.send({ type: 'stop' })
    await Promise.all(workers.map(async w => await new Promise(resolve => { if (w.proc.exitCode !== null) resolve(undefined); else w.proc.once('exit', resolve) })))
    await relay.stop()
  }
}

/**
 * Light nodes per core at 100 tx/s from the cost above the baseline (see the
 * header); null when the run cost no more than the baseline (the light nodes'
 * share is below run-to-run noise: see feed-raw, at a larger count).
 */
function perCore (cpuMsPerS: number, baselineMsPerS: number, light: number): number | null {
  if (cpuMsPerS <= baselineMsPerS) return null
  const perLightAt100 = (cpuMsPerS - baselineMsPerS) / light * (100 / Math.max(RATE, 1e-6))
  const fixedAt100 = baselineMsPerS * (100 / Math.max(RATE, 1e-6))
  return Math.round(Math.max(0, 1000 - fixedAt100) / perLightAt100)
}

for (const mode of MODES) if (mode !== 'feed' && mode !== 'gossipsub' && mode !== 'feed-raw') throw new RangeError(`unknown mode ${String(mode)}`)
const baseline = await run('feed', 0, undefined)
console.log(JSON.stringify({ ...baseline, mode: 'no-light-nodes' }))
for (const mode of MODES) console.log(JSON.stringify(await run(mode, mode === 'feed-raw' ? RAW : LIGHT, baseline.relay_cpu_ms_per_s as number)))
