import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_BROWSER, ensureWebBuilt, launchChromium, removeDir, sendTxsCounted, startRelayNode, waitUntil, watchConsole, type TestNode } from '../helpers/browser.ts'
import { startCpuHog, type CpuHog } from '../helpers/cpu-hog.ts'

/**
 * The issue's scene: people open one node's observer page, each in their own
 * browser profile (a separate context: own storage, own key), and txs are
 * submitted over the node's JSON-RPC. Through gossipsub alone, 9 of 20 such
 * tabs saw none; through the feed every tab lists every tx, and drops one the
 * node marks mined.
 *
 * It runs twice: on a quiet machine, and with one of the two cores kept busy
 * by another program for the whole test (a laptop compiling, a phone in
 * power-save). On the busy machine 7 of 20 tabs once ended up empty: their
 * feed ended under them ("The connection muxer is closed") while the relay
 * connection looked open, and nothing subscribed again.
 */
const TABS = Number(process.env.LIGHTPOOL_TABS ?? 20)
/**
 * `npm test` runs it after the parallel suite, on its own
 * (`npm run test:many-tabs`): 20 Chromium renderers beside 60 other test
 * files on a 2-core CI machine starve each other, and what is then measured
 * is the machine, not the feed. (Inside the parallel suite, the tabs' fixed
 * 10 s liveness pings cut every relay connection; liveness now adapts its
 * wait to each connection's round trips and asks twice.)
 */
const MANY_TABS = process.env.LIGHTPOOL_MANY_TABS === '1'
/**
 * `npm test` runs the quiet scene (`npm run test:many-tabs`); the busy one is
 * `npm run test:many-tabs:busy`. It is out of the gate until it passes five
 * runs in a row (issue 20): on 2026-12-04 it passed 4 of 5 here and failed in
 * a clean-clone CI run, where tabs cut off by a load spike while the last
 * ones opened did not all get back through the starved relay's handshakes
 * within 90 s (docs/measurements.md, "Tabs on a busy machine").
 */
const SCENES = (process.env.LIGHTPOOL_MANY_TABS_SCENES ?? 'quiet,busy').split(',')

for (const scene of SCENES) {
  const busy = scene === 'busy'
  describe.skipIf(NO_BROWSER || !MANY_TABS)(`${TABS} browser profiles on one node's observer page, ${busy ? 'one core kept busy' : 'a quiet machine'} (Chromium)`, () => {
    let browser: Browser
    let node: TestNode
    let hog: CpuHog | undefined
    const contexts: BrowserContext[] = []
    const pages: Page[] = []
    const logs: string[] = []

    beforeAll(async () => {
      await ensureWebBuilt()
      if (busy) hog = startCpuHog()
      node = await startRelayNode({ network: `manytabs-${scene}`, args: ['--rpc-admin'] })
      browser = await launchChromium()
    }, 120_000)
    afterAll(async () => {
      await hog?.stop()
      for (const c of contexts) await c.close().catch(() => {})
      await browser?.close()
      await node?.stop().catch(() => {})
      if (node !== undefined) removeDir(node.dataDir)
    })

    it('every tab lists every tx submitted over JSON-RPC and drops the one marked mined', async () => {
      for (let i = 0; i < TABS; i++) {
        const context = await browser.newContext({ viewport: { width: 1024, height: 700 } })
        contexts.push(context)
        const page = await context.newPage()
        watchConsole(page, `tab ${i}`, logs)
        pages.push(page)
        // the machine is shared: every tab already open runs a node, so later pages load slowly
        await page.goto(`${node.httpUrl}/`, { waitUntil: 'domcontentloaded', timeout: 120_000 })
      }
      console.log(`${TABS} tabs opened (${scene})`)
      const subscribed = async (page: Page): Promise<boolean> => await page.evaluate(() =>
        (window.lightpoolObserver?.node?.libp2p.services.feedClient as { subscribed: () => string[] } | undefined)?.subscribed().length === 1)
      const tabStates = async (): Promise<string> => (await Promise.all(pages.map(async (p, i) => `${i}: ${await p.evaluate(() => {
        const n = window.lightpoolObserver?.node
        if (n === undefined) return 'no node'
        return `pool ${n.pool.size} relays ${JSON.stringify(n.connectivity.status().relays.map(r => r.state))} feed ${JSON.stringify(n.feedStats())}`
      }).catch((e: Error) => e.message)}`))).join('\n')
      const tabLinks = async (): Promise<string> => (await Promise.all(pages.map(async (p, i) => `tab ${i}: ${await p.evaluate(() => {
        const n = window.lightpoolObserver?.node
        if (n === undefined) return 'no node'
        const relays = n.connectivity.status().relays.map(r => JSON.stringify(r)).join(' ')
        const feeds = n.feedStats().map(f => `${f.state} since ${new Date(f.stateSince).toISOString().slice(11, 19)}${f.lastEnded === undefined ? '' : ` (last ended: ${f.lastEnded.reason})`}`).join(' ')
        return `relays ${relays} · feeds ${feeds === '' ? 'none' : feeds} · connections ${n.libp2p.getConnections().length}`
      }).catch((e: Error) => e.message)}`))).join('\n')
      try {
        await waitUntil(async () => (await Promise.all(pages.map(subscribed))).every(Boolean), 90_000, 'every tab to subscribe to the node\'s feed')
        // the sender is a client of a starved node too: what it could not send (a reset socket) is sent
        // again, as any client would; what is tested is that every tab lists what the node accepted
        const hashes: string[] = []
        for (let attempt = 1; hashes.length < 30; attempt++) {
          const r = await sendTxsCounted(node.info.rpc, { count: 30 - hashes.length, rate: 30, size: 4000, fee: '10-5000' })
          hashes.push(...r.hashes)
          if (r.failed > 0) console.log(`${scene}: ${r.failed} sends failed (attempt ${attempt}), sent again: ${r.stderr.split('\n').find(l => l.includes('send failed')) ?? ''}`)
          if (attempt >= 5) break
        }
        expect(hashes).toHaveLength(30)
        const listsAll = async (page: Page, want: string[]): Promise<boolean> => await page.evaluate((hs) => hs.every(h => window.lightpoolObserver!.node!.pool.has(h)), want)
        // on the busy machine a tab's relay connection can be cut (its pings unanswered for 20 s) and
        // take half a minute to come back: the waits are for every tab to get there, not for speed
        await waitUntil(async () => (await Promise.all(pages.map(async p => await listsAll(p, hashes)))).every(Boolean), busy ? 120_000 : 60_000, 'every tab to list every tx')

        const mined = hashes[7]!
        await node.callAdmin('pool_markMined', [{ hashes: [`0x${mined}`] }])
        const dropped = async (page: Page): Promise<boolean> => await page.evaluate((h) => !window.lightpoolObserver!.node!.pool.has(h), mined)
        await waitUntil(async () => (await Promise.all(pages.map(dropped))).every(Boolean), busy ? 90_000 : 30_000, 'every tab to drop the mined tx')
        // and the rest stay listed
        const complete = await Promise.all(pages.map(async p => await listsAll(p, hashes.filter(h => h !== mined))))
        console.log(`${scene}: ${complete.filter(Boolean).length} of ${TABS} tabs list every tx and dropped the mined one`)
        expect(complete).toEqual(pages.map(() => true))
        const feed = await (await fetch(`${node.httpUrl}/metrics`)).text()
        console.log(feed.split('\n').filter(l => l.startsWith('lightpool_feed_')).join('\n'))
        // each tab's feed, also when it passes: a subscription that flapped shows in its history
        console.log(await tabStates())
        console.log(node.logs.filter(l => Number(l.level) >= 40).slice(-30).map(l => JSON.stringify(l)).join('\n'))
      } catch (err) {
        console.log(await tabStates())
        console.log(countRepeats(logs.slice(-400)).join('\n'))
        // what the node said meanwhile: warnings and errors
        console.log(node.logs.filter(l => Number(l.level) >= 40).slice(-60).map(l => JSON.stringify(l)).join('\n'))
        // last, so that a log cut to its tail still has it: what each tab's links are, and what the node's listeners saw
        console.log(await tabLinks())
        console.log(await listenerMetrics(node))
        throw err
      }
    // 20 tabs: 90-130 s quiet, 270-310 s with a core busy (opening them is most of it)
    }, 600_000)
  })
}

/** Console lines, each once, with how often it came (a tab retrying prints the same error every few seconds). */
function countRepeats (lines: string[]): string[] {
  const counts = new Map<string, number>()
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1)
  return [...counts].map(([l, n]) => n > 1 ? `${n}× ${l}` : l)
}

/** The node's metrics of its p2p listeners and feed: refusals by the per-address caps, WebSocket listener events and errors, connections. */
async function listenerMetrics (node: TestNode): Promise<string> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text().catch((e: Error) => e.message)
  return text.split('\n').filter(l => /^(lightpool_p2p_inbound_refused_total|libp2p_websockets_listener_(events|errors)_total|libp2p_connection_manager_connections|lightpool_feed_subscribers|lightpool_relay_reservations|lightpool_peers)\b/.test(l)).join('\n')
}
