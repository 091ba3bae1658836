import { fork, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger, defaults, runNode, type NodeConfig, type RunningNode } from '../../node/index.ts'
import type { BuiltTx } from '../../src/index.ts'
import { NO_BROWSER, ensureWebBuilt, launchChromium, removeDir, tempDir, waitUntil, WEB_DIR } from '../helpers/browser.ts'
import { seeded } from '../helpers/seeded.ts'
import { makeTx } from '../helpers/txs.ts'
import { recordFigure } from '../helpers/figures.ts'
import type { LightReport, LightWorkerInit } from './feed-faults/light-worker.ts'

/**
 * Fault injection on the light feed (issue 20): a relay (`runNode`, in this
 * process, so its streams and connections can be broken from here) serves
 * Node light nodes (a child process, so a relay stall does not stall them)
 * and Chromium tabs, at 20 tx/s for 60 s, while it resets feed streams,
 * closes connections, stalls (its event loop blocked) and restarts, at
 * random (seeded). At the end every light node and tab lists exactly the
 * relay's pool, and every feed that ended was live again within
 * RECOVERY_BOUND_MS of the relay being reachable (the distribution printed).
 */
const STRESS = process.env.LIGHTPOOL_STRESS === '1'
const RUN_MS = 60_000
const RATE = 20
const LIGHT_NODES = STRESS ? 24 : 12
const TABS = STRESS ? 6 : 3
const FAULT_EVERY_MS = 5_000
const STALL_MS = 2_500
/**
 * The issue's bound: after the relay is reachable again, the feed is live
 * within 5 s, asserted at the normal scale. At stress scale (24 light nodes
 * and 6 tabs beside the relay on 2 cores) the machine is the limit (runs
 * measured max 5.6 s and 9.8 s): there every feed must still come back and
 * every pool match, and the recovery times are a figure, printed.
 */
const RECOVERY_BOUND_MS = 5_000
const SEED = Number(process.env.LIGHTPOOL_SEED ?? Date.now() % 100_000)

type Fault = 'reset-streams' | 'close-connections' | 'stall' | 'restart'
interface FaultRecord { kind: Fault, at: number, backAt: number, hit: number }

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

/** Per subscriber: each end, and how long after the relay was reachable again the feed was live. */
function recoveries (history: Array<{ at: number, event: string }>, faults: FaultRecord[], until: number): { ms: number[], unrecovered: number } {
  const events = [...history].sort((a, b) => a.at - b.at)
  const ms: number[] = []
  let unrecovered = 0
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.event !== 'ended') continue
    // an end before a later end with no live between is the same outage: count it once
    const next = events.slice(i + 1).find(e => e.event === 'ended' || e.event === 'snapshot' || e.event === 'resumed')
    if (next?.event === 'ended') continue
    const endAt = events[i]!.at
    // the relay was not reachable while it restarted or stalled: count from when it was back
    const covering = faults.filter(f => (f.kind === 'restart' || f.kind === 'stall') && endAt >= f.at - 50 && endAt <= f.backAt)
    const back = Math.max(endAt, ...covering.map(f => f.backAt))
    if (next === undefined) {
      if (until - back > RECOVERY_BOUND_MS) unrecovered++
      continue
    }
    ms.push(Math.max(0, next.at - back))
  }
  return { ms, unrecovered }
}

function quantile (sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

describe.skipIf(NO_BROWSER)('light feed under injected faults: resets, closed connections, stalls, restarts (Node light nodes and Chromium tabs)', () => {
  const dataDir = tempDir('lightpool-feed-faults-')
  let running: RunningNode | undefined
  let worker: ChildProcess | undefined
  let browser: Browser | undefined
  const contexts: BrowserContext[] = []
  afterAll(async () => {
    worker?.kill('SIGKILL')
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await running?.stop().catch(() => {})
    removeDir(dataDir)
  })

  it(`every light node and tab ends with the relay's pool, each feed back${STRESS ? '' : ` ≤ ${RECOVERY_BOUND_MS} ms after the relay is back`}`, async () => {
    await ensureWebBuilt()
    const random = seeded(SEED)
    console.log(`feed faults: seed ${SEED} (LIGHTPOOL_SEED=${SEED} repeats it)`)
    const config: NodeConfig = {
      ...defaults(),
      dataDir,
      network: 'feedfaults',
      host: '127.0.0.1',
      tcpPort: await freePort(),
      wsPort: await freePort(),
      httpPort: await freePort(),
      minPeers: 0,
      relayUnlimited: true,
      rpcRateLimit: 100_000,
      webDir: WEB_DIR,
      logLevel: 'warn'
    }
    const log = createLogger('warn')
    const start = async (): Promise<RunningNode> => await runNode(config, log)
    running = await start()
    const relayPeer = running.node.peerId.toString()
    const relayTcp = `/ip4/127.0.0.1/tcp/${config.tcpPort}/p2p/${relayPeer}`

    // the load, signed up front: 20 tx/s for the whole run
    const txs: BuiltTx[] = []
    for (let i = 0; i < RATE * RUN_MS / 1000; i++) txs.push(await makeTx({ fee: BigInt(10 + (i % 500)), expiresAt: Date.now() + 30 * 60_000 }))

    // Node light nodes, in a process of their own
    const init: LightWorkerInit = { count: LIGHT_NODES, relay: relayTcp, relayPeer, network: config.network }
    const child = fork(join(import.meta.dirname, 'feed-faults/light-worker.ts'), [JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    worker = child
    const fromWorker = async <T>(type: string): Promise<T> => await new Promise((resolve, reject) => {
      const on = (msg: { type: string, message?: string }): void => {
        if (msg.type === 'error') { child.off('message', on); reject(new Error(msg.message)) }
        if (msg.type === type) { child.off('message', on); resolve(msg as T) }
      }
      child.on('message', on)
    })
    await fromWorker('ready')

    // Chromium tabs on the relay's observer page, their feed history polled (a tab keeps its last 32 events)
    browser = await launchChromium()
    const pages: Page[] = []
    for (let i = 0; i < TABS; i++) {
      const context = await browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      await page.goto(`${running.httpUrl}/`, { waitUntil: 'domcontentloaded' })
      pages.push(page)
    }
    type TabStats = Array<{ state: string, history: Array<{ at: number, event: string, reason?: string }> }>
    const tabFeeds = async (page: Page): Promise<TabStats> => await page.evaluate(() => window.lightpoolObserver?.node?.feedStats() ?? [])
    await waitUntil(async () => (await Promise.all(pages.map(tabFeeds))).every(f => f[0]?.state === 'live'), 60_000, 'every tab to follow the relay\'s feed')
    const tabHistory = pages.map(() => new Map<string, { at: number, event: string, reason?: string }>())
    const pollTabs = async (): Promise<void> => {
      await Promise.all(pages.map(async (p, i) => {
        const feeds = await tabFeeds(p).catch(() => [] as TabStats)
        for (const e of feeds[0]?.history ?? []) tabHistory[i]!.set(`${e.at}:${e.event}`, e)
      }))
    }

    // the run: txs at RATE, a fault every ~FAULT_EVERY_MS, every kind at least once
    const faults: FaultRecord[] = []
    const kinds: Fault[] = ['reset-streams', 'close-connections', 'stall', 'restart']
    const plan: Fault[] = []
    const rounds = Math.floor(RUN_MS / FAULT_EVERY_MS) - 1
    for (let i = 0; i < rounds; i++) plan.push(i < kinds.length ? kinds[i]! : kinds[Math.floor(random() * kinds.length)]!)
    // shuffled within the first kinds.length (each kind once, in random order) and within the rest:
    // the run stops adding faults 3 s before its end, and on a slow machine (restarts take seconds)
    // a kind shuffled to the end was cut (a clean-clone CI run: 3 of the 4 kinds done)
    const shuffle = (from: number, to: number): void => {
      for (let i = to - 1; i > from; i--) {
        const j = from + Math.floor(random() * (i - from + 1))
        ;[plan[i], plan[j]] = [plan[j]!, plan[i]!]
      }
    }
    shuffle(0, kinds.length)
    shuffle(kinds.length, plan.length)
    let sent = 0
    let refusedWhileDown = 0
    let down = false
    const runStart = Date.now()
    const sender = (async () => {
      for (let i = 0; i < txs.length; i++) {
        const due = runStart + i * 1000 / RATE
        if (due > Date.now()) await new Promise(resolve => setTimeout(resolve, due - Date.now()))
        const node = running?.node
        if (down || node === undefined) { refusedWhileDown++; continue }
        const r = await node.submitTx(txs[i]!.bytes).catch(() => undefined)
        if (r?.status === 'added') sent++
      }
    })()
    const poller = setInterval(() => { void pollTabs() }, 1_000)
    try {
      for (const kind of plan) {
        await new Promise(resolve => setTimeout(resolve, FAULT_EVERY_MS * (0.7 + 0.6 * random())))
        if (Date.now() - runStart > RUN_MS - 3_000) break
        const node = running.node
        const at = Date.now()
        let hit = 0
        if (kind === 'reset-streams') {
          for (const conn of node.libp2p.getConnections()) {
            for (const s of conn.streams) if (s.protocol === node.net.ids.feed && random() < 0.6) { s.abort(new Error('fault: feed stream reset')); hit++ }
          }
        } else if (kind === 'close-connections') {
          for (const conn of node.libp2p.getConnections()) if (random() < 0.4) { conn.abort(new Error('fault: connection closed')); hit++ }
        } else if (kind === 'stall') {
          // the relay's process does nothing for STALL_MS (a long GC, a swapped-out VM)
          const until = Date.now() + STALL_MS
          while (Date.now() < until) { /* stalled */ }
          hit = node.libp2p.getConnections().length
        } else {
          down = true
          await running.stop()
          running = undefined
          await new Promise(resolve => setTimeout(resolve, 500 + 1_000 * random()))
          running = await start()
          down = false
          hit = -1
        }
        faults.push({ kind, at, backAt: Date.now(), hit })
      }
      await sender
    } finally {
      clearInterval(poller)
    }
    const runEnd = Date.now()

    // afterwards: every light node and every tab lists exactly the relay's pool
    const relayPool = (): string[] => [...running!.node.pool.best()].map(tx => tx.hash).sort()
    const report = async (): Promise<LightReport[]> => {
      child.send({ type: 'report' })
      return (await fromWorker<{ nodes: LightReport[] }>('report')).nodes
    }
    const tabPool = async (p: Page): Promise<string[]> => await p.evaluate(() => [...window.lightpoolObserver!.node!.pool.best()].map(tx => tx.hash).sort())
    const settled = async (): Promise<boolean> => {
      const want = relayPool().join()
      const lights = await report()
      const tabs = await Promise.all(pages.map(tabPool))
      return lights.every(l => l.pool.join() === want) && tabs.every(t => t.join() === want)
    }
    await waitUntil(settled, 30_000, 'every light node and tab to list the relay\'s pool').catch(() => {})
    await pollTabs()
    const lights = await report()
    const want = relayPool()
    const tabs = await Promise.all(pages.map(tabPool))

    const all: number[] = []
    let unrecovered = 0
    for (const l of lights) {
      const r = recoveries(l.history, faults, runEnd)
      all.push(...r.ms)
      unrecovered += r.unrecovered
    }
    for (const h of tabHistory) {
      const r = recoveries([...h.values()], faults, runEnd)
      all.push(...r.ms)
      unrecovered += r.unrecovered
    }
    all.sort((a, b) => a - b)
    const summary = {
      seed: SEED,
      faults: faults.map(f => f.kind).join(','),
      relay_txs: want.length,
      sent,
      skipped_while_down: refusedWhileDown,
      recoveries: all.length,
      p50_ms: quantile(all, 0.5),
      p90_ms: quantile(all, 0.9),
      p99_ms: quantile(all, 0.99),
      max_ms: all.at(-1) ?? 0,
      unrecovered
    }
    console.log(`feed faults: ${JSON.stringify(summary)}`)
    console.log(`feed faults: recovery ms, sorted: ${all.join(' ')}`)
    recordFigure('feed faults', `${LIGHT_NODES} light nodes + ${TABS} tabs, ${RUN_MS / 1000} s at ${RATE} tx/s`, summary)

    expect(want.length).toBeGreaterThan(RATE * RUN_MS / 1000 * 0.5)
    for (const l of lights) expect(l.pool, `light node ${l.peer}`).toEqual(want)
    for (const [i, t] of tabs.entries()) expect(t, `tab ${i}`).toEqual(want)
    // every kind of fault ended some feeds, and each came back
    expect(new Set(faults.map(f => f.kind))).toEqual(new Set(kinds))
    expect(all.length).toBeGreaterThan(LIGHT_NODES)
    expect(unrecovered).toBe(0)
    if (!STRESS) expect(summary.max_ms).toBeLessThanOrEqual(RECOVERY_BOUND_MS)
  }, 240_000)
})
