import { equals } from 'uint8arrays/equals'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'
import { call, hex, result, startRpc, type Json, type RunningRpc } from './helpers.ts'

let node: Lightpool
let peer: Lightpool
let plain: RunningRpc
let admin: RunningRpc

beforeAll(async () => {
  node = await startNode()
  peer = await startNode()
  plain = await startRpc({ node, limits: { maxPageLimit: 3, defaultPageLimit: 2, rateLimitPerSecond: 10_000 } })
  admin = await startRpc({ node, admin: true, limits: { rateLimitPerSecond: 10_000 } })
})

afterAll(async () => {
  await plain.rpc.close()
  await admin.rpc.close()
  await stopAll([node, peer])
})

/** Takes every tx out of the pool, so each test sees only its own. */
function emptyPool (): void {
  for (const tx of [...node.pool.best()]) node.pool.remove(tx.hash)
}

describe('pool_sendTx', () => {
  it('admits a signed tx and returns its 0x hash', async () => {
    const tx = await makeTx({ payloadBytes: 40_000 })
    const reply = await result(plain.url, 'pool_sendTx', [hex(tx.bytes)])
    expect(reply).toEqual({ hash: `0x${tx.hash}` })
    expect(node.pool.get(tx.hash)?.hasBody).toBe(true)
  })

  it('takes the tx by name too, with or without 0x', async () => {
    const tx = await makeTx()
    expect(await result(plain.url, 'pool_sendTx', { tx: Buffer.from(tx.bytes).toString('hex') })).toEqual({ hash: `0x${tx.hash}` })
  })

  it('answers a rejected tx with -32001 naming the rule', async () => {
    const tx = await makeTx()
    const forged = tx.bytes.slice()
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff
    const reply = await call(plain.url, 'pool_sendTx', [hex(forged)])
    expect(reply.error?.code).toBe(-32001)
    expect(reply.error?.message).toMatch(/^rejected: invalid-signature: /)
    expect(reply.error?.data).toMatchObject({ status: 'rejected', rule: 'invalid-signature' })
    expect(reply.error?.data.hash).toMatch(/^0x[0-9a-f]{64}$/)

    const garbage = await call(plain.url, 'pool_sendTx', ['0xdeadbeef'])
    expect(garbage.error).toMatchObject({ code: -32001, data: { status: 'rejected', rule: 'malformed' } })
    expect(garbage.error?.message).toMatch(/^rejected: malformed: /)
  })

  it('answers an ignored tx with -32002 naming the rule', async () => {
    const tx = await makeTx()
    await result(plain.url, 'pool_sendTx', [hex(tx.bytes)])
    const dup = await call(plain.url, 'pool_sendTx', [hex(tx.bytes)])
    expect(dup.error).toMatchObject({ code: -32002, data: { status: 'ignored', rule: 'duplicate', hash: `0x${tx.hash}` } })
    expect(dup.error?.message).toMatch(/^ignored: duplicate: /)

    const cheap = await makeTx({ fee: 0n })
    const low = await call(plain.url, 'pool_sendTx', [hex(cheap.bytes)])
    expect(low.error).toMatchObject({ code: -32002, data: { status: 'ignored', rule: 'fee-below-floor' } })
  })

  it('refuses bad params with -32602 naming the param', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /missing param "tx"/],
      [[], /missing param "tx"/],
      [[42], /tx: expected a 0x-prefixed hex string, got the number 42/],
      [[{}], /tx: expected a 0x-prefixed hex string, got an object/],
      [['0xzz'], /tx: not a hex string/],
      [['0xabc'], /tx: not a hex string/],
      [['0x00', 1], /at most 1 param/],
      [{ txn: '0x00' }, /unknown param "txn"/]
    ]
    for (const [params, message] of cases) {
      const reply = await call(plain.url, 'pool_sendTx', params)
      expect(reply.error?.code, JSON.stringify(params)).toBe(-32602)
      expect(reply.error?.message).toMatch(message)
    }
  })
})

describe('pool_isValidTx', () => {
  it('validates without admitting', async () => {
    const tx = await makeTx()
    expect(await result(plain.url, 'pool_isValidTx', [hex(tx.bytes)])).toEqual({ valid: true, status: 'accepted', hash: `0x${tx.hash}` })
    expect(node.pool.has(tx.hash)).toBe(false)

    const forged = tx.bytes.slice()
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff
    const bad = await result(plain.url, 'pool_isValidTx', [hex(forged)])
    expect(bad).toMatchObject({ valid: false, status: 'rejected', rule: 'invalid-signature' })
    expect(typeof bad.message).toBe('string')

    await node.submitTx(tx.bytes)
    expect(await result(plain.url, 'pool_isValidTx', [hex(tx.bytes)])).toMatchObject({ valid: false, status: 'ignored', rule: 'duplicate', hash: `0x${tx.hash}` })
    expect((await call(plain.url, 'pool_isValidTx', ['nope'])).error?.code).toBe(-32602)
  })
})

describe('pool_getTx', () => {
  it('returns the body of a pending tx, the hash given any way', async () => {
    const tx = await makeTx({ payloadBytes: 40_000 })
    await node.submitTx(tx.bytes)
    for (const h of [`0x${tx.hash}`, tx.hash, `0x${tx.hash.toUpperCase()}`]) {
      const body: string = await result(plain.url, 'pool_getTx', [h])
      expect(body.startsWith('0x')).toBe(true)
      expect(equals(Buffer.from(body.slice(2), 'hex'), tx.bytes)).toBe(true)
    }
  })

  it('returns null for an unknown tx and refuses a malformed hash', async () => {
    expect(await result(plain.url, 'pool_getTx', [`0x${'ab'.repeat(32)}`])).toBeNull()
    for (const bad of ['0x1234', 'zz'.repeat(32), 12, null]) {
      const reply = await call(plain.url, 'pool_getTx', [bad])
      expect(reply.error?.code, String(bad)).toBe(-32602)
      expect(reply.error?.message).toMatch(/hash/)
    }
  })
})

describe('pool_getTxStatus', () => {
  it('is pending, then dropped with the reason, and unknown for a tx never seen', async () => {
    const tx = await makeTx()
    await node.submitTx(tx.bytes)
    expect(await result(plain.url, 'pool_getTxStatus', [`0x${tx.hash}`])).toMatchObject({ status: 'pending' })
    node.pool.remove(tx.hash, 'expired')
    expect(await result(plain.url, 'pool_getTxStatus', [tx.hash])).toMatchObject({ status: 'dropped', reason: 'expired' })
    expect(await result(plain.url, 'pool_getTxStatus', [`0x${'cd'.repeat(32)}`])).toEqual({ status: 'unknown' })
  })

  it('names the tx that replaced a dropped one', async () => {
    const nullifier = crypto.getRandomValues(new Uint8Array(32))
    const first = await makeTx({ fee: 100n, nullifierSeeds: [nullifier] })
    const second = await makeTx({ fee: 200n, nullifierSeeds: [nullifier] })
    await result(plain.url, 'pool_sendTx', [hex(first.bytes)])
    await result(plain.url, 'pool_sendTx', [hex(second.bytes)])
    expect(await result(plain.url, 'pool_getTxStatus', [first.hash])).toMatchObject({ status: 'dropped', reason: 'replaced', by: `0x${second.hash}` })
    // its story, step by step, from the same timeline the observer's tx page reads
    const { history } = await result(plain.url, 'pool_getTxStatus', [first.hash]) as { history: Array<{ at: number, status: string, by?: string }> }
    expect(history.map(s => s.status)).toEqual(['pending', 'replaced'])
    expect(history[1]!.by).toBe(`0x${second.hash}`)
    expect(history[1]!.at).toBeGreaterThanOrEqual(history[0]!.at)
    expect(await result(plain.url, 'pool_getTxStatus', [second.hash])).toMatchObject({ status: 'pending', history: [{ status: 'pending' }] })
  })
})

describe('pool_getPendingTxs and counts', () => {
  it('pages through the pool best first with a cursor', async () => {
    emptyPool()
    const txs = await Promise.all([10n, 20n, 30n, 40n, 50n].map(async fee => await makeTx({ fee })))
    for (const tx of txs) await node.submitTx(tx.bytes)

    const first = await result(plain.url, 'pool_getPendingTxs', [])
    expect(first.txs.map((t: Json) => t.fee)).toEqual(['50', '40']) // defaultPageLimit 2
    const best = txs[4]!
    expect(first.txs[0]).toEqual({
      hash: `0x${best.hash}`,
      size: best.meta.size,
      fee: '50',
      expiresAt: best.meta.expiresAt,
      nullifiers: best.meta.nullifiers.map(n => `0x${n}`),
      receivedAt: node.pool.get(best.hash)!.receivedAt,
      hasBody: true
    })
    expect(typeof first.next).toBe('string')

    const second = await result(plain.url, 'pool_getPendingTxs', [{ limit: 1000, after: first.next }])
    expect(second.txs.map((t: Json) => t.fee)).toEqual(['30', '20', '10']) // capped at maxPageLimit 3
    expect(second.next).toBeUndefined()

    const named = await result(plain.url, 'pool_getPendingTxs', { limit: 1 })
    expect(named.txs.map((t: Json) => t.fee)).toEqual(['50'])

    expect(await result(plain.url, 'pool_getPendingTxCount')).toBe(5)
    expect(await result(plain.url, 'pool_status', [])).toEqual({
      count: 5,
      bytes: txs.reduce((sum, tx) => sum + tx.meta.size, 0),
      withBody: 5,
      maxCount: node.pool.config.maxCount,
      maxBytes: node.pool.config.maxBytes,
      minFee: '1',
      feeFloor: '1'
    })
  })

  it('refuses bad options with -32602', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[{ after: 'garbage' }], /after: not a cursor/],
      [[{ after: `999:${'zz'.repeat(32)}` }], /after: not a cursor/],
      [[{ after: 5 }], /after: expected a string/],
      [[{ limit: 0 }], /limit: expected a positive integer/],
      [[{ limit: 1.5 }], /limit: expected a positive integer/],
      [[{ limit: '10' }], /limit: expected a positive integer, got a string/],
      [[{ limt: 10 }], /unknown key "limt"/],
      [[5], /options: expected an object/],
      [[{}, {}], /at most one param/]
    ]
    for (const [params, message] of cases) {
      const reply = await call(plain.url, 'pool_getPendingTxs', params)
      expect(reply.error?.code, JSON.stringify(params)).toBe(-32602)
      expect(reply.error?.message).toMatch(message)
    }
    expect((await call(plain.url, 'pool_getPendingTxCount', [1])).error?.code).toBe(-32602)
    expect((await call(plain.url, 'pool_status', { verbose: true })).error?.code).toBe(-32602)
  })
})

describe('pool_feeEstimate', () => {
  it('projects the next rollups and the fee to get into them, for a pool with known fees', async () => {
    emptyPool()
    // ten txs of fees 1000, 1100, … 1900, each ~4 KB
    const txs = await Promise.all(Array.from({ length: 10 }, async (_, i) => await makeTx({ fee: BigInt(1000 + i * 100), payloadBytes: 4000 })))
    for (const tx of txs) await result(plain.url, 'pool_sendTx', [hex(tx.bytes)])
    const size = txs[0]!.meta.size
    // rollups of 3 txs: [1900 1800 1700] [1600 1500 1400] [1300 1200 1100], 1000 left out
    const reply = await result(plain.url, 'pool_feeEstimate', { rollups: 3, maxTxs: 3, size })
    expect(reply).toEqual({
      size,
      rollups: 3,
      maxTxs: 3,
      maxBytes: 4 * 1024 * 1024,
      floor: '1',
      nextRollup: '1701',
      withinRollups: '1101',
      byRollup: ['1701', '1401', '1101'],
      projected: [
        { txs: 3, bytes: 3 * size, minFee: '1700', maxFee: '1900', full: true },
        { txs: 3, bytes: 3 * size, minFee: '1400', maxFee: '1600', full: true },
        { txs: 3, bytes: 3 * size, minFee: '1100', maxFee: '1300', full: true }
      ]
    })
    // by position too, with the documented defaults (6 rollups of 1000 txs / 4 MiB): all ten fit the next one
    const defaults = await result(plain.url, 'pool_feeEstimate', [])
    expect(defaults).toMatchObject({ size: 40_000, rollups: 6, maxTxs: 1000, nextRollup: '1', withinRollups: '1' })
    expect(defaults.projected[0]).toEqual({ txs: 10, bytes: 10 * size, minFee: '1000', maxFee: '1900', full: false })
    expect(defaults.projected[1]).toEqual({ txs: 0, bytes: 0, minFee: null, maxFee: null, full: false })
    // a tx larger than a rollup fits none
    expect(await result(plain.url, 'pool_feeEstimate', { size: 5000, maxBytes: 4000 })).toMatchObject({ nextRollup: null, withinRollups: null })
  })

  it('refuses bad options with -32602 and caps large ones', async () => {
    for (const params of [{ size: 0 }, { rollups: -1 }, { maxTxs: 'many' }, { maxBytes: 1.5 }, { colour: 'red' }]) {
      const reply = await call(plain.url, 'pool_feeEstimate', params)
      expect(reply.error?.code, JSON.stringify(params)).toBe(-32602)
    }
    expect((await result(plain.url, 'pool_feeEstimate', { rollups: 1_000_000 })).rollups).toBe(64)
  })
})

describe('p2p methods', () => {
  it('describe the node and its peers', async () => {
    await connect(peer, node)
    await waitFor(() => node.libp2p.getConnections().length > 0)
    const info = await result(plain.url, 'p2p_getInfo')
    expect(info).toMatchObject({ peerId: node.peerId.toString(), network: 'test', mode: 'full' })
    expect(info.multiaddrs).toEqual(node.libp2p.getMultiaddrs().map(String))
    expect(info.protocols).toContain(node.net.ids.fetch)

    const peers = await result(plain.url, 'p2p_getPeers')
    expect(peers).toHaveLength(1)
    expect(peers[0]).toMatchObject({ peerId: peer.peerId.toString(), direction: 'inbound', transport: 'tcp' })
    expect(peers[0].addrs[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
  })
})

describe('admin methods', () => {
  it('are not found when admin is off', async () => {
    for (const method of ['pool_markMined', 'pool_removeTx']) {
      const reply = await call(plain.url, method, [{ hashes: [] }])
      expect(reply.error).toMatchObject({ code: -32601, message: `method not found: ${method}` })
    }
  })

  it('pool_markMined makes a tx mined, and drops those sharing its nullifiers', async () => {
    const tx = await makeTx()
    await node.submitTx(tx.bytes)
    expect(await result(admin.url, 'pool_markMined', [{ hashes: [`0x${tx.hash}`] }])).toEqual({ removed: 1 })
    expect(node.pool.has(tx.hash)).toBe(false)
    expect(await result(admin.url, 'pool_getTxStatus', [tx.hash])).toMatchObject({ status: 'mined' })
    // the server without admin watches the same pool
    expect(await result(plain.url, 'pool_getTxStatus', [tx.hash])).toMatchObject({ status: 'mined' })

    const other = await makeTx()
    await node.submitTx(other.bytes)
    expect(await result(admin.url, 'pool_markMined', { nullifiers: other.meta.nullifiers })).toEqual({ removed: 1 })
    expect(await result(admin.url, 'pool_getTxStatus', [other.hash])).toMatchObject({ status: 'dropped', reason: 'conflict' })

    for (const params of [[{}], [{ hashes: 'x' }], [{ hashes: ['0x12'] }], [{ nullifiers: [1] }]]) {
      expect((await call(admin.url, 'pool_markMined', params)).error?.code, JSON.stringify(params)).toBe(-32602)
    }
  })

  it('pool_removeTx removes a pending tx once', async () => {
    const tx = await makeTx()
    await node.submitTx(tx.bytes)
    expect(await result(admin.url, 'pool_removeTx', [`0x${tx.hash}`])).toBe(true)
    expect(await result(admin.url, 'pool_removeTx', [tx.hash])).toBe(false)
    expect(await result(admin.url, 'pool_getTxStatus', [tx.hash])).toMatchObject({ status: 'dropped', reason: 'removed' })
  })
})

describe('subscriptions over HTTP', () => {
  it('are refused: they need a WebSocket', async () => {
    const reply = await call(plain.url, 'pool_subscribe', ['newTxs'])
    expect(reply.error).toMatchObject({ code: -32004, message: 'subscriptions need a WebSocket connection' })
  })
})
