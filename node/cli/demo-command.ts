import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { Command, Option } from 'commander'
import { packageRoot } from '../package-root.ts'

/**
 * `lightpool demo` (`npm run demo`): a small local network that has
 * something to show — one relay (which serves the observer page), a few full
 * nodes peered through it, and a load generator: `lightpool send` loops at
 * three fee bands (many cheap txs, fewer mid, a few dear ones) spread over
 * the full nodes, with expiries short enough that the pool turns over. The
 * histogram, the projected rollups and the fee estimate then move. Prints
 * the observer URL; Ctrl-C stops everything and removes the data.
 */
/** The folder holding package.json: the repository, or the installed package. */
const ROOT = packageRoot()
/** This command's own entry, beside this file: bin.ts in the repository, bin.js in the installed package. */
const BIN = join(import.meta.dirname, `bin${extname(import.meta.filename)}`)

/**
 * The demo's load: each band is one `lightpool send` loop. Shares of the
 * total rate and fee ranges are chosen so the fee histogram has three humps
 * and the next rollup is contested by the dear band.
 */
const DEMO_FEE_BANDS = Object.freeze([
  { name: 'cheap', share: 0.6, fee: '10-400', expiresIn: 120 },
  { name: 'mid', share: 0.3, fee: '800-6000', expiresIn: 300 },
  { name: 'dear', share: 0.1, fee: '20000-90000', expiresIn: 600 }
])

interface DemoOptions {
  nodes: number
  rate: number
  size: number
  httpPort: number
  seconds?: number
}

interface Ready { peerId: string, multiaddrs: string[], rpc: string, observer: string }

const children = new Set<ChildProcess>()

function nodeArgs (dataDir: string, httpPort: number, bootstrap: string[]): string[] {
  return [BIN, 'node', '--data-dir', dataDir, '--network', 'demo', '--host', '127.0.0.1',
    '--tcp-port', '0', '--ws-port', '0', '--http-port', String(httpPort), '--min-peers', '2',
    // the load generator runs on this machine: one address sends everything
    '--rpc-rate-limit', '100000', '--relay-unlimited', '--log-level', 'info',
    ...bootstrap.flatMap(b => ['--bootstrap', b])]
}

async function startNode (args: string[]): Promise<Ready> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(proc)
  proc.once('exit', () => { children.delete(proc) })
  return await new Promise<Ready>((resolve, reject) => {
    proc.once('exit', (code) => { reject(new Error(`a demo node exited with ${code} before it was ready`)) })
    createInterface({ input: proc.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Ready & { msg?: string }
        if (entry.msg?.startsWith('lightpool node ready') === true) resolve(entry)
      } catch {}
    })
  })
}

/** One fee band's sender, restarted each time it has sent a minute's worth, until the demo stops. */
function sendLoop (rpc: string, rate: number, band: typeof DEMO_FEE_BANDS[number], size: number, stopped: () => boolean): void {
  if (stopped()) return
  const count = Math.max(1, Math.round(rate * 60))
  const proc = spawn(process.execPath, [BIN, 'send', '--rpc', rpc, '--count', String(count), '--rate', String(Math.max(1, Math.round(rate))),
    '--size', String(size), '--fee', band.fee, '--expires-in', String(band.expiresIn), '--concurrency', '4'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  children.add(proc)
  proc.once('exit', () => {
    children.delete(proc)
    setTimeout(() => { sendLoop(rpc, rate, band, size, stopped) }, 200)
  })
}

/** How long the demo waits for its full nodes to connect to the relay before it starts the load anyway. */
const PEERING_TIMEOUT_MS = 30_000

/** Waits until the relay is connected to every full node, so the first txs already travel. */
async function waitForPeers (rpc: string, peerIds: string[]): Promise<void> {
  const deadline = Date.now() + PEERING_TIMEOUT_MS
  while (Date.now() < deadline) {
    try {
      const res = await fetch(rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'p2p_getPeers', params: [] }) })
      const peers = (await res.json() as { result?: Array<{ peerId: string }> }).result ?? []
      if (peerIds.every(id => peers.some(p => p.peerId === id))) return
    } catch {}
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  process.stderr.write('lightpool demo: not every full node connected to the relay in 30 s; starting the load anyway\n')
}

async function ensureBuilt (): Promise<void> {
  if (existsSync(join(ROOT, 'dist/web/index.html'))) return
  process.stderr.write('building the observer page (npm run build:web)…\n')
  const { build } = await import('vite')
  await build({ configFile: join(ROOT, 'vite.config.ts'), mode: 'web', logLevel: 'warn' })
}

async function demo (opts: DemoOptions): Promise<void> {
  await ensureBuilt()
  const base = mkdtempSync(join(tmpdir(), 'lightpool-demo-'))
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    for (const c of children) c.kill('SIGTERM')
    await new Promise(resolve => setTimeout(resolve, 1500))
    rmSync(base, { recursive: true, force: true })
  }
  process.once('SIGINT', () => { void stop().then(() => process.exit(0)) })
  process.once('SIGTERM', () => { void stop().then(() => process.exit(0)) })
  try {
    const relay = await startNode(nodeArgs(join(base, 'relay'), opts.httpPort, []))
    const tcp = relay.multiaddrs.find(a => !a.includes('/ws'))!
    const full = await Promise.all(Array.from({ length: opts.nodes }, async (_, i) => await startNode(nodeArgs(join(base, `node-${i}`), 0, [tcp]))))
    await waitForPeers(relay.rpc, full.map(n => n.peerId))
    const targets = full.length > 0 ? full : [relay]
    DEMO_FEE_BANDS.forEach((band, i) => {
      sendLoop(targets[i % targets.length]!.rpc, opts.rate * band.share, band, opts.size, () => stopping)
    })
    process.stdout.write(`${JSON.stringify({ msg: 'lightpool demo running', observer: relay.observer, relayRpc: relay.rpc, fullNodes: full.map(n => n.rpc), rate: opts.rate, bands: DEMO_FEE_BANDS })}\n`)
    process.stderr.write(`\n  lightpool demo: 1 relay + ${full.length} full nodes, ${opts.rate} tx/s at three fee bands\n\n  Open the observer:  ${relay.observer}\n\n  Ctrl-C stops it.\n\n`)
    if (opts.seconds !== undefined) {
      await new Promise(resolve => setTimeout(resolve, opts.seconds! * 1000))
      const status = await fetch(relay.rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_feeEstimate', params: [] }) })
      process.stdout.write(`${JSON.stringify({ msg: 'lightpool demo stopped', relayFeeEstimate: (await status.json() as { result: unknown }).result })}\n`)
      await stop()
    } else {
      await new Promise(() => {})
    }
  } catch (err) {
    await stop()
    throw err
  }
}

export function demoCommand (): Command {
  const positive = (name: string) => (v: string): number => {
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`)
    return n
  }
  return new Command('demo')
    .description('a local network with something to show: a relay serving the observer page, full nodes, and txs at varied fees. Prints the observer URL.')
    .addOption(new Option('--nodes <n>', 'full nodes besides the relay').default(3).argParser(positive('--nodes')))
    .addOption(new Option('--rate <tx/s>', 'total txs per second over all fee bands').default(10).argParser(positive('--rate')))
    .addOption(new Option('--size <bytes>', 'encoded size of each tx').default(40_000).argParser(positive('--size')))
    .addOption(new Option('--http-port <port>', 'the relay\'s HTTP port (the observer URL)').default(8080).argParser(positive('--http-port')))
    .addOption(new Option('--seconds <s>', 'stop after this long (default: run until Ctrl-C)').argParser(positive('--seconds')))
    .action(async (opts: DemoOptions) => { await demo(opts) })
}
