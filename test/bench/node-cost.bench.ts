/**
 * npm run bench:node-cost [-- --nodes 10 --seconds 60 --warmup 10 --load-rate 0 --size 40000 --baseline]
 *
 * What one `lightpool node` process costs at rest, and under load: N real
 * node processes (full nodes, TCP on loopback, the first min(3, N) the
 * bootnodes of the rest, each on its own data dir), started as an operator
 * would start them, connected to each other, then left alone for `seconds`
 * (or fed `--load-rate` tx/s of `--size` bytes over JSON-RPC, spread over
 * the nodes). Each node's CPU and memory come from the kernel, not the
 * process: /proc/PID/stat (utime + stime) at the start and end of each
 * 30 s window, /proc/PID/status (VmRSS, RssAnon, RssFile) at the end.
 *
 * Per node, one line: peers, CPU % of one core (mean over the windows, and
 * the windows' range), RSS (anonymous: heap and native allocations; file:
 * the node binary's and libraries' pages, LMDB's map). Then one JSON line:
 *   {"bench":"node-cost","variant":"current"|"baseline",nodes,seconds,load_rate,
 *    cpu_pct_mean,cpu_pct_max,rss_mb_mean,rss_mb_max,rss_anon_mb_mean,peers_min,...}
 *
 * --baseline runs the same measurement first on the code of BASELINE_COMMIT
 * (the tree before issue 22's idle-cost changes, extracted with `git archive`
 * into a temporary directory that uses this repository's node_modules), then
 * on the working tree, and prints both. Without it, the figures measured on
 * that commit (BASELINE_FIGURES, with their date) are printed beside.
 *
 * --bin measures another build of the command instead (e.g. a built
 * dist/js/node/cli/bin.js: what an installed package runs, without Node's
 * TypeScript stripping).
 *
 * --node-arg passes an option to each node's Node.js runtime (repeatable),
 * e.g. --node-arg=--cpu-prof --node-arg=--cpu-prof-dir=/tmp/prof: the
 * profiles are written when the bench stops the nodes (SIGTERM, a clean stop).
 *
 * Targets (issue 22): 100 nodes beside the load on 2 cores and 24 GiB, so an
 * idle node well under 1 % of a core and under 100 MB RSS. On a machine
 * others are using, the CPU figures are noisy: repeat, read ranges.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { sendTxsCounted } from '../helpers/browser.ts'
import { removeDir, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** The commit before the idle-cost changes of issue 22: what --baseline measures. */
const BASELINE_COMMIT = '8285eede015798fa69c148d7bf4325b9fdb34dd3'

/**
 * That commit's figures, measured with this bench on this 2-core machine
 * (shared with other work, so ranges): `--nodes 1` and `--nodes 6` (5 peers
 * each), 60–90 s idle.
 */
const BASELINE_FIGURES = Object.freeze({
  date: '2026-12-04',
  commit: BASELINE_COMMIT.slice(0, 7),
  alone: { cpu_pct: '0.6–1.1', rss_mb: '124–128' },
  // --nodes 6 --seconds 90 --warmup 60 --baseline, 2026-12-04: current 0.94 % (max window 1.07), rss 132.1, pss 81.3
  five_peers: { cpu_pct: 1.66, cpu_pct_max: 1.87, rss_mb: 136.5, pss_mb: 85.7 }
})

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    // after every node has its peers: startup's JIT, GC and first syncs are not idle cost, and the
    // peer keeper's rounds back off to their longest wait (5 → 120 s) in about 2.5 min
    warmup: { type: 'string', default: '60' },
    'load-rate': { type: 'string', default: '0' },
    size: { type: 'string', default: '40000' },
    baseline: { type: 'boolean', default: false },
    'baseline-commit': { type: 'string', default: BASELINE_COMMIT },
    'node-arg': { type: 'string', multiple: true, default: [] },
    // another tree's node/cli/bin.ts (or a build's dist/js/node/cli/bin.js) to measure instead of this one
    bin: { type: 'string' },
    // compile each variant to JavaScript and run that, as the installed package does (no TypeScript stripping at run time)
    built: { type: 'boolean', default: false },
    // writes each node's stderr and JSON log lines there at the end (node-<i>.stderr, node-<i>.log)
    logs: { type: 'string' },
    // the peers each node waits for: min(nodes - 1, this); the node's own --min-peers default is 6
    peers: { type: 'string', default: '6' }
  }
})
const NODES = Number(args.nodes)
const SECONDS = Number(args.seconds)
const WARMUP = Number(args.warmup)
const LOAD_RATE = Number(args['load-rate'])
const SIZE = Number(args.size)
const WANT_PEERS = Math.min(NODES - 1, Number(args.peers))
const WINDOW_S = 30
if (!(NODES >= 1) || !(SECONDS >= WINDOW_S) || !(WARMUP >= 0) || !(LOAD_RATE >= 0) || !(SIZE > 0)) {
  throw new Error(`--nodes ≥ 1, --seconds ≥ ${WINDOW_S}, --warmup ≥ 0, --load-rate ≥ 0, --size > 0`)
}
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

interface ProcSample { cpuTicks: number, rssKb: number, anonKb: number, fileKb: number, pssKb: number }

/** utime + stime from /proc/PID/stat (fields 14, 15; the command name may hold spaces, so count from its closing paren). */
function sample (pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuTicks = Number(fields[11]) + Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  // PSS shares each page among the processes mapping it: the node binary's pages count once across all the nodes
  const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN)
  return { cpuTicks, rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), fileKb: kb('RssFile'), pssKb: pss }
}

/**
 * The command to run: `commit`'s tree extracted into a temporary directory
 * (using this repository's node_modules), or this working tree; with
 * `built`, compiled to JavaScript first (npm run build:js's settings, into the
 * temporary directory), as the installed package runs it.
 */
function prepare (commit: string | undefined, built: boolean): { bin: string | undefined, cleanup: () => void } {
  if (commit === undefined && !built) return { bin: undefined, cleanup: () => {} }
  const dir = tempDir('lightpool-cost-code-')
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  let tree = ROOT
  if (commit !== undefined) {
    execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${commit}" node src package.json tsconfig.json tsconfig.build.json | tar -x -C "${dir}"`])
    tree = dir
  } else {
    // the build finds the package root (dist/web for the observer page) by its package.json
    writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')))
  }
  if (!built) return { bin: join(tree, 'node/cli/bin.ts'), cleanup: () => { removeDir(dir) } }
  // type errors (another engineer's edit in progress) do not stop the emit; what runs is what was emitted
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(tree, 'tsconfig.build.json'), '--outDir', join(dir, 'dist/js'), '--rootDir', tree, '--declaration', 'false', '--sourceMap', 'false', '--inlineSources', 'false'], { stdio: 'ignore' })
  } catch {}
  return { bin: join(dir, 'dist/js/node/cli/bin.js'), cleanup: () => { removeDir(dir) } }
}

async function peerCount (node: NodeProcess): Promise<number> {
  const peers = await node.call<Array<{ peerId: string }>>('p2p_getPeers')
  return new Set(peers.map(p => p.peerId)).size
}

async function waitFor (what: string, ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  process.stderr.write(`⚠ ${what}: not reached in ${ms / 1000} s, measuring anyway\n`)
  return false
}

interface NodeFigures { peers: number, cpuPct: number[], rssMb: number, anonMb: number, fileMb: number, pssMb: number }

async function measure (variant: 'current' | 'baseline', bin?: string): Promise<Record<string, unknown>> {
  const nodes: NodeProcess[] = []
  const dirs: string[] = []
  const start = async (bootstrap: string[]): Promise<NodeProcess> => {
    const dataDir = tempDir('lightpool-cost-')
    dirs.push(dataDir)
    const node = await startNodeProcess({
      dataDir,
      network: 'cost',
      ...(bin === undefined ? {} : { bin }),
      nodeArgs: args['node-arg'],
      readyTimeoutMs: 60_000,
      args: [...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : []), '--rpc-rate-limit', '100000']
    })
    nodes.push(node)
    return node
  }
  try {
    // the first bootnode alone, the other bootnodes through it (as a real network's know each other), then the rest through all of them
    const first = await start([])
    const boots = [first, ...await Promise.all(Array.from({ length: Math.min(3, NODES) - 1 }, async () => await start([first.tcpAddr])))]
    const bootAddrs = boots.map(b => b.tcpAddr)
    // two at a time: ten starting at once on 2 cores take longer than in turn
    for (let i = boots.length; i < NODES; i += 2) await Promise.all([start(bootAddrs), ...(i + 1 < NODES ? [start(bootAddrs)] : [])])
    await waitFor(`every node with ${WANT_PEERS} peers`, 90_000, async () => (await Promise.all(nodes.map(peerCount))).every(n => n >= WANT_PEERS))
    await new Promise(resolve => setTimeout(resolve, WARMUP * 1000))

    const load = LOAD_RATE > 0 ? startLoad(nodes) : undefined
    const figures: NodeFigures[] = nodes.map(() => ({ peers: 0, cpuPct: [], rssMb: 0, anonMb: 0, fileMb: 0, pssMb: 0 }))
    let before = nodes.map(n => sample(n.proc.pid!))
    for (let t = 0; t + WINDOW_S <= SECONDS; t += WINDOW_S) {
      await new Promise(resolve => setTimeout(resolve, WINDOW_S * 1000))
      const after = nodes.map(n => sample(n.proc.pid!))
      after.forEach((s, i) => {
        const f = figures[i]!
        f.cpuPct.push((s.cpuTicks - before[i]!.cpuTicks) / TICKS_PER_S / WINDOW_S * 100)
        f.rssMb = s.rssKb / 1024
        f.anonMb = s.anonKb / 1024
        f.fileMb = s.fileKb / 1024
        f.pssMb = s.pssKb / 1024
      })
      before = after
    }
    const peers = await Promise.all(nodes.map(peerCount))
    peers.forEach((p, i) => { figures[i]!.peers = p })
    const sent = load === undefined ? undefined : await load.stop()

    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const r1 = (x: number): number => Math.round(x * 10) / 10
    const r2 = (x: number): number => Math.round(x * 100) / 100
    const label = `${variant === 'baseline' ? args['baseline-commit'].slice(0, 7) : args.bin ?? 'working tree'}${args.built ? ', built' : ''}`
    process.stdout.write(`\n${variant} (${label}): ${NODES} node(s), ${SECONDS} s ${LOAD_RATE > 0 ? `at ${LOAD_RATE} tx/s of ${SIZE} B` : 'idle'}\n`)
    figures.forEach((f, i) => {
      process.stdout.write(`  node ${String(i).padStart(2)}  peers ${String(f.peers).padStart(2)}  cpu ${mean(f.cpuPct).toFixed(2)} % (${Math.min(...f.cpuPct).toFixed(2)}–${Math.max(...f.cpuPct).toFixed(2)} per ${WINDOW_S} s)  rss ${f.rssMb.toFixed(0)} MB (anon ${f.anonMb.toFixed(0)}, file ${f.fileMb.toFixed(0)}; pss ${f.pssMb.toFixed(0)})\n`)
    })
    const cpu = figures.map(f => mean(f.cpuPct))
    return {
      bench: 'node-cost',
      variant,
      code: label,
      nodes: NODES,
      seconds: SECONDS,
      load_rate: LOAD_RATE,
      ...(LOAD_RATE > 0 ? { size: SIZE, sent } : {}),
      cpu_pct_mean: r2(mean(cpu)),
      cpu_pct_max: r2(Math.max(...figures.flatMap(f => f.cpuPct))),
      rss_mb_mean: r1(mean(figures.map(f => f.rssMb))),
      rss_mb_max: r1(Math.max(...figures.map(f => f.rssMb))),
      rss_anon_mb_mean: r1(mean(figures.map(f => f.anonMb))),
      rss_file_mb_mean: r1(mean(figures.map(f => f.fileMb))),
      pss_mb_mean: r1(mean(figures.map(f => f.pssMb))),
      peers_min: Math.min(...peers),
      peers_mean: r1(mean(peers))
    }
  } finally {
    await Promise.all(nodes.map(async n => { if (n.proc.exitCode === null) await n.stop() }))
    if (args.logs !== undefined) {
      mkdirSync(args.logs, { recursive: true })
      nodes.forEach((n, i) => {
        writeFileSync(join(args.logs!, `${variant}-node-${i}.stderr`), n.stderr())
        writeFileSync(join(args.logs!, `${variant}-node-${i}.log`), n.logs.map(l => JSON.stringify(l)).join('\n'))
      })
    }
    for (const d of dirs) removeDir(d)
  }
}

/** `lightpool send` processes, one per node up to 4, sharing the rate, for the whole measurement. */
function startLoad (nodes: NodeProcess[]): { stop: () => Promise<{ accepted: number, failed: number }> } {
  const senders = Math.min(4, nodes.length)
  const rate = Math.max(1, Math.round(LOAD_RATE / senders))
  const count = rate * (SECONDS + 5)
  const runs = Array.from({ length: senders }, async (_, i) =>
    await sendTxsCounted(nodes[Math.floor(i * nodes.length / senders)]!.info.rpc, { count, rate, size: SIZE, nice: 10 }))
  return {
    stop: async () => {
      const done = await Promise.all(runs)
      return { accepted: done.reduce((a, r) => a + r.accepted, 0), failed: done.reduce((a, r) => a + r.failed, 0) }
    }
  }
}

const results: Array<Record<string, unknown>> = []
for (const variant of args.baseline ? ['baseline', 'current'] as const : ['current'] as const) {
  const code = variant === 'current' && args.bin !== undefined
    ? { bin: args.bin, cleanup: () => {} }
    : prepare(variant === 'baseline' ? args['baseline-commit'] : undefined, args.built)
  try {
    results.push(await measure(variant, code.bin))
  } finally {
    code.cleanup()
  }
}
process.stdout.write('\n')
for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`)
if (!args.baseline) process.stdout.write(`${JSON.stringify({ bench: 'node-cost', variant: 'recorded-baseline', ...BASELINE_FIGURES })}\n`)
