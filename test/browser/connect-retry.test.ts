import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { extname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_BROWSER, ensureWebBuilt, launchChromium, removeDir, startRelayNode, watchConsole, WEB_DIR, type TestNode } from '../helpers/browser.ts'
import type { Browser, Page } from 'playwright-core'

/**
 * A page whose node does not answer yet keeps asking and says so, instead
 * of offering the setup form (issue 15: under load 1–4 of 20–24 tabs had
 * their one 3 s p2p_getInfo aborted and showed "No relay is configured").
 * The page is served by a small server in front of a real node whose /rpc
 * first hangs past the page's timeout, then answers 503, then passes
 * through.
 */
const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' }

/** The observer page's files, as a static host serves them. */
function serveWebFile (path: string, res: ServerResponse): void {
  const file = join(WEB_DIR, path === '/' ? 'index.html' : path)
  if (!file.startsWith(WEB_DIR) || !existsSync(file) || statSync(file).isDirectory()) { res.writeHead(404).end('not found'); return }
  res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file))
}

/** Remembers whether the setup form ever appeared on `page`, however briefly (read as window.sawSetupForm). */
async function watchSetupForm (page: Page): Promise<void> {
  await page.addInitScript(() => {
    new MutationObserver(() => {
      if (document.body?.textContent?.includes('No relay is configured') === true) (window as unknown as { sawSetupForm: boolean }).sawSetupForm = true
    }).observe(document, { childList: true, subtree: true })
  })
}

describe.skipIf(NO_BROWSER)('observer page: a node that does not answer yet (Chromium)', () => {
  let browser: Browser
  let node: TestNode
  let server: Server
  let url = ''
  const rpcCalls: string[] = []
  const logs: string[] = []

  beforeAll(async () => {
    await ensureWebBuilt()
    node = await startRelayNode({ network: 'retry' })
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/rpc') {
        rpcCalls.push(new Date().toISOString())
        const n = rpcCalls.length
        if (n === 1) return // hangs: the page's 3 s timeout aborts it
        if (n === 2) { res.writeHead(503).end('busy'); return }
        let body = ''
        req.on('data', (d: Buffer) => { body += d.toString() })
        req.on('end', () => {
          void fetch(node.info.rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => {
            res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text())
          }, () => { res.writeHead(502).end() })
        })
        return
      }
      serveWebFile(path, res)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => { resolve() }))
    const address = server.address()
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    server?.closeAllConnections()
    server?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
  })

  it('says "connecting to …" and retries with backoff until the node answers, never showing the setup form', async () => {
    const page = await browser.newPage()
    watchConsole(page, 'retry', logs)
    await watchSetupForm(page)
    try {
      await page.goto(`${url}/`)
      await page.waitForFunction(() => /^Connecting to http:\/\/127\.0\.0\.1:\d+…$/.test(document.querySelector('.lp-connecting-text')?.textContent ?? ''), null, { timeout: 15_000 })
      expect(await page.getAttribute('.lp-connecting', 'role')).toBe('status')
      expect(await page.textContent('.lp-connecting-detail')).toMatch(/timed out after 3 s; 1 try\)\. Trying again/)
      // then the 503, then the answer: the dashboard, connected to the node's relay
      await page.waitForFunction(() => window.lightpoolObserver?.node?.connectivity.status().relays.some(r => r.reserved) === true, null, { timeout: 45_000 })
      expect(await page.evaluate(() => window.lightpoolObserver!.config!.source)).toBe('node')
      expect(await page.evaluate(() => window.lightpoolObserver!.waiting?.attempt)).toBe(2)
      expect(rpcCalls.length).toBeGreaterThanOrEqual(3)
      expect(await page.evaluate(() => (window as unknown as { sawSetupForm?: boolean }).sawSetupForm ?? false)).toBe(false)
    } catch (err) {
      console.log(logs.join('\n'))
      throw err
    } finally {
      await page.close()
    }
  }, 90_000)

  it('asks again for a config.json that timed out (a static host under load), never showing the setup form', async () => {
    // a static host: the page and its config.json, no node behind it (/rpc is a 404)
    let asked = 0
    const host = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/config.json') {
        if (++asked === 1) return // hangs past the page's 3 s
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ relays: [node.wsAddr], network: 'retry' }))
        return
      }
      serveWebFile(path, res)
    })
    await new Promise<void>(resolve => host.listen(0, '127.0.0.1', () => { resolve() }))
    const address = host.address()
    const page = await browser.newPage()
    watchConsole(page, 'config.json retry', logs)
    await watchSetupForm(page)
    try {
      await page.goto(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/?insecure=1`)
      await page.waitForFunction(() => window.lightpoolObserver?.node?.connectivity.status().relays.some(r => r.state === 'connected') === true, null, { timeout: 45_000 })
      expect(await page.evaluate(() => window.lightpoolObserver!.config!.source)).toBe('config.json')
      expect(await page.evaluate(() => window.lightpoolObserver!.waiting?.reason)).toBe('timed out after 3 s')
      expect(asked).toBeGreaterThanOrEqual(2)
      expect(await page.evaluate(() => (window as unknown as { sawSetupForm?: boolean }).sawSetupForm ?? false)).toBe(false)
    } catch (err) {
      console.log(logs.join('\n'))
      throw err
    } finally {
      await page.close()
      host.closeAllConnections()
      host.close()
    }
  }, 90_000)
})
