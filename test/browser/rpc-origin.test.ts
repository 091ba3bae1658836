import { request } from 'node:http'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/index.ts'
import { NO_BROWSER, launchChromium, removeDir, startRelayNode, startStaticServer, watchConsole, type StaticServer, type TestNode } from '../helpers/browser.ts'
import { recordFigure } from '../helpers/figures.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * A hostile web page, visited by someone whose browser can reach a node (its
 * operator, on the same machine): it must not be able to call the node's RPC
 * over WebSocket, nor run admin methods by any means. The node's own page
 * (same origin) still can, and so can a non-browser client; admin methods
 * answer only on the loopback admin server with the data directory's token.
 */
describe.skipIf(NO_BROWSER)('RPC from a browser page (Chromium)', () => {
  let browser: Browser
  let node: TestNode
  let site: StaticServer
  let rpcPort: number
  const logs: string[] = []

  beforeAll(async () => {
    node = await startRelayNode({ network: 'origins', args: ['--rpc-admin'] })
    rpcPort = Number(new URL(node.info.rpc).port)
    site = await startStaticServer({ pages: { '/evil.html': '<!doctype html><title>cute cats</title><p>cats</p>' } })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
  })

  /** In the page: opens a WebSocket, sends one call, resolves with what happened. */
  const wsProbe = async (page: Page, url: string, method: string, params: unknown[]): Promise<string> =>
    await page.evaluate(async ({ url, method, params }) => await new Promise<string>((resolve) => {
      const ws = new WebSocket(url)
      const timer = setTimeout(() => { resolve('timeout') }, 5_000)
      ws.onopen = () => { ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })) }
      ws.onmessage = (e) => { clearTimeout(timer); resolve(`answered ${String(e.data)}`); ws.close() }
      ws.onerror = () => { clearTimeout(timer); resolve('refused') }
    }), { url, method, params })

  it('a page on another origin cannot open the RPC WebSocket nor run admin methods; the node\'s own page can', async () => {
    const tx = await makeTx()
    await node.call('pool_sendTx', [`0x${toHex(tx.bytes)}`])
    const page = await browser.newPage()
    watchConsole(page, 'evil', logs)
    await page.goto(`${site.url}/evil.html`)

    // WebSocket to the public RPC, by IP and by name: refused at the upgrade (Origin)
    const byIp = await wsProbe(page, `ws://127.0.0.1:${rpcPort}/rpc`, 'pool_getPendingTxCount', [])
    const byName = await wsProbe(page, `ws://localhost:${rpcPort}/rpc`, 'pool_getPendingTxCount', [])
    expect(byIp).toBe('refused')
    expect(byName).toBe('refused')

    // admin methods: not on the public server at all, and the admin server refuses a page's requests
    const adminPort = Number(new URL(node.info.adminRpc!).port)
    const attempts = await page.evaluate(async ({ rpcPort, adminPort, hash }) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_removeTx', params: [hash] })
      const out: string[] = []
      for (const url of [`http://127.0.0.1:${rpcPort}/rpc`, `http://127.0.0.1:${adminPort}/rpc`]) {
        // a CORS request (application/json needs a preflight, which the node does not grant)
        try {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          out.push(`cors ${r.status}`)
        } catch { out.push('cors blocked') }
        // a "simple" request the browser sends without asking: the node refuses its Origin
        try {
          await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body })
          out.push('no-cors sent')
        } catch { out.push('no-cors blocked') }
      }
      return out
    }, { rpcPort, adminPort, hash: `0x${tx.hash}` })
    const admin = await wsProbe(page, `ws://127.0.0.1:${adminPort}/rpc`, 'pool_removeTx', [`0x${tx.hash}`])
    expect(admin).toBe('refused')
    expect(attempts.filter(a => /^cors \d/.test(a)), attempts.join(', ')).toEqual([])
    // whatever reached the node changed nothing
    const status = await node.call<{ status: string, history: Array<{ status: string }> }>('pool_getTxStatus', [tx.hash])
    expect(status.status).toBe('pending')
    expect(status.history.map(s => s.status)).toEqual(['pending'])

    // the node's own page: same origin, served by the node — its WebSocket works
    const own = await browser.newPage()
    await own.goto(`${node.httpUrl}/`)
    const ownWs = await wsProbe(own, `ws://127.0.0.1:${rpcPort}/rpc`, 'pool_getPendingTxCount', [])
    expect(ownWs).toMatch(/^answered .*"result":1/)
    // but even it gets no admin methods on the public server
    expect(await wsProbe(own, `ws://127.0.0.1:${rpcPort}/rpc`, 'pool_removeTx', [`0x${tx.hash}`])).toMatch(/-32601/)
    await own.close()
    await page.close()

    // a non-browser client with the data directory's token runs admin methods on the admin server
    expect(await node.callAdmin('pool_removeTx', [`0x${tx.hash}`])).toBe(true)
    recordFigure('hostile clients', 'page of another origin vs the RPC', { wsByIp: byIp, wsByName: byName, adminWs: admin, fetches: attempts.join(' / '), txStillPending: true })
  })

  it('refuses a Host that is not the node\'s (DNS rebinding), and admin calls without the token', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: rpcPort, path: '/rpc', method: 'POST', headers: { host: `rebind.attacker.example:${rpcPort}`, 'content-type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_status' }))
    })
    expect(status).toBe(403)
    const noToken = await fetch(node.info.adminRpc!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_status' }) })
    expect(noToken.status).toBe(401)
    const wrongToken = await fetch(node.info.adminRpc!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer 00' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_status' }) })
    expect(wrongToken.status).toBe(401)
    // lightpool's own clients (no Origin, Host 127.0.0.1) are served
    expect(await node.call('pool_getPendingTxCount')).toBeTypeOf('number')
  })
})
