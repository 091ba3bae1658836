import { afterEach, describe, expect, it } from 'vitest'
import { toHex } from '../../src/index.ts'
import { recordFigure, STRESS } from '../helpers/figures.ts'
import { allPendingHashes, removeDir, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'
import { makeTx } from '../helpers/txs.ts'

const running: NodeProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async n => { if (n.proc.exitCode === null) await n.kill9() }))
  for (const d of dirs.splice(0)) removeDir(d)
})

/**
 * kill -9 at random moments during a load of RPC submissions, many times
 * over one data dir: every acknowledged tx is pending after each restart,
 * and the store opens cleanly every time.
 */
describe('crash safety', () => {
  it('every acknowledged tx survives kill -9 at random moments', async () => {
    const ROUNDS = STRESS ? 20 : 6
    const dataDir = tempDir()
    dirs.push(dataDir)
    const acked = new Set<string>()
    let restartMs = 0
    let submitted = 0
    let inFlightAtKill = 0
    for (let round = 0; round < ROUNDS; round++) {
      const t = performance.now()
      const node = await startNodeProcess({ dataDir, args: ['--rpc-rate-limit', '100000'] })
      running.push(node)
      restartMs = Math.max(restartMs, performance.now() - t)
      // everything acknowledged in earlier rounds is still here
      // (more than one RPC page by the later rounds: read them all)
      const present = await allPendingHashes(node)
      for (const hash of acked) expect(present.has(hash), `acknowledged ${hash} lost after a crash`).toBe(true)

      const txs = await Promise.all(Array.from({ length: 40 }, async () => await makeTx({ payloadBytes: 8_000 })))
      let flying = 0
      const killAt = 20 + Math.random() * 400
      const sends = txs.map(async (tx, i) => {
        await new Promise(resolve => setTimeout(resolve, i * 8))
        flying++
        submitted++
        try {
          await node.call('pool_sendTx', [`0x${toHex(tx.bytes)}`])
          acked.add(tx.hash)
        } catch {
          // in flight when the node died: never acknowledged
        } finally {
          flying--
        }
      })
      await new Promise(resolve => setTimeout(resolve, killAt))
      inFlightAtKill += flying
      await node.kill9()
      await Promise.all(sends)
    }
    const final = await startNodeProcess({ dataDir })
    running.push(final)
    const present = await allPendingHashes(final)
    const lost = [...acked].filter(h => !present.has(h))
    expect(lost).toEqual([])
    recordFigure('crash safety', 'kill -9 during RPC submissions', {
      rounds: ROUNDS, attempted: submitted, acknowledged: acked.size, pending_at_end: present.size, in_flight_at_kills: inFlightAtKill, lost: lost.length, slowest_restart_ms: Math.round(restartMs)
    })
  // a real node start per round (1–5 s each on a loaded 2-core machine): 20 stress rounds passed vitest's 30 s default
  }, STRESS ? 300_000 : 120_000)
})
