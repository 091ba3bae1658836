import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { recordFigure, STRESS } from '../helpers/figures.ts'
import { startNode } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'
import { post, startRpc, type RunningRpc } from '../rpc/helpers.ts'

/**
 * JSON-RPC bodies from a hostile client: random JSON, valid envelopes with
 * wrong params, deep nesting, non-JSON. Every request gets a JSON-RPC answer
 * (or an HTTP limit status) and the node keeps serving.
 */
const RUNS = STRESS ? 5_000 : 400
const METHODS = ['pool_sendTx', 'pool_isValidTx', 'pool_getTx', 'pool_getTxStatus', 'pool_getPendingTxs', 'pool_getPendingTxCount', 'pool_status', 'p2p_getPeers', 'p2p_getInfo', 'pool_subscribe', 'pool_markMined', 'nope', '']
const KNOWN_CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32004, -32005, -32006, -32007])

let node: Lightpool
let server: RunningRpc

beforeAll(async () => {
  node = await startNode()
  server = await startRpc({ node, limits: { rateLimitPerSecond: 1_000_000 } })
})
afterAll(async () => {
  await server.rpc.close()
  await node.stop()
})

const hexChars = fc.constantFrom(...'0123456789abcdefABCDEF')
const hexish = fc.oneof(fc.string({ unit: hexChars, maxLength: 200 }).map(h => `0x${h}`), fc.string({ unit: hexChars, maxLength: 70 }), fc.string({ maxLength: 30 }))
const paramValue = fc.oneof(hexish, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.json().map(j => JSON.parse(j) as unknown),
  fc.record({ limit: fc.oneof(fc.integer(), fc.string()), after: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }))
const envelope = fc.record({
  jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.integer()),
  id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.object()),
  method: fc.oneof(fc.constantFrom(...METHODS), fc.integer()),
  params: fc.oneof(fc.array(paramValue, { maxLength: 4 }), paramValue)
}, { requiredKeys: [] })
const body: fc.Arbitrary<string> = fc.oneof(
  envelope.map(e => JSON.stringify(e)),
  fc.array(envelope, { maxLength: 6 }).map(b => JSON.stringify(b)),
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 1, max: 3000 }).map(depth => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 50_000 }).map(depth => '{"a":'.repeat(depth))
)

function checkReply (reply: unknown): void {
  const replies = Array.isArray(reply) ? reply : [reply]
  for (const r of replies as Array<Record<string, unknown>>) {
    expect(r.jsonrpc).toBe('2.0')
    if ('error' in r) {
      const code = (r.error as { code: number }).code
      expect(KNOWN_CODES.has(code), `unknown error code ${code}`).toBe(true)
      expect(code).not.toBe(-32603) // an internal error would mean an input reached a code path unchecked
    } else {
      expect('result' in r).toBe(true)
    }
  }
}

describe('JSON-RPC under fuzzing', () => {
  it('answers every body with a JSON-RPC reply or a limit status, and keeps serving', async () => {
    let cases = 0
    const statuses = new Map<number, number>()
    await fc.assert(fc.asyncProperty(body, async (text) => {
      cases++
      const res = await post(server.url, text)
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      expect([200, 204, 400, 413].includes(res.status), `HTTP ${res.status} for ${text.slice(0, 80)}`).toBe(true)
      if (res.text !== '') checkReply(res.json())
    }), { numRuns: RUNS })
    // still serving, and still admitting valid txs
    const tx = await makeTx()
    const ok = await post(server.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'pool_sendTx', params: [`0x${Buffer.from(tx.bytes).toString('hex')}`] }))
    expect(ok.json().result.hash).toBe(`0x${tx.hash}`)
    recordFigure('fuzzing', 'JSON-RPC bodies over HTTP', { cases, ...Object.fromEntries([...statuses].map(([s, n]) => [`http_${s}`, n])) })
  })
})
