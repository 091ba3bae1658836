import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import parsePrometheus from 'parse-prometheus-text-format'
import { afterEach, describe, expect, it } from 'vitest'
import { toHex } from '../../src/index.ts'
import { removeDir, runCli, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'
import { waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

/** Debian's prometheus package; .ci/run installs it. Without it (outside CI) the lint is skipped with a warning. */
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find(p => existsSync(p))
if (PROMTOOL === undefined) {
  if (process.env.CI === 'true') throw new Error('promtool not found: .ci/run installs Debian\'s prometheus package')
  process.stderr.write('\n⚠ promtool not found: the metrics lint is skipped (apt-get install -y prometheus)\n')
}

const running: NodeProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async n => { if (n.proc.exitCode === null) await n.kill9() }))
  for (const d of dirs.splice(0)) removeDir(d)
})

function dir (): string {
  const d = tempDir()
  dirs.push(d)
  return d
}

async function start (opts: Parameters<typeof startNodeProcess>[0]): Promise<NodeProcess> {
  const n = await startNodeProcess(opts)
  running.push(n)
  return n
}

const hex = (b: Uint8Array): string => `0x${toHex(b)}`

/**
 * One sample's value from Prometheus text, by name and labels (0 if absent).
 * parse-prometheus-text-format drops a histogram's labels and count when
 * `le` comes first, as prom-client writes it, so histograms are read here.
 */
function sample (text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (m?.[1] !== name) continue
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(l => [l[1], l[2]]))
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3])
  }
  return 0
}

describe('lightpool node (process)', () => {
  it('answers JSON-RPC, keeps its peer id across restarts, and shuts down cleanly on SIGTERM', async () => {
    const dataDir = dir()
    const node = await start({ dataDir })
    const tx = await makeTx({ payloadBytes: 40_000 })
    const { hash } = await node.call<{ hash: string }>('pool_sendTx', [hex(tx.bytes)])
    expect(hash).toBe(`0x${tx.hash}`)
    expect(await node.call('pool_getTx', [hash])).toBe(hex(tx.bytes))
    expect(await node.call('pool_getTxStatus', [hash])).toMatchObject({ status: 'pending' })
    expect(await node.call('pool_getPendingTxCount')).toBe(1)
    await expect(node.call('pool_sendTx', ['0x1234'])).rejects.toThrow(/malformed/)

    expect(await node.stop()).toBe(0)
    expect(node.logs.some(l => l.msg === 'stopped cleanly')).toBe(true)
    const again = await start({ dataDir })
    expect(again.info.peerId).toBe(node.info.peerId)
    expect(again.info.restoredTxs).toBe(1)
    expect(await again.call('pool_getTx', [hash])).toBe(hex(tx.bytes))
  }, 120_000) // two node starts and a clean stop: a start alone took 15-25 s under load

  it('two nodes over TCP share a tx submitted to one', async () => {
    const a = await start({ dataDir: dir() })
    const b = await start({ dataDir: dir(), args: ['--bootstrap', a.tcpAddr] })
    await waitFor(async () => (await a.call<unknown[]>('p2p_getPeers')).length > 0, 15_000, 'the bootstrap connection')
    const tx = await makeTx({ payloadBytes: 40_000 })
    await a.call('pool_sendTx', [hex(tx.bytes)])
    // pool_getTxStatus asks nothing of peers (pool_getTx would fetch on demand), so b gets the tx by the announcement
    await waitFor(async () => (await b.call<{ status: string }>('pool_getTxStatus', [`0x${tx.hash}`])).status === 'pending', 15_000, 'the tx pending on the second node')
    await waitFor(async () => (await b.call('pool_getTx', [`0x${tx.hash}`])) === hex(tx.bytes), 15_000, 'the tx on the second node')
    // b fetched the body after hearing of it: both waits are in b's histograms (the body wait once the
    // store has acknowledged the tx, which can be just after the RPC shows it)
    const metrics = async (): Promise<string> => await (await fetch(b.info.rpc.replace(/\/rpc$/, '/metrics'))).text()
    const bodyWaits = (text: string): number => ['gossip', 'sync', 'demand'].map(via => sample(text, 'lightpool_tx_body_wait_seconds_count', { via })).reduce((x, y) => x + y)
    await waitFor(async () => bodyWaits(await metrics()) >= 1, 15_000, 'the body wait in b\'s histogram')
    expect(sample(await metrics(), 'lightpool_fetch_duration_seconds_count', { kind: 'tx', outcome: 'ok' })).toBeGreaterThanOrEqual(1)
  }, 120_000) // two node starts: over 30 s when the machine is loaded

  it('keeps every acknowledged tx through kill -9 during a submission burst', async () => {
    const dataDir = dir()
    const txs = await Promise.all(Array.from({ length: 200 }, async () => await makeTx({ payloadBytes: 20_000 })))
    for (let round = 0; round < 3; round++) {
      const node = await start({ dataDir, args: ['--rpc-rate-limit', '100000'] })
      const acked: string[] = []
      const batch = txs.slice(round * 60, round * 60 + 60)
      let killed = false
      const sends = batch.map(async (tx, i) => {
        await new Promise(resolve => setTimeout(resolve, i * 3))
        try {
          await node.call('pool_sendTx', [hex(tx.bytes)])
          acked.push(tx.hash)
        } catch {
          // in flight when the node died: not acknowledged, so not promised
        }
      })
      // kill while submissions are still arriving
      await waitFor(() => acked.length >= 20 + round * 5, 20_000, 'some acknowledgements')
      await node.kill9()
      killed = true
      await Promise.all(sends)
      expect(killed).toBe(true)
      // up to 60 status calls in a burst: over the default 50/s RPC rate limit
      const restarted = await start({ dataDir, args: ['--rpc-rate-limit', '100000'] })
      for (const hash of acked) {
        expect(await restarted.call('pool_getTxStatus', [`0x${hash}`]), hash).toMatchObject({ status: 'pending' })
      }
      expect(restarted.info.restoredTxs).toBeGreaterThanOrEqual(acked.length)
      await restarted.stop()
    }
  }, 120_000) // six node starts: over 30 s when the machine is loaded

  it('reconnects to peers from its peer store when its bootnode is gone', async () => {
    const boot = await start({ dataDir: dir() })
    const bDir = dir()
    const b = await start({ dataDir: bDir, args: ['--bootstrap', boot.tcpAddr, '--min-peers', '2'] })
    const c = await start({ dataDir: dir(), args: ['--bootstrap', boot.tcpAddr, '--min-peers', '2'] })
    const peersOf = async (n: NodeProcess): Promise<string[]> => (await n.call<Array<{ peerId: string }>>('p2p_getPeers')).map(p => p.peerId)
    await waitFor(async () => (await peersOf(b)).includes(c.info.peerId), 30_000, 'b and c to meet through peer exchange')
    await b.stop()
    await boot.stop()
    const b2 = await start({ dataDir: bDir, args: ['--bootstrap', boot.tcpAddr, '--min-peers', '2'] })
    await waitFor(async () => (await peersOf(b2)).includes(c.info.peerId), 30_000, 'b to reconnect to c from its peer store')
  }, 120_000) // four node starts and two peer-exchange waits of up to 30 s

  it('serves Prometheus metrics, a health check and the widget to any origin', async () => {
    const node = await start({ dataDir: dir() })
    await node.call('pool_sendTx', [hex((await makeTx()).bytes)])
    const base = node.info.rpc.replace(/\/rpc$/, '')
    const res = await fetch(`${base}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await res.text()
    // every non-comment line is `name{labels} value`
    for (const line of text.split('\n').filter(l => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/)
    }
    const families = new Map(parsePrometheus(text).map(f => [f.name, f]))
    expect(families.get('lightpool_pool_txs')?.metrics[0]?.value).toBe('1')
    expect(families.get('lightpool_admissions_total')?.metrics.find(m => m.labels?.status === 'added')?.value).toBe('1')
    expect(families.has('lightpool_relay_reservations')).toBe(true)
    expect([...families.keys()].some(k => k.startsWith('libp2p_'))).toBe(true)
    // Node's process metrics under the names stock dashboards query
    expect(families.has('process_cpu_seconds_total')).toBe(true)
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true)
    expect([...families.keys()].filter(k => k.startsWith('lightpool_process_'))).toEqual([])
    expect(sample(text, 'lightpool_rpc_request_duration_seconds_count', { method: 'pool_sendTx', outcome: 'ok' })).toBe(1)
    // promtool's lint finds nothing in lightpool's own metrics (libp2p's and prom-client's are theirs)
    if (PROMTOOL !== undefined) {
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' })
      expect(lint.error).toBeUndefined()
      const ours = `${lint.stdout}\n${lint.stderr}`.split('\n').filter(l => /^lightpool_/.test(l) || /error/i.test(l))
      expect(ours).toEqual([])
    }
    const widget = await fetch(`${base}/lib/lightpool-widget.js`)
    expect(widget.status).toBe(200)
    expect(widget.headers.get('access-control-allow-origin')).toBe('*')
    const health = await (await fetch(`${base}/health`)).json() as Record<string, unknown>
    expect(health).toMatchObject({ status: 'ok', peerId: node.info.peerId, pendingTxs: 1 })
  }, 120_000) // a node start: 15-25 s under load

  it('refuses a data dir of another network, or in use, with a clear error and no crash loop', async () => {
    const dataDir = dir()
    const first = await start({ dataDir, network: 'alpha' })
    const busy = await runCli(['node', '--data-dir', dataDir, '--network', 'alpha', '--tcp-port', '0', '--ws-port', '0', '--http-port', '0'])
    expect(busy.code).toBe(2)
    expect(busy.stdout).toMatch(/in use by another lightpool node/)
    await first.stop()
    const foreign = await runCli(['node', '--data-dir', dataDir, '--network', 'beta', '--tcp-port', '0', '--ws-port', '0', '--http-port', '0'])
    expect(foreign.code).toBe(2)
    expect(foreign.stdout).toMatch(/belongs to network \\"alpha\\"/)
  }, 120_000) // a node start and two refused ones

  it('takes settings from flags over environment over a config file', async () => {
    const dataDir = dir()
    const config = join(dataDir, '..', `${dataDir.split('/').pop()}.json`)
    writeFileSync(config, JSON.stringify({ maxTxs: 7, minFee: '5', 'log-level': 'info' }))
    const node = await start({ dataDir, args: ['--config', config, '--max-txs', '9'], env: { LIGHTPOOL_MIN_FEE: '6' } })
    expect(await node.call('pool_status')).toMatchObject({ maxCount: 9, minFee: '6' })
    const bad = await runCli(['node', '--max-txs', 'lots'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--max-txs.*integer/)
    const help = await runCli(['node', '--help'])
    expect(help.stdout).toMatch(/--relay-max-reservations/)
    expect(help.stdout).toMatch(/LIGHTPOOL_/)
  }, 120_000) // a node start and two CLI runs

  it('lightpool send signs, submits and prints one hash per line', async () => {
    const node = await start({ dataDir: dir() })
    const out = await runCli(['send', '--rpc', node.info.rpc, '--count', '12', '--rate', '40', '--size', '2000', '--fee', '10-20'])
    expect(out.code).toBe(0)
    const hashes = out.stdout.trim().split('\n')
    expect(hashes).toHaveLength(12)
    expect(hashes.every(h => /^0x[0-9a-f]{64}$/.test(h))).toBe(true)
    expect(JSON.parse(out.stderr.trim().split('\n').at(-1)!)).toMatchObject({ sent: 12, accepted: 12, failed: 0 })
    expect(await node.call('pool_getPendingTxCount')).toBe(12)
  }, 120_000) // a node start and a 12-tx send

  it('lightpool send takes the node\'s base URL, and every failure says what went wrong', async () => {
    const node = await start({ dataDir: dir() })
    const base = node.info.rpc.replace(/\/rpc$/, '')
    const ok = await runCli(['send', '--rpc', base, '--count', '2', '--size', '2000'])
    expect(ok.code).toBe(0)
    expect(ok.stdout.trim().split('\n')).toHaveLength(2)
    expect(await node.call('pool_getPendingTxCount')).toBe(2)

    const wrongPath = await runCli(['send', '--rpc', `${base}/nope`, '--count', '1'])
    expect(wrongPath.code).toBe(1)
    expect(wrongPath.stderr).toMatch(/send failed: HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/nope, not a JSON-RPC response/)
    // a port nothing listens on (fetch refuses well-known ones such as 1 as "bad port")
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const closedPort = (server.address() as AddressInfo).port
    await new Promise(resolve => server.close(resolve))
    const refused = await runCli(['send', '--rpc', `http://127.0.0.1:${closedPort}`, '--count', '1'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(new RegExp(`send failed: cannot reach http://127\\.0\\.0\\.1:${closedPort}/rpc: ECONNREFUSED`))
    const notUrl = await runCli(['send', '--rpc', 'localhost:8080', '--count', '1'])
    expect(notUrl.stderr).toMatch(/expected an http:\/\/ or https:\/\/ URL|is not a URL/)
    const badKey = await runCli(['send', '--rpc', base, '--key', join(dir(), 'missing.key')])
    expect(badKey.code).toBe(1)
    expect(badKey.stderr.trim()).toMatch(/^lightpool: --key .*missing\.key: ENOENT/)
    // no failure line ends in an empty message
    for (const r of [wrongPath, refused, notUrl, badKey]) expect(r.stderr).not.toMatch(/: *$/m)
  }, 120_000)
})
