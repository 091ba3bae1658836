/**
 * The methods of a lightpool node's JSON-RPC API.
 *
 * Conventions: txs are the 0x-hex of their encoded envelope; hashes,
 * nullifiers and ids are 0x-hex (hashes and nullifiers are accepted with or
 * without 0x, in any case); fees and other bigints are decimal strings.
 * Params go by position (`["0x…"]`) or by name (`{"tx": "0x…"}`); methods
 * taking one options object also accept that object as `params` itself.
 *
 * | method                              | result                                              |
 * |-------------------------------------|-----------------------------------------------------|
 * | pool_sendTx(tx)                     | { hash }, or error -32001 / -32002                  |
 * | pool_isValidTx(tx)                  | { valid, status, rule?, message?, hash? }           |
 * | pool_getTx(hash)                    | tx hex of a pending tx (a light node fetches it from a peer), or null |
 * | pool_getTxStatus(hash)              | { status: pending/mined/dropped/unknown, reason?, by?, history? } |
 * | pool_getPendingTxs({limit?, after?})| { txs: [summary], next? } best first; pass `next` as `after` |
 * | pool_getPendingTxCount()            | number                                              |
 * | pool_status()                       | { count, bytes, withBody, maxCount, maxBytes, minFee, feeFloor } |
 * | pool_feeEstimate({size?, rollups?, maxTxs?, maxBytes?}) | { size, rollups, maxTxs, maxBytes, floor, nextRollup, withinRollups, byRollup: [fee], projected: [{ txs, bytes, minFee, maxFee, full }] } (fees decimal strings; null when a tx of that size fits no rollup) |
 * | p2p_getPeers()                      | [{ peerId, addrs, direction, transport }]           |
 * | p2p_getInfo()                       | { peerId, multiaddrs, network, mode, protocols }    |
 * | pool_subscribe(kind) (WebSocket)    | subscription id; kind "newTxs" or "droppedTxs"      |
 * | pool_unsubscribe(id) (WebSocket)    | boolean                                             |
 * | pool_markMined({hashes?, nullifiers?}) (admin) | { removed }                              |
 * | pool_removeTx(hash) (admin)         | boolean                                             |
 *
 * Admin methods exist only when the server is created with `admin: true`;
 * otherwise they answer "method not found".
 *
 * Error codes
 *
 * | code   | meaning                                   | HTTP | data                              |
 * |--------|-------------------------------------------|------|-----------------------------------|
 * | -32700 | parse error: the body is not JSON         | 400  |                                   |
 * | -32600 | invalid request (envelope, empty batch)   | 200¹ |                                   |
 * | -32601 | method not found (admin methods when off) | 200  |                                   |
 * | -32602 | invalid params; the message names the param and why | 200 |                         |
 * | -32603 | internal error (details only in the log)  | 200  |                                   |
 * | -32001 | tx rejected: it breaks a rule every node applies (malformed, too-large, invalid-signature). Do not resend. | 200 | { status: "rejected", rule, message, hash? } |
 * | -32002 | tx ignored: valid but not admitted here now (duplicate, expired, expiry-too-far, fee-below-floor, replacement-underpriced, pool-full, nullifier-spent). May succeed later or elsewhere. | 200 | { status: "ignored", rule, message, hash? } |
 * | -32004 | unsupported on this transport (subscriptions over HTTP) | 200 |                  |
 * | -32005 | rate limited (requests per second per IP) | 429  |                                   |
 * | -32006 | over a limit: body size, batch length, nesting depth, subscriptions per socket | 413 / 400 / 200 | |
 * | -32007 | request not received in time              | 408  |                                   |
 * | -32008 | store failed: the node could not write the tx durably (full disk, I/O error), so it was not accepted. May succeed later or elsewhere. | 200 | |
 *
 * ¹ 400 when the whole message is an empty batch. Error messages of -32001
 * and -32002 read "<status>: <rule>: <detail>", e.g.
 * "rejected: invalid-signature: signature does not verify".
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import { DEFAULT_ESTIMATE_TX_BYTES, DEFAULT_ROLLUP_CONFIG, forecast, StoreWriteError, type Lightpool, type Refusal } from '../../src/index.ts'
import { invalidParams, RpcError, STORE_FAILED, TX_IGNORED, TX_REJECTED, UNSUPPORTED_TRANSPORT } from './errors.ts'
import type { MethodHandler } from './jsonrpc.ts'
import type { RpcLimits } from './limits.ts'
import { hash32, hash32List, hexBytes, oneOf, optionalLimit, optionalString, options, positional } from './params.ts'
import { bodyHex, poolStatus, prefixed, txSummary } from './format.ts'
import { SUBSCRIPTION_KINDS, type NotificationSink, type SubscriptionHub } from './subscriptions.ts'
import type { TxStatusTracker } from './tx-status.ts'

/** What the RPC needs of a lightpool node (a `Lightpool` is one). */
export type RpcNode = Pick<Lightpool, 'pool' | 'validator' | 'intake' | 'submitTx' | 'getTx' | 'network' | 'mode'> & {
  libp2p: Pick<Libp2p, 'peerId' | 'getConnections' | 'getMultiaddrs' | 'getProtocols'>
}

export interface CallContext {
  transport: 'http' | 'ws'
  /** The connection's notification sink: present on a WebSocket, absent over HTTP. */
  sink?: NotificationSink
}

export interface MethodsInit {
  node: RpcNode
  limits: Readonly<RpcLimits>
  txStatus: TxStatusTracker
  subscriptions: SubscriptionHub
  admin: boolean
}

export type Transport = 'tcp' | 'websocket' | 'webrtc' | 'relay' | 'other'

/** Page cursors are "<fee>:<hash>": 20 digits, a colon and 64 hex digits. */
const MAX_CURSOR_LENGTH = 100
/** Subscription ids are 0x and 32 hex digits; anything much longer is not one. */
const MAX_SUBSCRIPTION_ID_LENGTH = 100

/**
 * The largest projection a `pool_feeEstimate` caller may ask for. Its cost is
 * one walk of at most rollups × maxTxs of the best pending txs, so these keep
 * one call to a bounded walk whatever the pool's size; defaults come from
 * `DEFAULT_ROLLUP_CONFIG` (src/pool/projection.ts).
 */
const FEE_ESTIMATE_PARAM_LIMITS = Object.freeze({
  /** Rollups projected ahead. 64: more than any view draws. */
  maxRollups: 64,
  /** Txs per rollup. 100 000: the walk stays under 64 × 100 000 entries, and never past the pool's own size. */
  maxTxsPerRollup: 100_000,
  /** Bytes per rollup. 1 GiB. */
  maxBytesPerRollup: 1024 * 1024 * 1024,
  /** The estimated tx's size. 16 MiB: larger than any tx a pool admits. */
  maxTxBytes: 16 * 1024 * 1024
})

export function createMethods (init: MethodsInit): Map<string, MethodHandler<CallContext>> {
  const { node, limits, txStatus, subscriptions } = init
  const methods = new Map<string, MethodHandler<CallContext>>()

  methods.set('pool_sendTx', async (params) => {
    const [tx] = positional(params, ['tx'])
    let result
    try {
      result = await node.submitTx(hexBytes(tx, 'tx'))
    } catch (err) {
      // the pool has already taken the tx back out: it was never acknowledged or announced
      if (err instanceof StoreWriteError) throw new RpcError(STORE_FAILED, `store failed: the tx was not accepted (${err.message})`)
      throw err
    }
    if (result.status === 'added') return { hash: prefixed(result.hash) }
    throw refusalError(result)
  })

  methods.set('pool_isValidTx', async (params) => {
    const [tx] = positional(params, ['tx'])
    const v = await node.intake.check(hexBytes(tx, 'tx'))
    if (v.status === 'accepted') return { valid: true, status: 'accepted', hash: prefixed(v.meta.hash) }
    return { valid: false, status: v.status, rule: v.rule, message: v.message, ...(v.hash === undefined ? {} : { hash: prefixed(v.hash) }) }
  })

  methods.set('pool_getTx', async (params) => {
    const [hash] = positional(params, ['hash'])
    const key = hash32(hash, 'hash')
    // Only txs the pool lists are fetched on demand (a light node's, listed without
    // a body). Asking peers for a hash nobody announced gets "missing" answers that
    // the fetcher penalizes them for: a client could make the node ban every peer.
    if (!node.pool.has(key)) return null
    const body = await node.getTx(key)
    return body === undefined ? null : bodyHex(body)
  })

  methods.set('pool_getTxStatus', (params) => {
    const [hash] = positional(params, ['hash'])
    return txStatus.status(hash32(hash, 'hash'))
  })

  methods.set('pool_getPendingTxs', (params) => {
    const opts = options(params, ['limit', 'after'])
    const limit = optionalLimit(opts['limit'], 'limit', limits.defaultPageLimit, limits.maxPageLimit)
    const after = optionalString(opts['after'], 'after', MAX_CURSOR_LENGTH)
    let page
    try {
      page = node.pool.page(after === undefined ? { limit } : { limit, cursor: after })
    } catch (err) {
      if (err instanceof RangeError) throw invalidParams('after: not a cursor returned as "next" by pool_getPendingTxs')
      throw err
    }
    const txs = page.txs.map(txSummary)
    return page.next === undefined ? { txs } : { txs, next: page.next }
  })

  methods.set('pool_getPendingTxCount', (params) => {
    positional(params, [])
    return node.pool.size
  })

  methods.set('pool_status', (params) => {
    positional(params, [])
    return poolStatus(node.pool.stats())
  })

  methods.set('pool_feeEstimate', (params) => {
    const opts = options(params, ['size', 'rollups', 'maxTxs', 'maxBytes'])
    const L = FEE_ESTIMATE_PARAM_LIMITS
    const size = optionalLimit(opts['size'], 'size', DEFAULT_ESTIMATE_TX_BYTES, L.maxTxBytes)
    const rollups = optionalLimit(opts['rollups'], 'rollups', DEFAULT_ROLLUP_CONFIG.rollups, L.maxRollups)
    const maxTxs = optionalLimit(opts['maxTxs'], 'maxTxs', DEFAULT_ROLLUP_CONFIG.maxTxs, L.maxTxsPerRollup)
    const maxBytes = optionalLimit(opts['maxBytes'], 'maxBytes', DEFAULT_ROLLUP_CONFIG.maxBytes, L.maxBytesPerRollup)
    const f = forecast(node.pool, { size, rollups, maxTxs, maxBytes })
    const fee = (v: bigint | undefined): string | null => v === undefined ? null : v.toString()
    return {
      size,
      rollups,
      maxTxs,
      maxBytes,
      floor: f.estimate.floor.toString(),
      nextRollup: fee(f.estimate.nextRollup),
      withinRollups: fee(f.estimate.withinRollups),
      byRollup: f.estimate.byRollup.map(fee),
      projected: f.rollups.map(r => ({ txs: r.txs, bytes: r.bytes, minFee: fee(r.minFee), maxFee: fee(r.maxFee), full: r.full }))
    }
  })

  methods.set('p2p_getPeers', (params) => {
    positional(params, [])
    return peers(node.libp2p.getConnections())
  })

  methods.set('p2p_getInfo', (params) => {
    positional(params, [])
    return {
      peerId: node.libp2p.peerId.toString(),
      multiaddrs: node.libp2p.getMultiaddrs().map(String),
      network: node.network,
      mode: node.mode,
      protocols: node.libp2p.getProtocols()
    }
  })

  methods.set('pool_subscribe', (params, ctx) => {
    const [kind] = positional(params, ['kind'])
    const checked = oneOf(kind, 'kind', SUBSCRIPTION_KINDS)
    return subscriptions.subscribe(needSink(ctx), checked)
  })

  methods.set('pool_unsubscribe', (params, ctx) => {
    const [id] = positional(params, ['id'])
    const checked = optionalString(id, 'id', MAX_SUBSCRIPTION_ID_LENGTH)!
    return subscriptions.unsubscribe(needSink(ctx), checked)
  })

  if (init.admin) {
    methods.set('pool_markMined', (params) => {
      const opts = options(params, ['hashes', 'nullifiers'])
      const hashes = hash32List(opts['hashes'], 'hashes')
      const nullifiers = hash32List(opts['nullifiers'], 'nullifiers')
      if (hashes === undefined && nullifiers === undefined) throw invalidParams('give "hashes", "nullifiers" or both')
      const removed = node.pool.markMined({ hashes: hashes ?? [], nullifiers: nullifiers ?? [] })
      return { removed: removed.length }
    })

    methods.set('pool_removeTx', (params) => {
      const [hash] = positional(params, ['hash'])
      return node.pool.remove(hash32(hash, 'hash'), 'removed') !== undefined
    })
  }

  return methods
}

/** A refused tx as a JSON-RPC error: the message names the rule; data carries it in fields. */
function refusalError (refusal: Refusal & { hash?: string }): RpcError {
  const data = { status: refusal.status, rule: refusal.rule, message: refusal.message, ...(refusal.hash === undefined ? {} : { hash: prefixed(refusal.hash) }) }
  return new RpcError(refusal.status === 'rejected' ? TX_REJECTED : TX_IGNORED, `${refusal.status}: ${refusal.rule}: ${refusal.message}`, data)
}

function needSink (ctx: CallContext): NotificationSink {
  if (ctx.sink === undefined) throw new RpcError(UNSUPPORTED_TRANSPORT, 'subscriptions need a WebSocket connection')
  return ctx.sink
}

/** One entry per connected peer, from its oldest open connection, with every remote address it is connected on. */
function peers (connections: Connection[]): Array<{ peerId: string, addrs: string[], direction: string, transport: Transport }> {
  const byPeer = new Map<string, { peerId: string, addrs: string[], direction: string, transport: Transport }>()
  for (const conn of connections) {
    const peerId = conn.remotePeer.toString()
    const addr = conn.remoteAddr.toString()
    const known = byPeer.get(peerId)
    if (known === undefined) byPeer.set(peerId, { peerId, addrs: [addr], direction: conn.direction, transport: transportOf(addr) })
    else if (!known.addrs.includes(addr)) known.addrs.push(addr)
  }
  return [...byPeer.values()]
}

/** The transport a multiaddr runs over. A relayed address names the relay's transport too, so relay is checked first. */
export function transportOf (multiaddr: string): Transport {
  const parts = multiaddr.split('/')
  if (parts.includes('p2p-circuit')) return 'relay'
  if (parts.includes('webrtc') || parts.includes('webrtc-direct')) return 'webrtc'
  if (parts.includes('ws') || parts.includes('wss')) return 'websocket'
  if (parts.includes('tcp')) return 'tcp'
  return 'other'
}
