import { connect as tcpConnect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { recordFigure } from '../helpers/figures.ts'
import { startNode } from '../helpers/network.ts'
import { postFrom, rpcBody, startRpc, type RunningRpc } from '../rpc/helpers.ts'

/**
 * Every kind of RPC abuse at once — slow clients, malformed JSON, oversized
 * bodies, deep nesting, a client far over its rate — while an honest client
 * on another address keeps calling. Each abuser is answered with the right
 * error or cut off at its limit; the honest client is served throughout.
 */
let node: Lightpool
let server: RunningRpc

beforeAll(async () => {
  node = await startNode()
  server = await startRpc({ node, limits: { rateLimitPerSecond: 50, readTimeoutMs: 1_000 } })
})
afterAll(async () => {
  await server.rpc.close()
  await node.stop()
})

interface SlowClient { socket: Socket, answered: string, closed: boolean }

/** Sends headers and the start of a body, then stalls. */
function slowClient (port: number, localAddress: string): SlowClient {
  const socket = tcpConnect({ port, host: '127.0.0.1', localAddress })
  const client: SlowClient = { socket, answered: '', closed: false }
  socket.on('error', () => {})
  socket.on('data', (d: Buffer) => { client.answered += d.toString() })
  socket.on('close', () => { client.closed = true })
  socket.write('POST /rpc HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"jsonrpc"')
  return client
}

describe('RPC abuse', () => {
  it('abusers get their errors and limits; an honest client is served throughout', async () => {
    const until = Date.now() + 3_000
    const statuses = new Map<string, Map<number, number>>()
    const count = (who: string, status: number): void => {
      const m = statuses.get(who) ?? new Map<number, number>()
      m.set(status, (m.get(status) ?? 0) + 1)
      statuses.set(who, m)
    }
    const slow = Array.from({ length: 30 }, () => slowClient(server.port, '127.0.0.6'))
    const loop = async (who: string, from: string, body: () => string, pauseMs: number): Promise<void> => {
      while (Date.now() < until) {
        const r = await postFrom(from, server.url, body()).catch(() => ({ status: 0, text: '' }))
        count(who, r.status)
        if (pauseMs > 0) await new Promise(resolve => setTimeout(resolve, pauseMs))
      }
    }
    const latencies: number[] = []
    let honestFailures = 0
    const honest = async (): Promise<void> => {
      while (Date.now() < until) {
        const t = performance.now()
        const r = await postFrom('127.0.0.9', server.url, rpcBody('pool_status'))
        latencies.push(performance.now() - t)
        if (r.status !== 200 || JSON.parse(r.text).result === undefined) honestFailures++
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    }
    await Promise.all([
      loop('malformed JSON', '127.0.0.2', () => '{"jsonrpc": "2.0", "method": ', 5),
      loop('oversized body', '127.0.0.3', () => `{"jsonrpc":"2.0","id":1,"method":"pool_sendTx","params":["0x${'ab'.repeat(1_100_000)}"]}`, 20),
      loop('deep nesting', '127.0.0.4', () => '['.repeat(200_000) + ']'.repeat(200_000), 20),
      loop('rate flood', '127.0.0.5', () => rpcBody('pool_getPendingTxCount'), 0),
      loop('wrong methods', '127.0.0.7', () => rpcBody('eth_sendRawTransaction', ['0x00']), 5),
      honest()
    ])
    // the slow clients were cut off at the read timeout
    const slowClosed = slow.filter(c => c.closed && c.answered.startsWith('HTTP/1.1 408')).length
    for (const c of slow) c.socket.destroy()

    expect(honestFailures).toBe(0)
    // each abuser gets its specific error (or, when it also goes over its rate, 429)
    const only = (who: string, allowed: number[], expected: number): void => {
      const seen = statuses.get(who)!
      expect([...seen.keys()].every(s => allowed.includes(s)), `${who}: ${[...seen.keys()].join(',')}`).toBe(true)
      expect(seen.get(expected), who).toBeGreaterThan(0)
    }
    only('malformed JSON', [400, 429], 400)
    only('oversized body', [413, 429], 413)
    only('deep nesting', [200, 400, 413, 429], 400)
    expect(statuses.get('rate flood')!.get(429)).toBeGreaterThan(0)
    expect(slowClosed).toBe(30)
    latencies.sort((a, b) => a - b)
    const p = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10
    const summary = (who: string): string => [...statuses.get(who)!].map(([s, n]) => `${s}×${n}`).join(' ')
    recordFigure('RPC abuse', 'abusers vs one honest client, 3 s', {
      honest_calls: latencies.length,
      honest_failures: honestFailures,
      honest_p50_ms: p(0.5),
      honest_p99_ms: p(0.99),
      malformed: summary('malformed JSON'),
      oversized: summary('oversized body'),
      deep: summary('deep nesting'),
      flood: summary('rate flood'),
      wrong_method: summary('wrong methods'),
      slow_clients_cut: slowClosed
    })
  })
})
