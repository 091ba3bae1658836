import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_BROWSER, ensureWebBuilt, launchChromium, LIB_DIR, OUTPUT_DIR, removeDir, sendTxs, startRelayNode, startStaticServer, watchConsole, type StaticServer, type TestNode } from '../helpers/browser.ts'

/**
 * `<lightpool-dashboard>` from dist/lib, embedded in a bare page of another
 * origin with one script tag; and the library API from the same build.
 */
describe.skipIf(NO_BROWSER)('embeddable dashboard (Chromium)', () => {
  let browser: Browser
  let node: TestNode
  let site: StaticServer
  const logs: string[] = []

  beforeAll(async () => {
    await ensureWebBuilt()
    node = await startRelayNode({ network: 'widget' })
    // a blog's page: its own styles, which must not reach into the widget
    const embed = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My rollup blog</title>
<style>body { font: 16px Georgia, serif; background: #fafaf7; color: #222; max-width: 760px; margin: 32px auto; } p, span, div { color: rgb(255, 0, 0); }</style>
</head><body>
<h1>What is in the pool right now</h1>
<p>Live from the network, through a light node in this page:</p>
<lightpool-dashboard relay="${node.wsAddr}" network="widget" heading="devnet pool" rollups="4"></lightpool-dashboard>
<script type="module" src="/lib/lightpool-widget.js"></script>
</body></html>`
    site = await startStaticServer({ pages: { '/embed.html': embed }, mounts: { '/lib/': LIB_DIR } })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
  })

  it('renders in a bare page of another origin and updates live', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 } })
    watchConsole(page, 'embed', logs)
    try {
      // another origin than the node's: the widget's IndexedDB and relay come from its attributes alone
      expect(new URL(site.url).port).not.toBe(new URL(node.httpUrl).port)
      await page.goto(`${site.url}/embed.html`)
      // playwright's CSS selectors pierce open shadow roots
      await page.waitForSelector('lightpool-dashboard .lp-dashboard.lp-compact', { timeout: 20_000 })
      // http page on the relay's host: ws:// to it is allowed without an "insecure" attribute (gater.ts)
      await page.waitForFunction(() => {
        const el = document.querySelector('lightpool-dashboard') as HTMLElement & { node?: { connectivity: { status: () => { relays: Array<{ reserved: boolean }> } } } }
        return el.node?.connectivity.status().relays.some(r => r.reserved) === true
      }, null, { timeout: 20_000 })
      expect(await page.textContent('lightpool-dashboard .lp-title')).toBe('devnet pool')

      const hashes = await sendTxs(node.info.rpc, { count: 20, rate: 50, size: 2000, fee: '10-900' })
      await page.waitForFunction(() => document.querySelector('lightpool-dashboard')!.shadowRoot!.querySelector('.lp-stat-value')?.textContent === '20', null, { timeout: 20_000 })
      const shown = await page.$$eval('lightpool-dashboard .lp-txs tbody tr:not([hidden]) .lp-hash', els => els.map(e => e.textContent ?? ''))
      expect(shown).toHaveLength(8)
      for (const h of shown) expect(hashes).toContain(h)
      expect(await page.$$eval('lightpool-dashboard .lp-event', els => els.length)).toBe(6)

      // the host page's styles stop at the shadow root
      const color = await page.$eval('lightpool-dashboard .lp-stat-label', el => getComputedStyle(el).color)
      expect(color).not.toBe('rgb(255, 0, 0)')
      mkdirSync(OUTPUT_DIR, { recursive: true })
      await page.screenshot({ path: join(OUTPUT_DIR, 'widget.png'), fullPage: true })

      // more txs keep coming in
      await sendTxs(node.info.rpc, { count: 5, rate: 50, size: 2000, fee: '5000-6000' })
      await page.waitForFunction(() => document.querySelector('lightpool-dashboard')!.shadowRoot!.querySelector('.lp-stat-value')?.textContent === '25', null, { timeout: 20_000 })

      // the compact form draws the projected rollups (4, from the attribute) and the fee estimate;
      // 25 small txs all fit the next rollup, so it needs only the floor
      await page.waitForFunction(() => document.querySelector('lightpool-dashboard')!.shadowRoot!.querySelector('.lp-rollup-txs')?.textContent === '25 txs', null, { timeout: 10_000 })
      expect(await page.$$eval('lightpool-dashboard .lp-rollup', els => els.length)).toBe(4)
      const rpc = await node.call<{ nextRollup: string, projected: Array<{ txs: number }> }>('pool_feeEstimate', [{ rollups: 4 }])
      expect(rpc.projected.map(r => r.txs)).toEqual([25, 0, 0, 0])
      expect(await page.textContent('lightpool-dashboard [data-estimate="next"] .lp-estimate-value')).toBe(`≥ ${rpc.nextRollup}`)
      // the library's forecast() over the widget's own pool gives the node's figures
      const lib = await page.evaluate<{ next: string, txs: number[] }>(`import('/lib/lightpool.js').then(lib => {
        const f = lib.forecast(document.querySelector('lightpool-dashboard').node.pool, { rollups: 4 })
        return { next: String(f.estimate.nextRollup), txs: f.rollups.map(r => r.txs) }
      })`)
      expect(lib).toEqual({ next: rpc.nextRollup, txs: [25, 0, 0, 0] })

      // the library API from the same build, for apps
      // (a string, so the test runner does not rewrite the dynamic import)
      const api = await page.evaluate<string[]>("import('/lib/lightpool.js').then(lib => ['createLightpool', 'createBrowserLightpool', 'IdbPoolStore', 'Dashboard', 'defineLightpoolDashboard', 'buildTx'].filter(k => typeof lib[k] === 'function'))")
      // distinct names for distinct factories: the browser's is createBrowserLightpool, never the core's name
      expect(api).toEqual(['createBrowserLightpool', 'IdbPoolStore', 'Dashboard', 'defineLightpoolDashboard', 'buildTx'])

      // removing the element stops its node and leaves the relay
      const peer = await page.evaluate(() => (document.querySelector('lightpool-dashboard') as HTMLElement & { node: { peerId: { toString: () => string } } }).node.peerId.toString())
      await page.evaluate(() => { document.querySelector('lightpool-dashboard')!.remove() })
      await expect.poll(async () => (await node.call<Array<{ peerId: string }>>('p2p_getPeers')).some(p => p.peerId === peer), { timeout: 10_000 }).toBe(false)
    } catch (err) {
      console.log(logs.join('\n'))
      throw err
    } finally {
      await page.close()
    }
  }, 90_000)
})
