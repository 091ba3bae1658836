import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_BROWSER, ensureWebBuilt, launchChromium, removeDir, startRelayNode, waitUntil, watchConsole, type TestNode } from '../helpers/browser.ts'

/**
 * Two tabs of the observer page find each other through the relay (peer
 * exchange), connect directly over WebRTC, and keep exchanging txs after the
 * relay is gone.
 */
describe.skipIf(NO_BROWSER)('two tabs over WebRTC (Chromium)', () => {
  let browser: Browser
  let node: TestNode
  const logs: string[] = []

  beforeAll(async () => {
    await ensureWebBuilt()
    node = await startRelayNode({ network: 'tabs' })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
  })

  async function openTab (context: Awaited<ReturnType<Browser['newContext']>>, label: string): Promise<Page> {
    const page = await context.newPage()
    watchConsole(page, label, logs)
    await page.goto(`${node.httpUrl}/`)
    await page.waitForFunction(() => window.lightpoolObserver?.node !== undefined, null, { timeout: 20_000 })
    await page.evaluate(() => {
      const lp = window.lightpoolObserver!.node!.libp2p
      const t0 = performance.now()
      const ev: string[] = []
      ;(window as unknown as { ev: string[] }).ev = ev
      const at = (): string => (performance.now() - t0).toFixed(0)
      for (const type of ['peer:connect', 'peer:disconnect'] as const) lp.addEventListener(type, (e) => { ev.push(`${at()} ${type} ${String(e.detail).slice(-6)}`) })
      for (const type of ['connection:open', 'connection:close'] as const) lp.addEventListener(type, (e) => { ev.push(`${at()} ${type} ${e.detail.remotePeer.toString().slice(-6)} ${e.detail.remoteAddr.toString().includes('webrtc') ? 'webrtc' : e.detail.remoteAddr.toString().includes('circuit') ? 'relayed' : 'ws'} ${e.detail.id}`) })
      lp.addEventListener('peer:identify', (e) => { ev.push(`${at()} identify ${e.detail.peerId.toString().slice(-6)} ${e.detail.connection.id}`) })
      lp.addEventListener('peer:update', (e) => { ev.push(`${at()} update ${e.detail.peer.id.toString().slice(-6)} protos ${e.detail.peer.protocols.length} prev ${e.detail.previous?.protocols.length}`) })
    })
    return page
  }

  const peerIdOf = async (page: Page): Promise<string> => await page.evaluate(() => window.lightpoolObserver!.node!.peerId.toString())
  const webrtcTo = async (page: Page, peer: string): Promise<boolean> => await page.evaluate((p) =>
    window.lightpoolObserver!.node!.connectivity.status().connections.some(c => c.peerId === p && c.kind === 'webrtc'), peer)

  /** Publishes a tx from a tab's own "Submit a transaction" form, signed in the browser. */
  async function submitFromForm (page: Page, fee: number): Promise<string> {
    await page.fill('.lp-submit input[name="fee"]', String(fee))
    await page.fill('.lp-submit input[name="size"]', '3000')
    await page.click('.lp-submit button[type="submit"]')
    await page.waitForFunction(() => /^Added [0-9a-f]{64}$/.test(document.querySelector('.lp-submit-result')?.textContent ?? ''), null, { timeout: 10_000 })
    const text = await page.textContent('.lp-submit-result')
    return text!.slice('Added '.length)
  }

  async function shows (page: Page, hash: string, timeoutMs: number): Promise<void> {
    await page.waitForFunction((h) => window.lightpoolObserver!.node!.pool.has(h) && (document.querySelector('.lp-dashboard')?.textContent ?? '').includes(h), hash, { timeout: timeoutMs })
  }

  it('connect through the relay, upgrade to WebRTC, and gossip directly once the relay is stopped', async () => {
    // two tabs of one browser: one origin, so this also covers tab slots (separate databases and keys)
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const a = await openTab(context, 'tab A')
    const b = await openTab(context, 'tab B')
    try {
      const [idA, idB] = [await peerIdOf(a), await peerIdOf(b)]
      expect(idA).not.toBe(idB)
      expect(await a.evaluate(() => window.lightpoolObserver!.node!.slot)).not.toBe(await b.evaluate(() => window.lightpoolObserver!.node!.slot))

      const t0 = Date.now()
      await waitUntil(async () => await webrtcTo(a, idB) && await webrtcTo(b, idA), 45_000, 'a WebRTC connection between the tabs')
      const upgradeMs = Date.now() - t0
      // once WebRTC is up, the relayed connection between the tabs is closed
      await waitUntil(async () => await a.evaluate((p) => window.lightpoolObserver!.node!.connectivity.status().connections.filter(c => c.peerId === p).every(c => c.kind === 'webrtc'), idB), 10_000, 'the relayed connection to close')
      const dials = [...await a.evaluate(() => window.lightpoolObserver!.node!.connectivity.upgrades), ...await b.evaluate(() => window.lightpoolObserver!.node!.connectivity.upgrades)]

      console.log(`tabs found each other and connected over WebRTC ${upgradeMs} ms after both were up; dials: ${JSON.stringify(dials)}`)
      // the peers panel says how each peer is connected
      await a.waitForFunction(() => [...document.querySelectorAll('.lp-kind[data-kind="webrtc"]')].length > 0, null, { timeout: 5000 })

      // gossip runs over the direct connection: each tab hears the other's subscription on it
      const subscribed = async (page: Page, peer: string): Promise<boolean> => await page.evaluate((p) => {
        const node = window.lightpoolObserver!.node!
        return node.libp2p.services.pubsub.getSubscribers(node.net.ids.txTopic).map(String).includes(p)
      }, peer)
      await waitUntil(async () => await subscribed(a, idB) && await subscribed(b, idA), 20_000, 'each tab to see the other subscribed')
      const repairs = async (page: Page): Promise<string> => await page.evaluate(() => { const c = window.lightpoolObserver!.node!.connectivity; return `${c.gossipRepairs}/${c.gossipResets}` })
      console.log(`gossip stream repairs/resets: tab A ${await repairs(a)}, tab B ${await repairs(b)}`)

      const first = await submitFromForm(a, 700)
      await shows(b, first, 15_000)

      await node.stop()
      await waitUntil(async () => await a.evaluate(() => window.lightpoolObserver!.node!.connectivity.status().relays.every(r => r.state !== 'connected')) &&
        await b.evaluate(() => window.lightpoolObserver!.node!.connectivity.status().relays.every(r => r.state !== 'connected')), 10_000, 'both tabs to lose the relay')
      expect(await webrtcTo(a, idB)).toBe(true)

      const second = await submitFromForm(a, 900)
      await shows(b, second, 15_000)
      // both tabs stamp a tx with their clock (the same machine's) when they admit it
      const admittedAt = async (page: Page): Promise<number> => await page.evaluate((h) => window.lightpoolObserver!.node!.pool.get(h)!.receivedAt, second)
      console.log(`with the relay down, tab B admitted tab A's tx ${await admittedAt(b) - await admittedAt(a)} ms after tab A did`)
      // and the other way round
      const third = await submitFromForm(b, 1100)
      await shows(a, third, 15_000)
      await b.waitForFunction(() => (document.querySelector('.lp-pill')?.textContent ?? '').includes('WebRTC'), null, { timeout: 5000 })
    } catch (err) {
      // what each tab's gossip layer thought of the other when it failed
      for (const [label, page] of [['A', a], ['B', b]] as const) {
        const state = await page.evaluate(() => {
          const node = window.lightpoolObserver!.node!
          const ps = node.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[], getSubscribers: (t: string) => unknown[], streamsOutbound?: Map<string, unknown>, streamsInbound?: Map<string, unknown> }
          const desc = (m?: Map<string, unknown>): unknown => [...(m?.entries() ?? [])].map(([k, v]) => { const r = (v as { rawStream: Record<string, unknown> }).rawStream; return [k.slice(-6), r.id, r.status, r.readStatus, r.writeStatus, r.direction, String((r.log as { namespace?: string })?.namespace ?? '')] })
          const topic = node.net.ids.txTopic
          return { ev: (window as unknown as { ev: string[] }).ev, mesh: ps.getMeshPeers(topic), subscribers: ps.getSubscribers(topic).map(String), outbound: desc(ps.streamsOutbound), inbound: desc(ps.streamsInbound), connections: node.connectivity.status().connections }
        }).catch((e: Error) => e.message)
        console.log(`tab ${label}: ${JSON.stringify(state)}`)
      }
      console.log(logs.filter(l => !l.includes('ERR_CONNECTION_REFUSED')).join('\n'))
      throw err
    } finally {
      await context.close()
    }
  }, 120_000)
})
