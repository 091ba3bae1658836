/**
 * Every bound the RPC server puts on what one client can make it do. A node
 * is long-lived and reachable by anyone who can reach its port, so nothing a
 * client sends may grow memory, hold a socket or take CPU without a limit.
 */
import { inspect } from 'node:util'

export interface RpcLimits {
  /**
   * Largest HTTP request body, in bytes; a larger one is answered with HTTP
   * 413. A 40 KB tx is ~80 KB as hex, so a batch of a few txs fits. Default 1 MiB.
   */
  maxBodyBytes: number
  /** Most entries in one batch request. Default 50. */
  maxBatchLength: number
  /**
   * Deepest nesting of arrays and objects in a request (a single request with
   * an options object is 3; a batch of them 4). Checked on the raw text before
   * it is parsed, so `[[[[…` a hundred thousand deep costs one linear scan. Default 16.
   */
  maxDepth: number
  /**
   * Requests per second from one remote IP, HTTP and WebSocket together; each
   * entry of a batch counts. Over it: HTTP 429 / error -32005. Default 50.
   */
  rateLimitPerSecond: number
  /**
   * How long a client has to send a whole HTTP request (headers and body)
   * once it starts; a client that trickles is answered 408 and disconnected,
   * without holding up anyone else. Default 10 s.
   */
  readTimeoutMs: number
  /**
   * Open TCP connections to the server, WebSocket ones included; more are
   * refused by the kernel-level accept (a slowloris must not exhaust file
   * descriptors). Must exceed maxWsConnections. Default 1024.
   */
  maxConnections: number
  /** Open WebSocket connections; more upgrades are answered 503. Default 256. */
  maxWsConnections: number
  /**
   * Open WebSocket connections from one remote IP; more upgrades from it are
   * answered 429, so one address cannot take every WebSocket slot (measured
   * before: 256 idle sockets from one address, and every other client got
   * 503 for as long as they stayed). Default 16.
   */
  maxWsConnectionsPerIp: number
  /**
   * Open TCP connections to the HTTP server from one remote IP, WebSocket ones
   * included; more are closed at once, so one address cannot take the
   * server's connection slots (measured before: 1 100 idle sockets from one
   * address, and 75 of 80 fresh clients failed). Default 64.
   */
  maxConnectionsPerIp: number
  /**
   * How long an HTTP connection may sit idle (keep-alive between requests, or
   * opened and never used) before it is closed. Node's keep-alive default is
   * 5 s; this also covers a socket that never sends a byte. Default 5 s.
   */
  httpIdleTimeoutMs: number
  /**
   * Largest JSON-RPC reply, in bytes. A response that would take a reply past
   * it becomes a -32006 error for its id (a batch keeps its earlier answers).
   * Over WebSocket a reply is also capped by maxWsBufferedBytes (a larger one
   * is answered with -32006 instead). Default 4 MiB (a batch of 50
   * pool_getTx of 40 KB txs).
   */
  maxReplyBytes: number
  /**
   * How long a client has to take an HTTP reply once it is written; one that
   * does not read it (so its bytes sit in the node's memory) is disconnected.
   * Measured before: 20 unread replies of ~13 MB held 400 MB for 180 s. Default 30 s.
   */
  writeTimeoutMs: number
  /**
   * Shortest interval between two error-level log lines for failed HTTP
   * handlers; the ones between are counted and the count is logged with the
   * next. Default 10 s.
   */
  errorLogIntervalMs: number
  /** Largest WebSocket message a client may send (ws `maxPayload`; over it the socket closes with 1009). Default 1 MiB. */
  maxWsMessageBytes: number
  /** Subscriptions per WebSocket. Default 8. */
  maxSubscriptionsPerSocket: number
  /**
   * Bytes queued for a WebSocket client that is not reading, counting the
   * message about to be queued. Past it the client is dropped (close code
   * 1008) rather than buffered without bound. Default 4 MiB.
   */
  maxWsBufferedBytes: number
  /** How often each WebSocket is pinged; one that has not answered the previous ping is closed. Default 30 s. */
  wsPingIntervalMs: number
  /** Page size of pool_getPendingTxs when the client gives none. Default 100. */
  defaultPageLimit: number
  /** Largest page of pool_getPendingTxs; a larger `limit` is capped to it. Default 500. */
  maxPageLimit: number
  /** How many removed txs pool_getTxStatus remembers (mined or dropped, with the reason). Default 50 000. */
  txStatusMemory: number
}

export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxBatchLength: 50,
  maxDepth: 16,
  rateLimitPerSecond: 50,
  readTimeoutMs: 10_000,
  maxConnections: 1024,
  maxWsConnections: 256,
  maxWsConnectionsPerIp: 16,
  maxConnectionsPerIp: 64,
  httpIdleTimeoutMs: 5_000,
  maxReplyBytes: 4 * 1024 * 1024,
  writeTimeoutMs: 30_000,
  errorLogIntervalMs: 10_000,
  maxWsMessageBytes: 1024 * 1024,
  maxSubscriptionsPerSocket: 8,
  maxWsBufferedBytes: 4 * 1024 * 1024,
  wsPingIntervalMs: 30_000,
  defaultPageLimit: 100,
  maxPageLimit: 500,
  txStatusMemory: 50_000
})

/** The defaults overridden by `overrides`; throws RangeError naming the first bad value. */
export function resolveRpcLimits (overrides: Partial<RpcLimits> = {}): Readonly<RpcLimits> {
  const limits: RpcLimits = { ...DEFAULT_RPC_LIMITS }
  for (const [key, value] of Object.entries(overrides) as Array<[keyof RpcLimits, unknown]>) {
    if (value === undefined) continue
    if (!(key in DEFAULT_RPC_LIMITS)) throw new RangeError(`unknown RPC limit "${String(key)}"`)
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`RPC limit ${key} must be a positive integer, got ${inspect(value)}`)
    }
    limits[key] = value
  }
  if (limits.defaultPageLimit > limits.maxPageLimit) {
    throw new RangeError(`RPC limit defaultPageLimit (${limits.defaultPageLimit}) exceeds maxPageLimit (${limits.maxPageLimit})`)
  }
  if (limits.maxConnections <= limits.maxWsConnections) {
    throw new RangeError(`RPC limit maxConnections (${limits.maxConnections}) must exceed maxWsConnections (${limits.maxWsConnections})`)
  }
  return Object.freeze(limits)
}
