import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import type { Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'
import { call, hex, postFrom, rpcBody, startRpc, WsClient, type Json, type RunningRpc } from './helpers.ts'

let node: Lightpool
let srv: RunningRpc
let clients: WsClient[] = []

async function open (url = srv.wsUrl, opts: { localAddress?: string } = {}): Promise<WsClient> {
  const c = await WsClient.connect(url, opts)
  clients.push(c)
  return c
}

beforeAll(async () => {
  node = await startNode()
  srv = await startRpc({ node, limits: { rateLimitPerSecond: 10_000, maxSubscriptionsPerSocket: 3 } })
})

afterEach(async () => {
  await Promise.all(clients.map(async c => { await c.close() }))
  clients = []
})

afterAll(async () => {
  await srv.rpc.close()
  await stopAll([node])
})

describe('JSON-RPC over WebSocket', () => {
  it('answers single and batch requests, errors and notifications like HTTP', async () => {
    const c = await open()
    expect((await c.call('pool_getPendingTxCount')).result).toBeTypeOf('number')
    expect((await c.call('pool_status')).result).toMatchObject({ minFee: '1' })

    const batch = await c.raw(JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'pool_getPendingTxCount' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { jsonrpc: '2.0', method: 'pool_status' }
    ]))
    expect(batch.map((r: Json) => [r.id, r.error?.code ?? 'ok'])).toEqual([[1, 'ok'], [2, -32601]])

    expect(await c.raw('{"jsonrpc":"2.0",')).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error: not valid JSON' } })
    expect((await c.raw('['.repeat(100_000))).error.code).toBe(-32006)
    // a notification gets no answer: the next reply is the call's
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'pool_status' }))
    expect((await c.call('pool_getTx', ['bad'])).error?.code).toBe(-32602)
    expect(c.closed).toBeUndefined()
  })

  it('rate limits per IP like HTTP, answering each request id', async () => {
    const limited = await startRpc({ node, limits: { rateLimitPerSecond: 5 } })
    try {
      const c = await open(limited.wsUrl, { localAddress: '127.0.0.5' }) // the upgrade counts as one
      const replies = await Promise.all(Array.from({ length: 5 }, async () => await c.call('pool_getPendingTxCount')))
      expect(replies.map(r => r.error?.code ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', -32005])
      expect(c.closed).toBeUndefined()
      // HTTP from the same address shares the budget; another address has its own
      expect((await postFrom('127.0.0.5', limited.url, rpcBody('pool_status'))).status).toBe(429)
      expect((await call(limited.url, 'pool_status')).result).toMatchObject({ minFee: '1' })
    } finally {
      await limited.rpc.close()
    }
  })
})

describe('subscriptions', () => {
  it('deliver newTxs when a tx is submitted and droppedTxs when it is removed', async () => {
    const c = await open()
    const newTxs = (await c.call('pool_subscribe', ['newTxs'])).result as string
    const dropped = (await c.call('pool_subscribe', { kind: 'droppedTxs' })).result as string
    expect(newTxs).toMatch(/^0x[0-9a-f]{32}$/)
    expect(dropped).not.toBe(newTxs)

    const tx = await makeTx()
    expect((await call(srv.url, 'pool_sendTx', [hex(tx.bytes)])).result).toEqual({ hash: `0x${tx.hash}` })
    await waitFor(() => c.notifications.length === 1, 5_000, 'the newTxs notification')
    const entry = node.pool.get(tx.hash)!
    expect(c.notifications[0]).toEqual({
      subscription: newTxs,
      result: {
        hash: `0x${tx.hash}`,
        size: tx.meta.size,
        fee: '100',
        expiresAt: tx.meta.expiresAt,
        nullifiers: tx.meta.nullifiers.map(n => `0x${n}`),
        receivedAt: entry.receivedAt,
        hasBody: true
      }
    })

    node.pool.markMined({ hashes: [tx.hash] })
    await waitFor(() => c.notifications.length === 2, 5_000, 'the droppedTxs notification')
    expect(c.notifications[1]).toEqual({ subscription: dropped, result: { hash: `0x${tx.hash}`, reason: 'mined' } })

    // a replacement names its replacer
    const nullifier = randomBytes(32)
    const first = await makeTx({ fee: 100n, nullifierSeeds: [nullifier] })
    const second = await makeTx({ fee: 500n, nullifierSeeds: [nullifier] })
    await node.submitTx(first.bytes)
    await node.submitTx(second.bytes)
    await waitFor(() => c.notifications.length === 5, 5_000, 'new, dropped, new')
    expect(c.notifications.slice(2).map(n => n.result.reason ?? 'new')).toEqual(['new', 'replaced', 'new'])
    expect(c.notifications[3].result).toEqual({ hash: `0x${first.hash}`, reason: 'replaced', by: `0x${second.hash}` })
  })

  it('stop after pool_unsubscribe, and only for that subscription', async () => {
    const c = await open()
    const a = (await c.call('pool_subscribe', ['newTxs'])).result as string
    const b = (await c.call('pool_subscribe', ['newTxs'])).result as string
    expect((await c.call('pool_unsubscribe', [a])).result).toBe(true)
    expect((await c.call('pool_unsubscribe', [a])).result).toBe(false)
    expect((await c.call('pool_unsubscribe', ['0xnotmine'])).result).toBe(false)
    expect((await c.call('pool_unsubscribe', [5])).error?.code).toBe(-32602)

    // another socket cannot end this one's subscription
    const other = await open()
    expect((await other.call('pool_unsubscribe', [b])).result).toBe(false)

    const tx = await makeTx()
    await node.submitTx(tx.bytes)
    // notifications are sent as the pool admits, before any later reply on the same socket
    await c.call('pool_status')
    expect(c.notifications.map(n => n.subscription)).toEqual([b])
  })

  it('are bounded per socket, validated, and end with their socket', async () => {
    const c = await open()
    for (let i = 0; i < 3; i++) expect((await c.call('pool_subscribe', ['droppedTxs'])).result).toBeTypeOf('string')
    const over = await c.call('pool_subscribe', ['newTxs'])
    expect(over.error).toMatchObject({ code: -32006, message: 'too many subscriptions: at most 3 per connection' })
    expect((await c.call('pool_subscribe', ['everything'])).error).toMatchObject({ code: -32602, message: 'invalid params: kind: expected one of "newTxs", "droppedTxs"' })
    expect((await c.call('pool_subscribe')).error?.code).toBe(-32602)
    expect(srv.rpc.stats().ws.subscriptions).toBe(3)
    await c.close()
    await waitFor(() => srv.rpc.stats().ws.subscriptions === 0 && srv.rpc.stats().ws.connections === 0, 5_000, 'the socket\'s subscriptions to end')
  })
})

describe('WebSocket limits', () => {
  it('refuse connections past the limit with 503', async () => {
    const small = await startRpc({ node, limits: { maxWsConnections: 2 } })
    try {
      const a = await open(small.wsUrl)
      await open(small.wsUrl)
      await expect(WsClient.connect(small.wsUrl)).rejects.toThrow(/503/)
      await a.close()
      await waitFor(() => small.rpc.stats().ws.connections === 1, 5_000, 'the server to see the close')
      expect((await (await open(small.wsUrl)).call('pool_getPendingTxCount')).result).toBeTypeOf('number')
      // HTTP is still served at the WebSocket limit
      expect((await call(small.url, 'pool_getPendingTxCount')).result).toBeTypeOf('number')
    } finally {
      await small.rpc.close()
    }
  })

  it('close a socket that sends a message over the size limit (1009)', async () => {
    const small = await startRpc({ node, limits: { maxWsMessageBytes: 1024 } })
    try {
      const c = await open(small.wsUrl)
      expect((await c.call('pool_getPendingTxCount')).result).toBeTypeOf('number')
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_getTx', params: ['0'.repeat(2000)] }))
      await waitFor(() => c.closed !== undefined, 5_000, 'the close')
      expect(c.closed?.code).toBe(1009)
    } finally {
      await small.rpc.close()
    }
  })

  it('drop a client that does not read (1008), serving others meanwhile', async () => {
    const warnings: string[] = []
    const small = await startRpc({
      node,
      limits: { maxWsBufferedBytes: 256 * 1024, rateLimitPerSecond: 100_000 },
      logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (_obj, msg) => { warnings.push(msg ?? '') } }
    })
    const tx = await makeTx({ payloadBytes: 40_000 })
    await node.submitTx(tx.bytes)
    const slow = await rawWebSocket(small.port)
    try {
      slow.pause() // reads nothing from now on
      const closed = new Promise<void>(resolve => { slow.on('close', () => { resolve() }) })
      const request = wsFrame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_getTx', params: [tx.hash] }))
      // 400 answers of ~80 KB each: far more than the kernel's socket buffers hold
      for (let i = 0; i < 400; i++) slow.write(request)

      const fast = await open(small.wsUrl)
      await waitFor(() => small.rpc.stats().ws.droppedSlow === 1, 15_000, 'the slow client to be dropped')
      expect(warnings).toContain('dropping slow WebSocket client')
      expect((await fast.call('pool_getPendingTxCount')).result).toBeTypeOf('number')
      await waitFor(() => small.rpc.stats().ws.connections === 1, 5_000, 'the slow client\'s socket to be destroyed')
      slow.resume()
      await closed
      expect(fast.closed).toBeUndefined()
    } finally {
      slow.destroy()
      await small.rpc.close()
    }
  })
})

/** A WebSocket handshake by hand, leaving the raw socket: a client that can stop reading. */
async function rawWebSocket (port: number): Promise<Socket> {
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/rpc',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13'
      }
    })
    req.on('upgrade', (_res, socket) => { resolve(socket) })
    req.on('response', (res) => { reject(new Error(`no upgrade: ${res.statusCode}`)) })
    req.on('error', reject)
    req.end()
  })
}

/** A masked client text frame. */
function wsFrame (text: string): Buffer {
  const payload = Buffer.from(text)
  let header: Buffer
  if (payload.length < 126) {
    header = Buffer.from([0x81, 0x80 | payload.length])
  } else if (payload.length < 65_536) {
    header = Buffer.alloc(4)
    header[0] = 0x81
    header[1] = 0x80 | 126
    header.writeUInt16BE(payload.length, 2)
  } else {
    header = Buffer.alloc(10)
    header[0] = 0x81
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(payload.length), 2)
  }
  const mask = randomBytes(4)
  const masked = Buffer.alloc(payload.length)
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i % 4]!
  return Buffer.concat([header, mask, masked])
}
