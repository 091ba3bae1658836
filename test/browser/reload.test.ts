import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { NO_BROWSER, sendTxs, startRelayNode, tempDir, useSiteAndChromium, watchConsole } from '../helpers/browser.ts'

/**
 * A reloaded tab shows its pool from IndexedDB: against a node that lost its
 * pool (a fresh data dir on the same address and identity), and with no
 * relay reachable at all. The page is a static site on its own origin, as
 * one hosted anywhere, pointed at the relay by `?relay=`.
 */
describe.skipIf(NO_BROWSER)('reload from IndexedDB (Chromium)', () => {
  const session = useSiteAndChromium()
  const { nodes, logs } = session

  /**
   * The hashes the table shows, once it shows `count` rows: the page draws at
   * most every 200–500 ms (web/ui/pool-view.ts paces its frames), so the DOM
   * may trail the pool by a frame.
   */
  const pendingShown = async (page: Page, count = 30): Promise<string[]> => {
    await page.waitForFunction((n) => document.querySelectorAll('.lp-txs tbody tr:not([hidden]) .lp-hash').length >= n, count, { timeout: 10_000 }).catch(() => {})
    return await page.$$eval('.lp-txs tbody tr:not([hidden]) .lp-hash', els => els.map(e => e.textContent ?? ''))
  }

  async function loaded (page: Page): Promise<void> {
    await page.waitForFunction(() => window.lightpoolObserver?.node !== undefined, null, { timeout: 20_000 })
  }

  it('shows the stored pool after a reload against a node that lost its pool, then with no relay at all', async () => {
    const first = await startRelayNode({ network: 'reload' })
    nodes.push(first)
    const url = `${session.site.url}/?relay=${encodeURIComponent(first.wsAddr)}&network=reload`
    const context = await session.browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    watchConsole(page, 'tab', logs)
    try {
      await page.goto(url)
      await loaded(page)
      expect(await page.evaluate(() => window.lightpoolObserver!.config!.source)).toBe('query')
      await page.waitForFunction(() => window.lightpoolObserver!.node!.connectivity.status().relays.some(r => r.reserved), null, { timeout: 20_000 })
      const hashes = await sendTxs(first.info.rpc, { count: 30, rate: 100, size: 3000, fee: '100-900' })
      await page.waitForFunction((n) => window.lightpoolObserver!.node!.pool.size >= n, hashes.length, { timeout: 20_000 })
      // one body fetched on demand, so the store holds a body too (re-verified at reload)
      const withBody = hashes[0]!
      expect(await page.evaluate(async (h) => (await window.lightpoolObserver!.node!.getTx(h))?.byteLength, withBody)).toBe(3000)
      // every admission is in IndexedDB (the pool acknowledges only durable writes; light-mode admissions are written in the background)
      await page.waitForFunction(async (n) => {
        const node = window.lightpoolObserver!.node!
        await node.pool.flush()
        return (await node.storage!.usage()).count >= n
      }, hashes.length)
      const before = (await pendingShown(page)).sort()
      expect(before).toHaveLength(30)
      expect(before).toEqual([...hashes].sort())

      // the node loses its pool: same identity and ports, empty data dir
      await first.stop()
      const dataDir = tempDir('lightpool-browser-')
      copyFileSync(join(first.dataDir, 'peer.key'), join(dataDir, 'peer.key'))
      const second = await startRelayNode({ network: 'reload', dataDir, tcpPort: first.ports.tcp, wsPort: first.ports.ws, httpPort: first.ports.http })
      nodes.push(second)
      expect(second.info.peerId).toBe(first.info.peerId)
      expect(await second.call('pool_getPendingTxCount')).toBe(0)

      await page.reload()
      await loaded(page)
      // shown from IndexedDB as soon as the node exists in the page
      expect((await pendingShown(page)).sort()).toEqual(before)
      expect(await page.evaluate((h) => window.lightpoolObserver!.node!.pool.get(h)?.hasBody, withBody)).toBe(true)
      // it reconnects to the relay, which has nothing, and keeps what it had
      await page.waitForFunction(() => window.lightpoolObserver!.node!.connectivity.status().relays.some(r => r.state === 'connected'), null, { timeout: 20_000 })
      await page.waitForTimeout(1500)
      expect((await pendingShown(page)).sort()).toEqual(before)

      // no relay reachable at all
      await second.stop()
      await page.reload()
      await loaded(page)
      expect((await pendingShown(page)).sort()).toEqual(before)
      expect(await page.textContent('.lp-stat-value')).toBe('30')
      await page.waitForFunction(() => document.querySelector('.lp-pill')?.getAttribute('data-health') === 'offline', null, { timeout: 10_000 })
      expect(await page.textContent('.lp-pill')).toContain('Offline')
      // and the detail view still shows a body it holds
      await page.click(`.lp-txs tr[data-hash="${withBody}"] button`)
      await page.waitForFunction(() => /store/.test(document.querySelector('.lp-body-state')?.textContent ?? ''), null, { timeout: 10_000 })
    } catch (err) {
      console.log(logs.join('\n'))
      throw err
    } finally {
      await context.close()
    }
  }, 120_000)
})
