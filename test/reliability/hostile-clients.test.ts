import { mkdirSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { WebSocket, wsText } from '../../node/rpc/ws-lib.ts'
import { recordFigure } from '../helpers/figures.ts'
import { startNode, waitFor } from '../helpers/network.ts'
import { removeDir, runCli, startNodeProcess, tempDir } from '../helpers/process.ts'
import { makeTx } from '../helpers/txs.ts'
import { hex, postFrom, rpcBody, startRpc, type RunningRpc } from '../rpc/helpers.ts'

/**
 * Hostile RPC clients, each from its own loopback address, while an honest
 * client on 127.0.0.1 keeps calling: one address holding hundreds of idle
 * WebSockets or a thousand idle HTTP sockets, and clients that ask for huge
 * replies and never read them. Honest calls must all succeed; what was
 * refused, and how, and the peak RSS go to the figures table.
 */
let node: Lightpool
let server: RunningRpc

beforeAll(async () => {
  node = await startNode()
  // the rate limit is lifted: these attacks are about connections and memory, not request rates
  server = await startRpc({ node, limits: { rateLimitPerSecond: 100_000, writeTimeoutMs: 2_000 } })
})
afterAll(async () => {
  await server.rpc.close()
  await node.stop()
})

/** Honest calls from 127.0.0.1, one after another; resolves with how many of `n` succeeded. */
async function honestCalls (n: number): Promise<number> {
  let ok = 0
  for (let i = 0; i < n; i++) {
    const r = await postFrom('127.0.0.1', server.url, rpcBody('pool_status')).catch(() => ({ status: 0, text: '' }))
    if (r.status === 200 && JSON.parse(r.text).result !== undefined) ok++
  }
  return ok
}

/** Opens a WebSocket from `localAddress`; resolves with it, or with the HTTP status that refused it. */
async function openWs (localAddress: string): Promise<WebSocket | number> {
  return await new Promise((resolve) => {
    const ws = new WebSocket(server.wsUrl, { localAddress })
    ws.once('open', () => { resolve(ws) })
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
    ws.once('error', () => { resolve(0) })
  })
}

function peakRss (): { stop: () => number } {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  return { stop: () => { clearInterval(timer); return Math.max(peak, process.memoryUsage().rss) } }
}

const MB = 1024 * 1024

describe('hostile RPC clients', () => {
  it('256 idle WebSockets from one address leave room for everyone else', async () => {
    const attack = await Promise.all(Array.from({ length: 256 }, async () => await openWs('127.0.0.2')))
    const held = attack.filter((a): a is WebSocket => typeof a !== 'number')
    const refused = attack.filter(a => a === 429).length
    try {
      // honest WebSocket clients from another address connect and are answered
      let honestWs = 0
      for (let i = 0; i < 15; i++) {
        const ws = await openWs('127.0.0.1')
        if (typeof ws === 'number') continue
        const answer = await new Promise<string>((resolve) => {
          ws.once('message', (d) => { resolve(wsText(d)) })
          ws.send(rpcBody('pool_getPendingTxCount'))
        })
        if (JSON.parse(answer).result !== undefined) honestWs++
        ws.close()
      }
      const honestHttp = await honestCalls(15)
      expect(held.length).toBe(server.rpc.limits.maxWsConnectionsPerIp)
      expect(refused).toBe(256 - held.length)
      expect(honestWs).toBe(15)
      expect(honestHttp).toBe(15)
      recordFigure('hostile clients', '256 idle WebSockets from one address', { attackerHeld: held.length, attackerRefused429: refused, honestWs: `${honestWs}/15`, honestHttp: `${honestHttp}/15` })
    } finally {
      for (const ws of held) ws.terminate()
    }
  })

  it('1 100 idle HTTP sockets from one address leave room for everyone else', async () => {
    const sockets: Socket[] = []
    let closedByServer = 0
    // In waves of 100: 1 100 SYNs at once overflow the listen backlog (511)
    // when the suite loads the machine, and the kernel's SYN retries (1, 3, 7,
    // 15, 31 s) then outlast the wait below. The attack is the same: 1 100
    // sockets from one address, all open before the honest clients come.
    for (let wave = 0; wave < 11; wave++) {
      await Promise.all(Array.from({ length: 100 }, async () => await new Promise<void>((resolve) => {
        const s = tcpConnect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.3' })
        s.on('error', () => {})
        s.once('connect', () => { resolve() })
        s.once('close', () => { closedByServer++; resolve() })
        sockets.push(s)
      })))
    }
    try {
      // past the per-address cap, the server closes them at once
      await waitFor(() => closedByServer >= 1_100 - server.rpc.limits.maxConnectionsPerIp, 30_000, 'sockets over the per-address cap to be closed')
      let ok = 0
      // everyone else: 80 fresh clients from 8 other addresses, 10 each (80 at
      // once from one address would themselves pass that address's cap, 64)
      await Promise.all(Array.from({ length: 80 }, async (_, i) => {
        const r = await postFrom(`127.0.1.${1 + (i % 8)}`, server.url, rpcBody('pool_status', undefined, i)).catch(() => ({ status: 0, text: '' }))
        if (r.status === 200) ok++
      }))
      expect(ok).toBe(80)
      // and the ones it kept are closed once idle for httpIdleTimeoutMs
      await waitFor(() => closedByServer === 1_100, server.rpc.limits.httpIdleTimeoutMs + 10_000, 'idle sockets to be closed')
      recordFigure('hostile clients', '1 100 idle HTTP sockets from one address', { closedAtOnce: 1_100 - server.rpc.limits.maxConnectionsPerIp, closedWhenIdle: server.rpc.limits.maxConnectionsPerIp, honestFreshClients: `${ok}/80` })
    } finally {
      for (const s of sockets) s.destroy()
    }
  }, 60_000)

  it('huge replies a client never reads are capped, then cut off; memory stays bounded', async () => {
    const tx = await makeTx({ payloadBytes: 128 * 1024 })
    expect((await node.submitTx(tx.bytes)).status).toBe('added')
    // a batch of 50 pool_getTx of a 128 KiB tx: ~13 MB of JSON without a cap
    const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'pool_getTx', params: [hex(Buffer.from(tx.hash, 'hex'))] })))
    const rssBefore = process.memoryUsage().rss
    const rss = peakRss()
    const readers: Socket[] = []
    for (let i = 0; i < 20; i++) {
      // sends its request, then never reads a byte
      const socket = tcpConnect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.4' })
      socket.on('error', () => {})
      socket.pause()
      socket.write(`POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(batch)}\r\n\r\n${batch}`)
      readers.push(socket)
    }
    const honest = await honestCalls(20)
    // each is disconnected once its reply has waited writeTimeoutMs unread (or, when
    // the kernel's buffers took the whole reply, once idle): the server holds no socket
    // of theirs (theirs, paused, do not see the close)
    const serverSockets = async (): Promise<number> => await new Promise(resolve => { server.rpc.server.getConnections((_err, n) => { resolve(n) }) })
    await waitFor(async () => await serverSockets() === 0, 20_000, 'the clients that do not read to be cut off')
    const peakMb = (rss.stop() - rssBefore) / MB
    for (const r of readers) r.destroy()

    // and a client that reads gets the capped reply: the first answers, then -32006 for the rest
    const read = await postFrom('127.0.0.1', server.url, batch)
    const answers = JSON.parse(read.text) as Array<{ result?: string, error?: { code: number } }>
    const answered = answers.filter(a => a.result !== undefined).length
    expect(answers).toHaveLength(50)
    expect(answered).toBeGreaterThan(0)
    expect(answers.slice(answered).every(a => a.error?.code === -32006)).toBe(true)
    expect(Buffer.byteLength(read.text)).toBeLessThanOrEqual(server.rpc.limits.maxReplyBytes)
    expect(honest).toBe(20)
    // peak RSS is a figure, not an assertion (it depends on when the GC runs); the issue measured +400 MB without the caps
    recordFigure('hostile clients', '20 unread batch replies (50 × 128 KiB tx)', { replyCapMiB: server.rpc.limits.maxReplyBytes / MB, answeredPerBatch: answered, cutOffAfterMs: server.rpc.limits.writeTimeoutMs, peakRssGrowthMB: Math.round(peakMb), honestCalls: `${honest}/20` })
  }, 60_000)
})

describe('hostile HTTP clients and odd data dirs (a node process)', () => {
  it('"GET http://[" is answered 400 without a stack per request; /health and /metrics floods get 429, others are served', async () => {
    const dataDir = tempDir()
    const proc = await startNodeProcess({ dataDir })
    try {
      const port = Number(new URL(proc.info.rpc).port)
      const raw = async (localAddress: string, text: string): Promise<string> => await new Promise((resolve) => {
        const s = tcpConnect({ port, host: '127.0.0.1', localAddress })
        let got = ''
        s.on('data', (d: Buffer) => { got += d.toString() })
        s.on('error', () => { resolve(got) })
        s.on('close', () => { resolve(got) })
        s.end(text)
      })
      const odd = await Promise.all(Array.from({ length: 50 }, async () => await raw('127.0.0.6', 'GET http://[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')))
      const status = (answer: string): string => answer.slice(9, 12)
      expect(odd.every(a => ['400'].includes(status(a))), odd.map(status).join(',')).toBe(true)
      await new Promise(resolve => setTimeout(resolve, 300))
      const errorLines = proc.logs.filter(l => Number(l.level) >= 50).length
      expect(errorLines).toBeLessThanOrEqual(1)

      const flood = await Promise.all(Array.from({ length: 100 }, async () => await raw('127.0.0.7', 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')))
      const limited = flood.filter(a => status(a) === '429').length
      expect(limited).toBeGreaterThan(50)
      const honest = await fetch(proc.info.rpc.replace(/\/rpc$/, '/health'))
      expect(honest.status).toBe(200)
      recordFigure('hostile clients', '"GET http://[" ×50, /health ×100 from one address', { oddAnswered400: odd.length, errorLogLines: errorLines, healthFlood429: `${limited}/100`, honestHealth: honest.status })
    } finally {
      await proc.stop()
      removeDir(dataDir)
    }
  })

  it('a data dir that is a file exits 2 with a message; a node.lock naming a live unrelated process does not block a start', async () => {
    const parent = tempDir()
    try {
      const file = join(parent, 'not-a-dir')
      writeFileSync(file, 'hello')
      const run = await runCli(['node', '--data-dir', file, '--network', 'proctest', '--host', '127.0.0.1', '--tcp-port', '0', '--ws-port', '0', '--http-port', '0'])
      expect(run.code).toBe(2)
      expect(run.stdout).toMatch(/is a file, not a directory/)

      // the PID file of older versions, naming this test's own (live, unrelated) process
      const dataDir = join(parent, 'node')
      mkdirSync(dataDir)
      writeFileSync(join(dataDir, 'node.lock'), String(process.pid))
      const proc = await startNodeProcess({ dataDir })
      // and the kernel lock still keeps a second node out
      const second = await runCli(['node', '--data-dir', dataDir, '--network', 'proctest', '--host', '127.0.0.1', '--tcp-port', '0', '--ws-port', '0', '--http-port', '0'])
      expect(second.code).toBe(2)
      expect(second.stdout).toMatch(/in use by another lightpool node/)
      expect(await proc.stop()).toBe(0)
    } finally {
      removeDir(parent)
    }
  }, 60_000)
})
