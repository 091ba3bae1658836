/**
 * The JSON-RPC 2.0 API of a lightpool node, over HTTP (`POST /rpc`) and
 * WebSocket (the same path, plus subscriptions), on node:http (node:https with `tls`).
 *
 *   index.ts          createRpcServer: wires the parts below to one http.Server
 *   limits.ts         RpcLimits: every bound, with its default and reason
 *   jsonrpc.ts        envelopes: depth check, parse, batch, dispatch
 *   methods.ts        the method table, and the tables of methods and error codes
 *   params.ts         params validation
 *   http.ts           HTTP: body limit, read deadline, rate limit, other routes
 *   ws.ts             WebSocket: connection limit, send-buffer cap, heartbeat
 *   subscriptions.ts  pool events → subscription notifications
 *   tx-status.ts      pending / mined / dropped, from the pool's events
 *
 *   access.ts         Host and Origin allow-lists, bearer token
 *
 * Admin methods (pool_markMined, pool_removeTx) exist only with `admin: true`.
 * `lightpool node --rpc-admin` serves them on a second server of their own,
 * bound to loopback and requiring the token in <data dir>/rpc-admin.token
 * (see node/admin-rpc.ts); the public server never has them.
 */
import { createServer, STATUS_CODES, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { DEFAULT_RPC_ACCESS, type RpcAccess } from './access.ts'
import { httpHandler, type RouteHandler } from './http.ts'
import { JsonRpcProcessor, type RpcCallTiming } from './jsonrpc.ts'
import { resolveRpcLimits, type RpcLimits } from './limits.ts'
import { silentLogger, type RpcLogger } from './logger.ts'
import { createMethods, type RpcNode } from './methods.ts'
import { ClientRateLimiter } from './rate-limit.ts'
import { SubscriptionHub } from './subscriptions.ts'
import { TxStatusTracker } from './tx-status.ts'
import { WsRpc, type WsStats } from './ws.ts'

export { DEFAULT_RPC_LIMITS, resolveRpcLimits, type RpcLimits } from './limits.ts'
export { DEFAULT_RPC_ACCESS, LOCALHOST_NAMES, type RpcAccess } from './access.ts'
export type { RpcLogger } from './logger.ts'
export type { RouteHandler } from './http.ts'
export type { RpcCallTiming } from './jsonrpc.ts'
export type { RpcNode, CallContext } from './methods.ts'
export type { TxStatus } from './tx-status.ts'
export type { TxSummary, PoolStatusJson } from './format.ts'
export * from './errors.ts'

export interface RpcServerInit {
  /** The node to serve (a `Lightpool`). */
  node: RpcNode
  /** Serve pool_markMined and pool_removeTx. Default false. */
  admin?: boolean
  /** Host and Origin allow-lists, token (./access.ts). Default DEFAULT_RPC_ACCESS: localhost names, the node's own origin, no token. */
  access?: Partial<RpcAccess>
  /** Overrides of DEFAULT_RPC_LIMITS; validated (RangeError on a bad value). */
  limits?: Partial<RpcLimits>
  /**
   * Other routes (metrics, health, static files): called for every request
   * not on the RPC path; resolve true if it answered. Unanswered: 404 JSON.
   */
  routes?: RouteHandler
  /** pino or alike. Default: silent. */
  logger?: RpcLogger
  /** The HTTP and WebSocket path. Default "/rpc". */
  path?: string
  /** Told how long each call of a known method took (the node's RPC latency histogram). */
  onCall?: (call: RpcCallTiming) => void
  /**
   * Serve https with this PEM certificate (chain) and key instead of http;
   * `setSecureContext` re-keys it later (a renewal) without closing a
   * connection. Default: plain http.
   */
  tls?: { cert: string, key: string }
}

export interface RpcServerStats {
  ws: WsStats
}

export interface RpcServer {
  readonly server: Server
  readonly limits: Readonly<RpcLimits>
  /** Starts listening; `host` defaults to 127.0.0.1 (pass "0.0.0.0" or "::" to serve other machines). */
  listen: (port: number, host?: string) => Promise<{ port: number }>
  /** Closes every WebSocket and HTTP connection and stops listening. */
  close: () => Promise<void>
  stats: () => RpcServerStats
  /** With `tls`: a new certificate and key for new connections; open ones keep theirs. */
  setSecureContext: (pair: { cert: string, key: string }) => void
}

export function createRpcServer (init: RpcServerInit): RpcServer {
  const limits = resolveRpcLimits(init.limits)
  const logger = init.logger ?? silentLogger
  const path = init.path ?? '/rpc'
  const node = init.node
  const access: Readonly<RpcAccess> = Object.freeze({ ...DEFAULT_RPC_ACCESS, ...init.access })

  const txStatus = new TxStatusTracker(node.pool, limits.txStatusMemory)
  const subscriptions = new SubscriptionHub(node.pool, limits.maxSubscriptionsPerSocket)
  const processor = new JsonRpcProcessor({
    methods: createMethods({ node, limits, txStatus, subscriptions, admin: init.admin === true }),
    maxBatchLength: limits.maxBatchLength,
    maxDepth: limits.maxDepth,
    maxReplyBytes: limits.maxReplyBytes,
    onInternalError: (err, method) => { logger.error({ err, method }, 'RPC method failed') },
    ...(init.onCall === undefined ? {} : { onCall: init.onCall })
  })
  const rateLimiter = new ClientRateLimiter(limits.rateLimitPerSecond)

  const serverOptions = {
    // Node's own guards against slow headers and bodies, as a backstop: the
    // RPC handler answers a slow body itself (408 JSON) at readTimeoutMs.
    headersTimeout: limits.readTimeoutMs,
    requestTimeout: limits.readTimeoutMs + 1_000,
    connectionsCheckingInterval: Math.min(1_000, limits.readTimeoutMs)
  }
  const handler = httpHandler({ path, access, limits, rateLimiter, processor, logger, ...(init.routes === undefined ? {} : { routes: init.routes }) })
  const tlsServer = init.tls === undefined
    ? undefined
    // a TLS handshake must finish within the read deadline too (Node's default: 120 s)
    : createHttpsServer({ ...serverOptions, handshakeTimeout: limits.readTimeoutMs, cert: init.tls.cert, key: init.tls.key }, handler)
  const server: Server = tlsServer ?? createServer(serverOptions, handler)
  tlsServer?.on('tlsClientError', (err, socket) => {
    logger.debug({ err: err.message }, 'TLS client error')
    socket.destroy()
  })
  server.maxConnections = limits.maxConnections
  function closeIfUnused (socket: Socket): void {
    const unused = setTimeout(() => { socket.destroy() }, limits.httpIdleTimeoutMs)
    unused.unref()
    socket.once('data', () => { clearTimeout(unused) })
    socket.once('close', () => { clearTimeout(unused) })
  }
  // An idle keep-alive connection is closed after httpIdleTimeoutMs, and so is
  // one opened and never used (below). Not `server.timeout`: that would also cut
  // a request that is slow to answer (a light node fetching a body from peers).
  server.keepAliveTimeout = limits.httpIdleTimeoutMs
  // One address may hold at most maxConnectionsPerIp sockets; past it, new ones are closed at once.
  const perIp = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? 'unknown'
    const open = (perIp.get(ip) ?? 0) + 1
    if (open > limits.maxConnectionsPerIp) {
      logger.debug({ ip }, 'HTTP connection refused: per-address limit')
      socket.destroy()
      return
    }
    perIp.set(ip, open)
    // over TLS the raw socket's bytes go to the TLS layer, never to a 'data'
    // event: the decrypted socket is watched instead (below), and the
    // handshake is bounded by handshakeTimeout
    if (tlsServer === undefined) closeIfUnused(socket)
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1
      if (left <= 0) perIp.delete(ip)
      else perIp.set(ip, left)
    })
  })
  tlsServer?.on('secureConnection', closeIfUnused)
  // What Node does by default, plus a log line: garbage 400, huge headers 431, slow headers 408.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    logger.debug({ err: err.message, code: err.code }, 'HTTP client error')
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code?.startsWith('HPE_') === true ? 400 : undefined
    if (status !== undefined && socket.writable && ((socket as Partial<Socket>).bytesWritten ?? 0) === 0) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]!}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    socket.destroy()
  })
  const ws = new WsRpc({ server, path, access, limits, rateLimiter, processor, subscriptions, logger })

  let closed = false
  return {
    server,
    limits,
    listen: async (port, host = '127.0.0.1') => {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => { reject(err) }
        server.once('error', onError)
        server.listen(port, host, () => {
          server.off('error', onError)
          resolve()
        })
      })
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      logger.info({ host, port: bound, path, admin: init.admin === true }, 'JSON-RPC listening')
      return { port: bound }
    },
    close: async () => {
      if (closed) return
      closed = true
      await ws.close()
      subscriptions.close()
      txStatus.close()
      if (server.listening) {
        await new Promise<void>(resolve => {
          server.close(() => { resolve() })
          server.closeAllConnections()
        })
      }
    },
    stats: () => ({ ws: ws.stats() }),
    setSecureContext: (pair) => {
      if (tlsServer === undefined) throw new Error('the RPC server was created without tls')
      tlsServer.setSecureContext({ cert: pair.cert, key: pair.key })
    }
  }
}
