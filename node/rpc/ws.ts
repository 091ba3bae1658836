/**
 * JSON-RPC over WebSocket, on the same path as HTTP: each text message is a
 * request or a batch, answered on the same socket; subscriptions push
 * notifications (./subscriptions.ts).
 *
 * Bounds: limits.maxWsConnections sockets (more upgrades get 503), and
 * limits.maxWsConnectionsPerIp from one address (more get 429); messages
 * up to limits.maxWsMessageBytes (ws closes the socket with 1009 past it);
 * the per-IP request rate shared with HTTP; limits.maxSubscriptionsPerSocket;
 * and the send buffer: a client that does not read, so that more than
 * limits.maxWsBufferedBytes wait to be sent to it, is dropped with close code
 * 1008 instead of being buffered for without bound. Sockets are pinged every
 * limits.wsPingIntervalMs; one that missed the previous pong is cut.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { checkAccess, type RpcAccess } from './access.ts'
import { clientKey, pathOf } from './http.ts'
import { LIMIT_EXCEEDED } from './errors.ts'
import { failure, type JsonRpcProcessor } from './jsonrpc.ts'
import type { RpcLimits } from './limits.ts'
import type { RpcLogger } from './logger.ts'
import type { CallContext } from './methods.ts'
import type { ClientRateLimiter } from './rate-limit.ts'
import type { NotificationSink, SubscriptionHub } from './subscriptions.ts'
import { WebSocketServer, WS_CLOSED, WS_OPEN, wsText, type WsData, type WsServer, type WsSocket } from './ws-lib.ts'

/** Close code for a client dropped for policy (here: not reading its messages). */
const CLOSE_POLICY_VIOLATION = 1008
const CLOSE_GOING_AWAY = 1001
/**
 * How long a dropped or closing socket gets to finish the close handshake
 * before it is destroyed. A slow client's close frame waits behind its full
 * buffer, so without this it would linger as long as the client likes.
 */
const CLOSE_GRACE_MS = 1_000

export interface WsRpcInit {
  server: Server
  path: string
  access: Readonly<RpcAccess>
  limits: Readonly<RpcLimits>
  rateLimiter: ClientRateLimiter
  processor: JsonRpcProcessor<CallContext>
  subscriptions: SubscriptionHub
  logger: RpcLogger
}

interface Session {
  readonly ws: WsSocket
  readonly ip: string
  readonly ctx: CallContext & { sink: NotificationSink }
  alive: boolean
  dropping: boolean
  killTimer?: ReturnType<typeof setTimeout>
}

export interface WsStats {
  connections: number
  subscriptions: number
  /** Clients dropped for not reading (send buffer over the limit) since start. */
  droppedSlow: number
}

export class WsRpc {
  private readonly init: WsRpcInit
  private readonly wss: WsServer
  private readonly sessions = new Set<Session>()
  /** Open and upgrading sockets per remote IP. */
  private readonly perIp = new Map<string, number>()
  private readonly heartbeat: ReturnType<typeof setInterval>
  /** Upgrades accepted but not yet open: counted against the connection limit too. */
  private upgrading = 0
  private droppedSlow = 0
  private closing = false

  constructor (init: WsRpcInit) {
    this.init = init
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: init.limits.maxWsMessageBytes,
      clientTracking: false,
      perMessageDeflate: false
    })
    init.server.on('upgrade', this.onUpgrade)
    this.heartbeat = setInterval(() => { this.ping() }, init.limits.wsPingIntervalMs)
    this.heartbeat.unref()
  }

  stats (): WsStats {
    return { connections: this.sessions.size, subscriptions: this.init.subscriptions.size, droppedSlow: this.droppedSlow }
  }

  /** Closes every socket (1001), destroying those that do not finish closing within a second. */
  async close (): Promise<void> {
    this.closing = true
    clearInterval(this.heartbeat)
    this.init.server.off('upgrade', this.onUpgrade)
    await Promise.all([...this.sessions].map(async session => {
      await new Promise<void>(resolve => {
        if (session.ws.readyState === WS_CLOSED) {
          resolve()
          return
        }
        session.ws.once('close', () => { resolve() })
        session.ws.close(CLOSE_GOING_AWAY, 'server shutting down')
        setTimeout(() => { session.ws.terminate(); resolve() }, CLOSE_GRACE_MS).unref()
      })
    }))
    await new Promise<void>(resolve => { this.wss.close(() => { resolve() }) })
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {}) // a reset during the handshake is the client's business
    const ip = clientKey(req)
    if (pathOf(req) !== this.init.path) {
      refuseUpgrade(socket, 404, 'not found')
      return
    }
    // a page on another origin must not reach the RPC through its visitor's browser
    const denied = checkAccess(req, this.init.access)
    if (denied !== undefined) {
      this.init.logger.debug({ ip, host: req.headers.host, origin: req.headers.origin }, 'WebSocket refused by access policy')
      refuseUpgrade(socket, denied.status, denied.message)
      return
    }
    if (this.closing || this.sessions.size + this.upgrading >= this.init.limits.maxWsConnections) {
      this.init.logger.debug({ ip }, 'WebSocket refused: connection limit')
      refuseUpgrade(socket, 503, 'too many WebSocket connections')
      return
    }
    if ((this.perIp.get(ip) ?? 0) >= this.init.limits.maxWsConnectionsPerIp) {
      this.init.logger.debug({ ip }, 'WebSocket refused: per-address limit')
      refuseUpgrade(socket, 429, 'too many WebSocket connections from this address')
      return
    }
    if (!this.init.rateLimiter.consume(ip)) {
      refuseUpgrade(socket, 429, 'rate limited')
      return
    }
    this.upgrading++
    // counted per address from the upgrade until the socket closes
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    socket.once('close', () => {
      const left = (this.perIp.get(ip) ?? 1) - 1
      if (left <= 0) this.perIp.delete(ip)
      else this.perIp.set(ip, left)
    })
    let counted = true
    const uncount = (): void => { if (counted) { counted = false; this.upgrading-- } }
    socket.once('close', uncount)
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      uncount()
      this.onConnection(ws, ip)
    })
  }

  private onConnection (ws: WsSocket, ip: string): void {
    if (this.closing) {
      ws.terminate()
      return
    }
    const sink: NotificationSink = { send: (text) => { this.send(session, text) } }
    const session: Session = { ws, ip, ctx: { transport: 'ws', sink }, alive: true, dropping: false }
    this.sessions.add(session)
    ws.on('message', (data) => { this.onMessage(session, data) })
    ws.on('pong', () => { session.alive = true })
    ws.on('error', (err) => { this.init.logger.debug({ ip, err: err.message }, 'WebSocket error') })
    ws.on('close', () => {
      this.sessions.delete(session)
      this.init.subscriptions.removeSink(sink)
      if (session.killTimer !== undefined) clearTimeout(session.killTimer)
    })
  }

  /** Text and binary messages alike are read as UTF-8 JSON. */
  private onMessage (session: Session, data: WsData): void {
    if (session.dropping) return
    this.init.processor.process(wsText(data), session.ctx, (n) => this.init.rateLimiter.consume(session.ip, n))
      .then(outcome => {
        if (outcome.body === undefined) return
        const text = outcome.text ?? JSON.stringify(outcome.body)
        // a reply that could never fit the send buffer is refused, not a reason to drop the client
        if (Buffer.byteLength(text) > this.init.limits.maxWsBufferedBytes) {
          this.send(session, JSON.stringify(failure(null, LIMIT_EXCEEDED, `reply too large for a WebSocket: over ${this.init.limits.maxWsBufferedBytes} bytes (ask for less at once)`)))
          return
        }
        this.send(session, text)
      })
      .catch((err: unknown) => { this.init.logger.error({ err, ip: session.ip }, 'WebSocket message handling failed') })
  }

  /** Sends unless the client has let too much pile up unread, in which case it is dropped. */
  private send (session: Session, text: string): void {
    const { ws } = session
    if (session.dropping || ws.readyState !== WS_OPEN) return
    // counted before queueing: a reply that would take the buffer past its cap is not queued
    if (ws.bufferedAmount + Buffer.byteLength(text) > this.init.limits.maxWsBufferedBytes) {
      this.drop(session)
      return
    }
    ws.send(text, () => {}) // a send error surfaces as the socket's 'error' and 'close'
  }

  private drop (session: Session): void {
    session.dropping = true
    this.droppedSlow++
    this.init.logger.warn({ ip: session.ip, buffered: session.ws.bufferedAmount }, 'dropping slow WebSocket client')
    this.init.subscriptions.removeSink(session.ctx.sink)
    session.ws.close(CLOSE_POLICY_VIOLATION, 'send buffer limit exceeded')
    session.killTimer = setTimeout(() => { session.ws.terminate() }, CLOSE_GRACE_MS)
    session.killTimer.unref()
  }

  private ping (): void {
    for (const session of this.sessions) {
      if (!session.alive) {
        session.ws.terminate()
        continue
      }
      session.alive = false
      try {
        session.ws.ping()
      } catch {
        // closing already
      }
    }
  }
}

function refuseUpgrade (socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  setTimeout(() => { socket.destroy() }, CLOSE_GRACE_MS).unref()
}
