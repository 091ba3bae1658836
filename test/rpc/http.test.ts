import { connect as netConnect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import type { RpcLogger } from '../../node/rpc/index.ts'
import { startNode, stopAll } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'
import { call, hex, post, postFrom, result, rpcBody, startRpc, type Json, type RunningRpc } from './helpers.ts'

let node: Lightpool
let srv: RunningRpc
const errors: Array<{ obj: object, msg?: string }> = []
const logger: RpcLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (obj, msg) => { errors.push(msg === undefined ? { obj } : { obj, msg }) }
}

beforeAll(async () => {
  node = await startNode()
  srv = await startRpc({
    node,
    logger,
    limits: { rateLimitPerSecond: 10_000 },
    routes: (req, res) => {
      if (req.url !== '/health') return false
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      return true
    }
  })
})

afterAll(async () => {
  await srv.rpc.close()
  await stopAll([node])
})

describe('JSON-RPC envelopes', () => {
  it('answers malformed JSON with -32700 and id null', async () => {
    for (const body of ['{"jsonrpc":"2.0",', 'nope', '', '{"a":1}}']) {
      const res = await post(srv.url, body)
      expect(res.status, body).toBe(400)
      expect(res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error: not valid JSON' } })
    }
  })

  it('answers a non-object or a broken envelope with -32600', async () => {
    const cases: Array<[string, string | number | null, RegExp]> = [
      ['42', null, /not a JSON object/],
      ['"pool_status"', null, /not a JSON object/],
      ['null', null, /not a JSON object/],
      ['{"jsonrpc":"1.0","id":7,"method":"pool_status"}', 7, /"jsonrpc" must be "2.0"/],
      ['{"id":"a","method":"pool_status"}', 'a', /"jsonrpc" must be "2.0"/],
      ['{"jsonrpc":"2.0","id":8}', 8, /"method" must be a string/],
      ['{"jsonrpc":"2.0","id":9,"method":5}', 9, /"method" must be a string/],
      ['{"jsonrpc":"2.0","id":{"x":1},"method":"pool_status"}', null, /id must be/],
      ['{"jsonrpc":"2.0","id":10,"method":"pool_status","params":"x"}', 10, /"params" must be an array or an object/],
      ['{"jsonrpc":"2.0","method":7}', null, /"method" must be a string/]
    ]
    for (const [body, id, message] of cases) {
      const res = await post(srv.url, body)
      expect(res.status, body).toBe(200)
      const reply = res.json()
      expect(reply.id, body).toBe(id)
      expect(reply.error.code, body).toBe(-32600)
      expect(reply.error.message).toMatch(message)
    }
    const empty = await post(srv.url, '[]')
    expect(empty.status).toBe(400)
    expect(empty.json().error).toMatchObject({ code: -32600, message: 'invalid request: empty batch' })
  })

  it('answers an unknown method with -32601, echoing the id', async () => {
    const res = await post(srv.url, rpcBody('eth_sendRawTransaction', [], 'abc'))
    expect(res.json()).toEqual({ jsonrpc: '2.0', id: 'abc', error: { code: -32601, message: 'method not found: eth_sendRawTransaction' } })
    const long = await call(srv.url, 'x'.repeat(10_000))
    expect(long.error?.message.length).toBeLessThan(100)
  })

  it('does not answer notifications, but runs them', async () => {
    const tx = await makeTx()
    const res = await post(srv.url, JSON.stringify({ jsonrpc: '2.0', method: 'pool_sendTx', params: [hex(tx.bytes)] }))
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect(node.pool.has(tx.hash)).toBe(true)

    const unknown = await post(srv.url, JSON.stringify({ jsonrpc: '2.0', method: 'no_such_method' }))
    expect(unknown.status).toBe(204)
    const batch = await post(srv.url, JSON.stringify([{ jsonrpc: '2.0', method: 'pool_status' }, { jsonrpc: '2.0', method: 'pool_getTx', params: ['bad'] }]))
    expect(batch.status).toBe(204)
  })

  it('answers a batch of valid and invalid entries in order, leaving out notifications', async () => {
    const tx = await makeTx()
    const body = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'pool_sendTx', params: [hex(tx.bytes)] },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { jsonrpc: '2.0', method: 'pool_status' },
      42,
      { jsonrpc: '2.0', id: 3, method: 'pool_getTx', params: ['0x12'] },
      { jsonrpc: '1.0', id: 4, method: 'pool_status' },
      { jsonrpc: '2.0', id: 5, method: 'pool_getTxStatus', params: [tx.hash] }
    ])
    const res = await post(srv.url, body)
    expect(res.status).toBe(200)
    const replies = res.json()
    expect(replies.map((r: Json) => [r.id, r.error?.code ?? 'ok'])).toEqual([[1, 'ok'], [2, -32601], [null, -32600], [3, -32602], [4, -32600], [5, 'ok']])
    expect(replies[0].result).toEqual({ hash: `0x${tx.hash}` })
    expect(replies[5].result).toMatchObject({ status: 'pending' })
  })

  it('answers an internal failure with -32603 and no detail, and logs it', async () => {
    const broken = await startRpc({
      node: { ...node, submitTx: async () => { throw new Error('disk on fire at /secret/path') } },
      logger
    })
    try {
      const reply = await call(broken.url, 'pool_sendTx', [hex((await makeTx()).bytes)])
      expect(reply.error).toEqual({ code: -32603, message: 'internal error' })
      expect(JSON.stringify(reply)).not.toMatch(/secret|fire|at /)
      expect(errors.some(e => e.msg === 'RPC method failed')).toBe(true)
      expect(await result(broken.url, 'pool_getPendingTxCount')).toBeTypeOf('number')
    } finally {
      await broken.rpc.close()
    }
  })
})

describe('HTTP', () => {
  it('serves the caller\'s routes and answers unknown paths with 404 JSON', async () => {
    const health = await fetch(new URL('/health', srv.url))
    expect(await health.json()).toEqual({ ok: true })
    const missing = await fetch(new URL('/nowhere', srv.url))
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'not found' })
  })

  it('answers bytes that are not HTTP with 400', async () => {
    expect(await rawRequest(srv.port, 'HELLO THERE\r\n\r\n').done).toMatch(/^HTTP\/1\.1 400 /)
    expect(await result(srv.url, 'pool_getPendingTxCount')).toBeTypeOf('number')
  })

  it('wants POST with application/json', async () => {
    const get = await fetch(srv.url)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect((await get.json()).error.code).toBe(-32600)
    const text = await post(srv.url, rpcBody('pool_status'), { 'content-type': 'text/plain' })
    expect(text.status).toBe(415)
    expect(text.json().error.message).toMatch(/Content-Type must be application\/json/)
    const charset = await post(srv.url, rpcBody('pool_status'), { 'content-type': 'application/json; charset=utf-8' })
    expect(charset.status).toBe(200)
  })
})

describe('limits', () => {
  it('answers an oversized body with 413, declared or streamed, and keeps serving', async () => {
    const big = rpcBody('pool_sendTx', [`0x${'00'.repeat(600_000)}`]) // 1.2 MB > 1 MiB
    const declared = await post(srv.url, big)
    expect(declared.status).toBe(413)
    expect(declared.json().error).toMatchObject({ code: -32006 })

    const chunks = [big.slice(0, 600_000), big.slice(600_000)]
    const stream = new ReadableStream({
      pull (controller) {
        const chunk = chunks.shift()
        if (chunk === undefined) controller.close()
        else controller.enqueue(new TextEncoder().encode(chunk))
      }
    })
    const streamed = await fetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit)
    expect(streamed.status).toBe(413)
    expect((await streamed.json()).error.code).toBe(-32006)

    // a 40 KB tx (80 KB of hex) is well within the limit
    const tx = await makeTx({ payloadBytes: 40_000 })
    expect(await result(srv.url, 'pool_sendTx', [hex(tx.bytes)])).toEqual({ hash: `0x${tx.hash}` })
  })

  it('refuses a batch over the length limit', async () => {
    const batch = Array.from({ length: 51 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'pool_status' }))
    const res = await post(srv.url, JSON.stringify(batch))
    expect(res.status).toBe(400)
    expect(res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32006, message: 'batch of 51 requests exceeds the limit of 50' } })
    const ok = await post(srv.url, JSON.stringify(batch.slice(0, 50)))
    expect(ok.json()).toHaveLength(50)
  })

  it('refuses deep nesting before parsing it, and keeps serving', async () => {
    const deep = '['.repeat(100_000)
    const res = await post(srv.url, deep)
    expect(res.status).toBe(400)
    expect(res.json().error).toEqual({ code: -32006, message: 'request nests arrays or objects deeper than 16 levels' })

    const closed = '['.repeat(100_000) + ']'.repeat(100_000)
    expect((await post(srv.url, closed)).json().error.code).toBe(-32006)
    const inParams = `{"jsonrpc":"2.0","id":1,"method":"pool_status","params":${'['.repeat(20)}${']'.repeat(20)}}`
    expect((await post(srv.url, inParams)).json().error.code).toBe(-32006)
    const deepObjects = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)
    expect((await post(srv.url, deepObjects)).json().error.code).toBe(-32006)

    // brackets inside strings do not count
    const inString = await call(srv.url, 'pool_getTx', ['['.repeat(1000)])
    expect(inString.error?.code).toBe(-32602)
    expect(await result(srv.url, 'pool_getPendingTxCount')).toBeTypeOf('number')
  })

  it('rate limits each client IP, counting batch entries, while serving other clients', async () => {
    const limited = await startRpc({ node, limits: { rateLimitPerSecond: 10 } })
    try {
      // 127.0.0.2 spends its budget: a batch of 6 and 4 single requests...
      const batch = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'pool_getPendingTxCount' })))
      expect((await postFrom('127.0.0.2', limited.url, batch)).status).toBe(200)
      for (let i = 0; i < 4; i++) expect((await postFrom('127.0.0.2', limited.url, rpcBody('pool_status'))).status).toBe(200)
      // ...and the 11th request is refused
      const refused = await postFrom('127.0.0.2', limited.url, rpcBody('pool_status', [], 99))
      expect(refused.status).toBe(429)
      expect(JSON.parse(refused.text)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32005, message: 'rate limited: too many requests from this address' } })

      // another client is served meanwhile
      const other = await postFrom('127.0.0.3', limited.url, rpcBody('pool_getPendingTxCount', [], 5))
      expect(other.status).toBe(200)
      expect(JSON.parse(other.text)).toMatchObject({ id: 5, result: expect.any(Number) })

      // a batch larger than what is left is refused whole, one error per request
      const partial = await postFrom('127.0.0.4', limited.url, JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'pool_status' }))))
      expect(partial.status).toBe(200)
      const over = await postFrom('127.0.0.4', limited.url, JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'pool_status' },
        { jsonrpc: '2.0', method: 'pool_status' },
        { jsonrpc: '2.0', id: 'b', method: 'pool_status' }
      ]))
      expect(over.status).toBe(429)
      expect(JSON.parse(over.text).map((r: Json) => [r.id, r.error.code])).toEqual([['a', -32005], ['b', -32005]])

      // the budget comes back after a second
      await new Promise(resolve => setTimeout(resolve, 1_100))
      expect((await postFrom('127.0.0.2', limited.url, rpcBody('pool_status'))).status).toBe(200)
    } finally {
      await limited.rpc.close()
    }
  })

  it('cuts off a client that sends half a body and stalls, serving others meanwhile', async () => {
    const strict = await startRpc({ node, limits: { readTimeoutMs: 600, rateLimitPerSecond: 10_000 } })
    try {
      const started = Date.now()
      const staller = rawRequest(strict.port, 'POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"jsonrpc":"2.0","id":1,')
      // a trickler: one byte every 100 ms never finishes in time either
      const trickler = rawRequest(strict.port, 'POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n')
      const drip = setInterval(() => { if (!trickler.socket.destroyed) trickler.socket.write(' ') }, 100)
      // and one that never finishes its headers: Node's own headers timeout, set from the same limit
      const headless = rawRequest(strict.port, 'POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl')
      try {
        // others are served while both hang
        for (let i = 0; i < 5; i++) {
          expect(await result(strict.url, 'pool_getPendingTxCount')).toBeTypeOf('number')
        }
        expect(Date.now() - started).toBeLessThan(500)
        const [stalled, trickled] = await Promise.all([staller.done, trickler.done])
        for (const answer of [stalled, trickled]) {
          expect(answer).toMatch(/^HTTP\/1\.1 408 /)
          expect(answer).toMatch(/"code":-32007/)
        }
        expect(Date.now() - started).toBeGreaterThanOrEqual(550)
        expect(Date.now() - started).toBeLessThan(3_000)
        expect(await headless.done).toMatch(/^HTTP\/1\.1 408 /)
        expect(Date.now() - started).toBeLessThan(3_000)
        expect(await result(strict.url, 'pool_getPendingTxCount')).toBeTypeOf('number')
      } finally {
        clearInterval(drip)
      }
    } finally {
      await strict.rpc.close()
    }
  })

  it('validates its limits', async () => {
    const { createRpcServer } = await import('../../node/rpc/index.ts')
    expect(() => createRpcServer({ node, limits: { maxBodyBytes: 0 } })).toThrow(/maxBodyBytes must be a positive integer/)
    expect(() => createRpcServer({ node, limits: { maxDepth: 1.5 } })).toThrow(/maxDepth/)
    expect(() => createRpcServer({ node, limits: { defaultPageLimit: 600 } })).toThrow(/defaultPageLimit/)
    expect(() => createRpcServer({ node, limits: { maxWsConnections: 5000 } })).toThrow(/maxConnections/)
    expect(() => createRpcServer({ node, limits: { bogus: 1 } as never })).toThrow(/unknown RPC limit/)
  })
})

/** Opens a raw TCP connection, writes `text`, and collects whatever comes back until the server closes it. */
function rawRequest (port: number, text: string): { socket: Socket, done: Promise<string> } {
  const socket = netConnect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  socket.write(text)
  let received = ''
  socket.on('data', (chunk: string) => { received += chunk })
  const done = new Promise<string>((resolve) => {
    socket.on('close', () => { resolve(received) })
    socket.on('error', () => {})
  })
  return { socket, done }
}
