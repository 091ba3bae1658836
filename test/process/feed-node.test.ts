import parsePrometheus from 'parse-prometheus-text-format'
import { afterEach, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { toHex } from '../../src/index.ts'
import type { Lightpool } from '../../src/lightpool.ts'
import { startNode, stopAll, waitFor } from '../helpers/network.ts'
import { removeDir, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'
import { makeTx } from '../helpers/txs.ts'

let proc: NodeProcess | undefined
let dir: string | undefined
let lights: Lightpool[] = []
afterEach(async () => {
  await stopAll(lights)
  lights = []
  if (proc !== undefined && proc.proc.exitCode === null) await proc.kill9()
  if (dir !== undefined) removeDir(dir)
})

async function metrics (node: NodeProcess): Promise<Map<string, string>> {
  const text = await (await fetch(node.info.rpc.replace(/\/rpc$/, '/metrics'))).text()
  return new Map(parsePrometheus(text).filter(f => f.name.startsWith('lightpool_feed') || f.name.startsWith('lightpool_push')).map(f => [f.name, f.metrics[0]?.value ?? '']))
}

describe('lightpool node serves the light feed (process)', () => {
  it('takes --feed-max-subscribers, feeds a light node, takes its push, and counts it all in /metrics', async () => {
    dir = tempDir()
    proc = await startNodeProcess({ dataDir: dir, network: 'test', args: ['--feed-max-subscribers', '1'] })
    const addr = multiaddr(proc.tcpAddr)
    const first = await startNode({ mode: 'light' })
    const second = await startNode({ mode: 'light' })
    lights = [first, second]
    await first.libp2p.dial(addr)
    await waitFor(() => first.libp2p.services.feedClient!.subscribed().length === 1, 15_000, 'the first subscription')
    await second.libp2p.dial(addr)

    const tx = await makeTx()
    expect(await first.submitTx(tx.bytes)).toMatchObject({ status: 'added' })
    expect(await proc.call('pool_getTx', [`0x${tx.hash}`])).toBe(`0x${toHex(tx.bytes)}`)
    const other = await makeTx()
    await proc.call('pool_sendTx', [`0x${toHex(other.bytes)}`])
    await waitFor(() => first.pool.has(other.hash), 15_000, 'the feed to list the RPC tx')

    await waitFor(async () => Number((await metrics(proc!)).get('lightpool_feed_refused_total')) >= 1, 15_000, 'the second subscription to be refused')
    expect(second.libp2p.services.feedClient!.subscribed()).toEqual([])
    const m = await metrics(proc)
    expect(m.get('lightpool_feed_subscribers')).toBe('1')
    expect(Number(m.get('lightpool_feed_frames_sent_total'))).toBeGreaterThan(0)
    expect(Number(m.get('lightpool_feed_bytes_sent_total'))).toBeGreaterThan(0)
    expect(m.get('lightpool_push_added_total')).toBe('1')
    for (const name of ['lightpool_feed_resyncs_total', 'lightpool_feed_drops_total', 'lightpool_feed_queued_bytes']) expect(m.has(name), name).toBe(true)
  }, 60_000)
})
