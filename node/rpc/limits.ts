/**
 * Every bound the RPC server puts on what one client can make it do. A node
 * is long-lived and reachable by anyone who can reach its port, so nothing a
 * client sends may grow memory, hold a socket or take CPU without a limit.
 */
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
  /** Largest WebSocket message a client may send (ws `maxPayload`; over it the socket closes with 1009). Default 1 MiB. */
  maxWsMessageBytes: number
  /** Subscriptions per WebSocket. Default 8. */
  maxSubscriptionsPerSocket: number
  /**
   * Bytes queued for a WebSocket client that is not reading. Past it the
   * client is dropped (close code 1008) rather than buffered without bound.
   * Default 4 MiB.
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
      throw new RangeError(`RPC limit ${key} must be a positive integer, got ${String(value)}`)
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
