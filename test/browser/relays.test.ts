import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { NO_BROWSER, startRelayNode, useSiteAndChromium, watchConsole } from '../helpers/browser.ts'

/** A tab with two relays reserves on both, survives one going down, and reconnects and reserves again when it is back. */
describe.skipIf(NO_BROWSER)('relays (Chromium)', () => {
  const session = useSiteAndChromium()
  const { nodes, logs } = session

  const relayStates = async (page: Page): Promise<Array<{ peerId: string, state: string, reserved: boolean }>> =>
    await page.evaluate(() => window.lightpoolObserver!.node!.connectivity.status().relays.map(r => ({ peerId: r.peerId, state: r.state, reserved: r.reserved })))

  it('reserves on several relays, and reconnects and re-reserves after a relay restarts', async () => {
    const r1 = await startRelayNode({ network: 'relays' })
    const r2 = await startRelayNode({ network: 'relays' })
    nodes.push(r1, r2)
    const page = await session.browser.newPage()
    watchConsole(page, 'tab', logs)
    try {
      const relays = [r1.wsAddr, r2.wsAddr].map(a => `relay=${encodeURIComponent(a)}`).join('&')
      await page.goto(`${session.site.url}/?${relays}&network=relays`)
      await page.waitForFunction(() => window.lightpoolObserver?.node?.connectivity.status().relays.every(r => r.state === 'connected' && r.reserved) === true, null, { timeout: 20_000 })
      expect((await relayStates(page)).length).toBe(2)

      // relay 1 goes away: the tab keeps relay 2 and its reservation there
      await r1.stop()
      await page.waitForFunction((id) => window.lightpoolObserver!.node!.connectivity.status().relays.some(r => r.peerId === id && r.state !== 'connected'), r1.info.peerId, { timeout: 10_000 })
      const during = await relayStates(page)
      expect(during.find(r => r.peerId === r2.info.peerId)).toMatchObject({ state: 'connected', reserved: true })
      expect(await page.getAttribute('.lp-pill', 'data-health')).toBe('online')

      // down long enough for a few failed redials
      await page.waitForTimeout(5000)
      // and comes back on the same address: the tab redials it and reserves again
      const t0 = Date.now()
      const back = await startRelayNode({ network: 'relays', dataDir: r1.dataDir, tcpPort: r1.ports.tcp, wsPort: r1.ports.ws, httpPort: r1.ports.http })
      nodes.push(back)
      await page.waitForFunction((id) => window.lightpoolObserver!.node!.connectivity.status().relays.some(r => r.peerId === id && r.state === 'connected'), r1.info.peerId, { timeout: 30_000 })
      const connectedMs = Date.now() - t0
      await page.waitForFunction((id) => window.lightpoolObserver!.node!.connectivity.status().relays.some(r => r.peerId === id && r.state === 'connected' && r.reserved), r1.info.peerId, { timeout: 15_000 })
      console.log(`relay restart: reconnected ${connectedMs} ms and reserved again ${Date.now() - t0} ms after it was back`)
      expect((await relayStates(page)).every(r => r.state === 'connected' && r.reserved)).toBe(true)
    } catch (err) {
      console.log(JSON.stringify(await relayStates(page).catch(() => [])))
      console.log(logs.filter(l => !l.includes('ERR_CONNECTION_REFUSED')).join('\n'))
      throw err
    } finally {
      await page.close()
    }
  }, 90_000)
})
