import { mkdirSync, renameSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_FLAGS, NO_BROWSER, ensureWebBuilt, LIB_DIR, removeDir, startRelayNode, startStaticServer, tempDir, waitUntil, watchConsole, type StaticServer, type TestNode } from '../helpers/browser.ts'
import { runCli } from '../helpers/process.ts'
import { httpsCall, makeCert, servedFingerprint, type TestCert } from '../helpers/tls.ts'

/**
 * Reaching a node from an https page with no proxy: the node serves wss and
 * https from its own certificate (`--tls-cert`, `--tls-key`), a consumer
 * page on another https origin embeds `<lightpool-dashboard>`, and the tab
 * dials the node's `/tls/ws` address. Chromium trusts exactly the test
 * certificates' keys (`--ignore-certificate-errors-spki-list`), nothing else.
 *
 * The certificate lives where certbot puts it: `live/fullchain.pem` and
 * `live/privkey.pem`, symlinks into `archive/`; the renewal swaps the
 * symlinks as certbot does, under a connected tab.
 */
type Dash = HTMLElement & { node?: { pool: { has: (h: string) => boolean, size: number }, libp2p: { getConnections: () => Array<{ id: string, remotePeer: { toString: () => string }, remoteAddr: { toString: () => string }, status: string }> } } }

describe.skipIf(NO_BROWSER)('wss from an https page with the node\'s own certificate (Chromium)', () => {
  let dir: string
  let site: StaticServer
  let node: TestNode
  let siteCert: TestCert
  let first: TestCert
  let second: TestCert
  const browsers: Browser[] = []
  const logs: string[] = []
  const live = (): { cert: string, key: string } => ({ cert: join(dir, 'live/fullchain.pem'), key: join(dir, 'live/privkey.pem') })

  /** certbot's layout: live/ holds symlinks to the current files in archive/, replaced by rename. */
  function install (cert: TestCert): void {
    mkdirSync(join(dir, 'live'), { recursive: true })
    for (const [from, to] of [[cert.certFile, live().cert], [cert.keyFile, live().key]] as const) {
      const tmp = `${to}.new`
      symlinkSync(from, tmp)
      renameSync(tmp, to)
    }
  }

  async function launch (trusted: TestCert[]): Promise<Browser> {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${trusted.map(c => c.spki).join(',')}`] })
    browsers.push(browser)
    return browser
  }

  async function send (count: number, trust: TestCert): Promise<string[]> {
    // lightpool send over https, trusting the node's certificate of the moment
    const r = await runCli(['send', '--rpc', node.info.rpc, '--count', String(count), '--rate', '50', '--size', '2000', '--fee', '10-900'], { NODE_EXTRA_CA_CERTS: trust.certFile })
    if (r.code !== 0) throw new Error(`lightpool send failed (${String(r.code)}): ${r.stderr}`)
    return r.stdout.split('\n').map(s => s.trim().replace(/^0x/, '')).filter(s => /^[0-9a-f]{64}$/.test(s))
  }

  async function openDashboard (browser: Browser, label: string): Promise<Page> {
    const page = await browser.newPage()
    watchConsole(page, label, logs)
    await page.goto(`${site.url}/embed.html`)
    await page.waitForFunction(() => (document.querySelector('lightpool-dashboard') as Dash).node !== undefined, null, { timeout: 20_000 })
    return page
  }

  /** The tab's open connections to the node: their ids and addresses. */
  async function connections (page: Page): Promise<Array<{ id: string, addr: string }>> {
    return await page.evaluate((peer) => (document.querySelector('lightpool-dashboard') as Dash).node!.libp2p.getConnections()
      .filter(c => c.remotePeer.toString() === peer && c.status === 'open')
      .map(c => ({ id: c.id, addr: c.remoteAddr.toString() })), node.info.peerId)
  }

  /** A bare WebSocket from the page: does its TLS handshake with the node pass ('open') or not ('error')? */
  async function rawWebSocket (page: Page, url: string): Promise<string> {
    return await page.evaluate(async (u) => await new Promise<string>((resolve) => {
      const ws = new WebSocket(u)
      ws.onopen = () => { ws.close(); resolve('open') }
      ws.onerror = () => { resolve('error') }
    }), url)
  }

  async function lists (page: Page, hashes: string[]): Promise<boolean> {
    return await page.evaluate((hs) => { const p = (document.querySelector('lightpool-dashboard') as Dash).node!.pool; return hs.every(h => p.has(h)) }, hashes)
  }

  beforeAll(async () => {
    await ensureWebBuilt()
    dir = tempDir('lightpool-wss-')
    siteCert = makeCert(join(dir, 'site'), 'site')
    first = makeCert(join(dir, 'archive'), 'node1')
    second = makeCert(join(dir, 'archive'), 'node2')
    install(first)
    // a short silent-socket timeout: an upgraded wss socket must not be cut by it (the tab's connection is compared below)
    node = await startRelayNode({ network: 'wss', args: ['--tls-cert', live().cert, '--tls-key', live().key, '--rpc-admin', '--p2p-idle-timeout', '1000'] })
    expect(node.wsAddr).toMatch(/\/tls\/ws\/p2p\//)
    expect(node.info.rpc).toMatch(/^https:/)
    // a consumer's page on its own https origin; `insecure` only lets the tab dial loopback (the gater
    // refuses private addresses by default); the address it dials is the node's /tls/ws, so wss it is
    const embed = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A rollup explorer</title></head><body>
<h1>Pending right now</h1>
<lightpool-dashboard relay="${node.wsAddr}" network="wss" heading="wss pool" store="memory" insecure></lightpool-dashboard>
<script type="module" src="/lib/lightpool-widget.js"></script>
</body></html>`
    site = await startStaticServer({ pages: { '/embed.html': embed }, mounts: { '/lib/': LIB_DIR }, tls: { cert: siteCert.cert, key: siteCert.key } })
    expect(site.url).toMatch(/^https:/)
  }, 120_000)

  afterAll(async () => {
    for (const b of browsers) await b.close().catch(() => {})
    await site?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
    if (dir !== undefined) removeDir(dir)
  })

  it('lists every tx sent over JSON-RPC, drops the mined one; a renewal keeps the tab and keys new ones', async () => {
    const browser = await launch([siteCert, first])
    const tab = await openDashboard(browser, 'tab1')
    try {
      await waitUntil(async () => (await connections(tab)).length > 0, 20_000, 'the tab to connect to the node')
      const before = await connections(tab)
      for (const c of before) expect(c.addr).toMatch(/\/tls\/ws/)

      const hashes = await send(12, first)
      expect(hashes).toHaveLength(12)
      await waitUntil(async () => await lists(tab, hashes), 20_000, 'the tab to list every tx sent')
      await tab.waitForFunction(() => document.querySelector('lightpool-dashboard')!.shadowRoot!.querySelector('.lp-stat-value')?.textContent === '12', null, { timeout: 20_000 })

      const mined = hashes[3]!
      expect(await node.callAdmin<{ removed: number }>('pool_markMined', { hashes: [`0x${mined}`] })).toMatchObject({ removed: 1 })
      await waitUntil(async () => !(await lists(tab, [mined])), 20_000, 'the tab to drop the mined tx')
      expect(await lists(tab, hashes.filter(h => h !== mined))).toBe(true)
      await tab.waitForFunction(() => document.querySelector('lightpool-dashboard')!.shadowRoot!.querySelector('.lp-stat-value')?.textContent === '11', null, { timeout: 20_000 })

      // the renewal: certbot swaps the symlinks; no signal, no restart
      const wsPort = Number(/\/tcp\/(\d+)\/tls\/ws/.exec(node.wsAddr)?.[1])
      const httpPort = Number(new URL(node.info.rpc).port)
      expect(await servedFingerprint(wsPort)).toBe(first.fingerprint256)
      install(second)
      await waitUntil(() => node.logs.some(l => l.msg === 'TLS certificate reloaded: new connections use it, open ones keep theirs'), 20_000, 'the node to reload its certificate')
      expect(await servedFingerprint(wsPort)).toBe(second.fingerprint256)
      expect(await servedFingerprint(httpPort)).toBe(second.fingerprint256)
      expect(await httpsCall<number>(node.info.rpc, 'pool_getPendingTxCount', [], second.cert)).toBe(11)

      // the tab kept its connection: the same one, still carrying the feed
      const later = await send(3, second)
      await waitUntil(async () => await lists(tab, later), 20_000, 'the connected tab to list txs sent after the renewal')
      expect(await connections(tab)).toEqual(before)

      // the pins are what Chromium checks: a browser that trusts only the old key now fails the handshake
      const wsUrl = `wss://127.0.0.1:${wsPort}`
      expect(await rawWebSocket(tab, wsUrl)).toBe('error')

      // a new tab, in a browser that trusts only the new key, connects
      const renewed = await launch([siteCert, second])
      const tab2 = await openDashboard(renewed, 'tab2')
      expect(await rawWebSocket(tab2, wsUrl)).toBe('open')
      await waitUntil(async () => (await connections(tab2)).length > 0, 20_000, 'a new tab to connect with the new certificate')
      await waitUntil(async () => await lists(tab2, [...hashes.filter(h => h !== mined), ...later]), 20_000, 'the new tab to list the pool')
      expect(await lists(tab2, [mined])).toBe(false)
      await tab2.close()
    } catch (err) {
      console.log(logs.join('\n'))
      console.log(node.logs.filter(l => typeof l.msg === 'string' && /TLS/.test(l.msg)).map(l => JSON.stringify(l)).join('\n'))
      throw err
    } finally {
      await tab.close()
    }
  }, 150_000)
})
