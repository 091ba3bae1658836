import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NO_BROWSER, ensureWebBuilt, launchChromium, OUTPUT_DIR, removeDir, startRelayNode, watchConsole, type TestNode } from '../helpers/browser.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * What a mempool watcher looks for first, on the observer page of a real
 * node in Chromium: the projected next rollups and the fee to get in (they
 * must agree with the node's own pool_feeEstimate), a page per tx that
 * follows the tx's status, and a history that survives a reload.
 */
const fee = (s: string): string => new Intl.NumberFormat('en-US').format(BigInt(s))

interface RpcEstimate {
  nextRollup: string
  withinRollups: string
  projected: Array<{ txs: number, bytes: number, minFee: string | null, maxFee: string | null }>
}

describe.skipIf(NO_BROWSER)('observer page: what comes next (Chromium)', () => {
  let browser: Browser
  let node: TestNode
  let page: Page
  const logs: string[] = []

  beforeAll(async () => {
    await ensureWebBuilt()
    node = await startRelayNode({ network: 'watch', args: ['--rpc-admin'] })
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    watchConsole(page, 'watch', logs)
    await page.goto(`${node.httpUrl}/`)
    await page.waitForFunction(() => window.lightpoolObserver?.node?.connectivity.status().relays.some(r => r.state === 'connected' && r.reserved) === true, null, { timeout: 30_000 })
  })
  afterAll(async () => {
    if (logs.length > 0) console.log(logs.join('\n'))
    await browser?.close()
    await node?.stop().catch(() => {})
    if (node !== undefined) removeDir(node.dataDir)
  })

  it('draws the projected rollups and the fee estimate the node computes for a pool of known fees', async () => {
    // 230 txs of ~40 kB at fees 1000…1229: with the default 4 MiB rollups, 104 + 104 + 22
    const txs = await Promise.all(Array.from({ length: 230 }, async (_, i) => await makeTx({ fee: BigInt(1000 + i), payloadBytes: 40_000 })))
    for (let i = 0; i < txs.length; i += 20) {
      await Promise.all(txs.slice(i, i + 20).map(async tx => await node.call('pool_sendTx', [`0x${Buffer.from(tx.bytes).toString('hex')}`])))
    }
    await page.waitForFunction((n) => window.lightpoolObserver!.node!.pool.size >= n, txs.length, { timeout: 30_000 })
    const rpc = await node.call<RpcEstimate>('pool_feeEstimate', [])
    expect(rpc.projected.map(r => r.txs)).toEqual([104, 104, 22, 0, 0, 0])
    expect(rpc.nextRollup).toBe('1127')
    const want = rpc.projected.map(r => ({
      txs: `${r.txs} tx${r.txs === 1 ? '' : 's'}`,
      fees: r.minFee === null ? 'empty' : `fee ${fee(r.minFee)}–${fee(r.maxFee!)}`
    }))
    // the blocks update within the view's forecast interval
    await page.waitForFunction((w) => {
      const blocks = [...document.querySelectorAll('.lp-rollups-card .lp-rollup')]
      return JSON.stringify(blocks.map(b => ({ txs: b.querySelector('.lp-rollup-txs')?.textContent, fees: b.querySelector('.lp-rollup-fees')?.textContent }))) === JSON.stringify(w)
    }, want, { timeout: 10_000 })
    expect(await page.textContent('.lp-rollups-card [data-estimate="next"] .lp-estimate-value')).toBe(`≥ ${fee(rpc.nextRollup)}`)
    expect(await page.textContent('.lp-rollups-card [data-estimate="within"] .lp-estimate-value')).toBe(`≥ ${fee(rpc.withinRollups)}`)
    mkdirSync(OUTPUT_DIR, { recursive: true })
    await page.screenshot({ path: join(OUTPUT_DIR, 'observer-rollups.png') })
  }, 120_000)
})
