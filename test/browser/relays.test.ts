import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { NO_BROWSER, startRelayNode, useSiteAndChromium, watchConsole } from '../helpers/browser.ts'
import { relayClient, reserved } from '../helpers/relay-client.ts'

/**
 * A tab with two relays reserves on both, survives one going down, and
 * reconnects and reserves again when it is back; a tab refused by a full
 * relay reserves there once a slot frees. The page logs the circuit-relay
 * transport and the connectivity service (libp2p's `debug` in
 * localStorage); a failing test prints those lines.
 */
describe.skipIf(NO_BROWSER)('relays (Chromium)', () => {
  const session = useSiteAndChromium()
  const { nodes, logs } = session

  const debugLines: string[] = []
  const openPage = async (): Promise<Page> => {
    const page = await session.browser.newPage()
    watchConsole(page, 'tab', logs)
    await page.addInitScript(() => { localStorage.setItem('debug', 'libp2p:circuit-relay*,lightpool:connectivity*') })
    page.on('console', (msg) => { if (msg.type() !== 'error' && msg.type() !== 'warning') debugLines.push(msg.text().replace(/%c|color: [#\w]+/g, '').slice(0, 500)) })
    return page
  }
  const printDebug = (): void => { console.log(debugLines.splice(0).join('\n')) }

  const relayStates = async (page: Page): Promise<Array<{ peerId: string, state: string, reserved: boolean }>> =>
    await page.evaluate(() => window.lightpoolObserver!.node!.connectivity.status().relays.map(r => ({ peerId: r.peerId, state: r.state, reserved: r.reserved })))

  it('reserves on several relays, and reconnects and re-reserves after a relay restarts', async () => {
    const r1 = await startRelayNode({ network: 'relays' })
    const r2 = await startRelayNode({ network: 'relays' })
    nodes.push(r1, r2)
    const page = await openPage()
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
      printDebug()
      throw err
    } finally {
      debugLines.length = 0
      await page.close()
    }
  }, 90_000)

  it('a relay that is full when the tab connects gives it a reservation once a slot frees', async () => {
    const relay = await startRelayNode({ network: 'relays', args: ['--relay-max-reservations', '1'] })
    nodes.push(relay)
    const holder = await relayClient(relay.wsAddr)
    const page = await openPage()
    try {
      await expect.poll(() => reserved(holder), { timeout: 10_000 }).toBe(true)
      await page.goto(`${session.site.url}/?relay=${encodeURIComponent(relay.wsAddr)}&network=relays`)
      await page.waitForFunction(() => window.lightpoolObserver?.node?.connectivity.status().relays[0]?.state === 'connected', null, { timeout: 20_000 })
      // refused on connect, and again when asked after reservationRetryBaseMs (5 s)
      await page.waitForTimeout(7_000)
      expect((await relayStates(page))[0]).toMatchObject({ state: 'connected', reserved: false })

      // the holder leaves: the relay frees its slot at once (node/relay-limits.ts), and the tab's next ask gets it
      const t0 = Date.now()
      await holder.stop()
      await page.waitForFunction(() => window.lightpoolObserver!.node!.connectivity.status().relays[0]?.reserved === true, null, { timeout: 30_000 })
      console.log(`full relay: reserved ${Date.now() - t0} ms after a slot freed`)
    } catch (err) {
      console.log(JSON.stringify(await relayStates(page).catch(() => [])))
      printDebug()
      throw err
    } finally {
      debugLines.length = 0
      await holder.stop()
      await page.close()
    }
  }, 90_000)
})
