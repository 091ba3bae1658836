/**
 * JSON-RPC over HTTP: `POST <path>` with `Content-Type: application/json`.
 * Other paths go to the caller's `routes`, then 404.
 *
 * Every request has one read deadline (limits.readTimeoutMs from its
 * headers): a client that has not sent its whole body by then is answered
 * 408 and disconnected. Bodies are read into memory only up to
 * limits.maxBodyBytes; past it the client gets 413 and the rest of its body
 * is discarded unread (the connection is cut if it is still sending at the
 * deadline). Node's event loop serves everyone else meanwhile.
 *
 * HTTP statuses: 200 for any JSON-RPC response (errors included), 204 when
 * only notifications were sent, 400 for a message that is not JSON or is over
 * the depth or batch limit, 405 wrong method, 415 wrong content type,
 * 413 body too large, 408 too slow, 429 rate limited (with Retry-After),
 * 403 Host or Origin not allowed and 401 no or wrong token (./access.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { INTERNAL_ERROR, INVALID_REQUEST, LIMIT_EXCEEDED, RATE_LIMITED, REQUEST_TIMEOUT } from './errors.ts'
import { failure, type JsonRpcProcessor, type JsonRpcResponse } from './jsonrpc.ts'
import { checkAccess, type RpcAccess } from './access.ts'
import type { RpcLimits } from './limits.ts'
import type { RpcLogger } from './logger.ts'
import type { CallContext } from './methods.ts'
import type { ClientRateLimiter } from './rate-limit.ts'

/** Handles a request for another path (metrics, health, static files); resolves true if it answered. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>

export interface HttpHandlerInit {
  path: string
  access: Readonly<RpcAccess>
  limits: Readonly<RpcLimits>
  rateLimiter: ClientRateLimiter
  processor: JsonRpcProcessor<CallContext>
  routes?: RouteHandler
  logger: RpcLogger
}

type BodyRead =
  | { kind: 'ok', body: Buffer }
  | { kind: 'too-large' }
  | { kind: 'timeout' }
  | { kind: 'aborted' }

const HTTP_CONTEXT: CallContext = Object.freeze({ transport: 'http' })

/** The key a client is rate limited by: its remote IP. */
export function clientKey (req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown'
}

export function pathOf (req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

export function httpHandler (init: HttpHandlerInit): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger } = init
  // One error line (with its stack) per interval, with the count of those left out:
  // a client must not be able to make the node write a stack per request.
  let lastLogged = -Infinity
  let suppressed = 0
  return (req, res) => {
    const work = pathOf(req) === init.path ? handleRpc(init, req, res) : handleRoute(init, req, res)
    work.catch((err: unknown) => {
      const now = Date.now()
      if (now - lastLogged >= init.limits.errorLogIntervalMs) {
        logger.error({ err, path: pathOf(req).slice(0, 200), suppressed }, 'HTTP handler failed')
        lastLogged = now
        suppressed = 0
      } else {
        suppressed++
      }
      if (!res.headersSent) sendJson(res, 500, failure(null, INTERNAL_ERROR, 'internal error'))
      else res.destroy()
    })
  }
}

async function handleRoute (init: HttpHandlerInit, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (init.routes !== undefined && await init.routes(req, res)) return
  sendJson(res, 404, { error: 'not found' })
  discardAfterResponse(req, Date.now() + init.limits.readTimeoutMs)
}

async function handleRpc (init: HttpHandlerInit, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { limits, logger } = init
  const deadline = Date.now() + limits.readTimeoutMs
  const refuse = (status: number, code: number, message: string, headers: Record<string, string> = {}): void => {
    sendJson(res, status, failure(null, code, message), headers)
    discardAfterResponse(req, deadline)
  }

  const denied = checkAccess(req, init.access)
  if (denied !== undefined) {
    logger.debug({ ip: clientKey(req), host: req.headers.host, origin: req.headers.origin }, 'RPC request refused by access policy')
    refuse(denied.status, INVALID_REQUEST, denied.message)
    return
  }
  if (req.method !== 'POST') {
    refuse(405, INVALID_REQUEST, `use POST (or a WebSocket upgrade) on ${init.path}`, { Allow: 'POST' })
    return
  }
  // Requiring application/json also keeps browsers from posting here cross-site without a CORS preflight.
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') {
    refuse(415, INVALID_REQUEST, 'Content-Type must be application/json')
    return
  }
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    refuse(413, LIMIT_EXCEEDED, `body of ${declared} bytes exceeds the limit of ${limits.maxBodyBytes}`)
    return
  }

  const read = await readBody(req, limits.maxBodyBytes, deadline - Date.now())
  const ip = clientKey(req)
  switch (read.kind) {
    case 'aborted':
      return
    case 'too-large':
      logger.debug({ ip }, 'RPC body too large')
      refuse(413, LIMIT_EXCEEDED, `body exceeds the limit of ${limits.maxBodyBytes} bytes`)
      return
    case 'timeout':
      logger.debug({ ip }, 'RPC client too slow to send its request')
      sendJson(res, 408, failure(null, REQUEST_TIMEOUT, `request not received within ${limits.readTimeoutMs} ms`), { Connection: 'close' })
      // the client is still holding the connection open: cut it once the answer is out
      res.once('finish', () => { req.socket.destroy() })
      return
  }

  // A client already over its budget is refused before its body is parsed.
  if (init.rateLimiter.exhausted(ip)) {
    init.rateLimiter.consume(ip)
    sendJson(res, 429, failure(null, RATE_LIMITED, 'rate limited: too many requests from this address'),
      { 'Retry-After': String(init.rateLimiter.retryAfterSeconds(ip)) })
    return
  }
  const outcome = await init.processor.process(read.body.toString('utf8'), HTTP_CONTEXT, (n) => init.rateLimiter.consume(ip, n))
  if (outcome.status === 429) {
    logger.debug({ ip }, 'RPC client rate limited')
    const body = outcome.body ?? failure(null, RATE_LIMITED, 'rate limited: too many requests from this address')
    sendJson(res, 429, body, { 'Retry-After': String(init.rateLimiter.retryAfterSeconds(ip)) })
    return
  }
  if (outcome.body === undefined) {
    res.writeHead(204, { 'Cache-Control': 'no-store' })
    res.end()
    return
  }
  sendJson(res, outcome.status, outcome.text ?? outcome.body)
  // a client that does not take its reply must not hold it in memory for long
  const timer = setTimeout(() => {
    init.logger.debug({ ip }, 'RPC client did not read its reply in time: disconnected')
    res.destroy()
  }, limits.writeTimeoutMs)
  timer.unref()
  const clear = (): void => { clearTimeout(timer) }
  res.once('finish', clear)
  res.once('close', clear)
}

/**
 * Reads a request body into memory, up to `maxBytes` and within `timeoutMs`.
 * When it gives up (too large, too slow), the stream keeps flowing with no
 * listener, so the rest of the body is discarded rather than buffered.
 */
function readBody (req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyRead> {
  return new Promise(resolve => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (result: BodyRead): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onAborted)
      req.off('close', onClose)
      resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) finish({ kind: 'too-large' })
      else chunks.push(chunk)
    }
    const onEnd = (): void => { finish({ kind: 'ok', body: Buffer.concat(chunks, size) }) }
    const onAborted = (): void => { finish({ kind: 'aborted' }) }
    const onClose = (): void => { if (!req.complete) finish({ kind: 'aborted' }) }
    const timer = setTimeout(() => { finish({ kind: 'timeout' }) }, Math.max(0, timeoutMs))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAborted)
    req.on('close', onClose)
  })
}

/**
 * After answering before the body was read, let Node discard the rest of it
 * (so the client sees the answer instead of a connection reset), but only
 * until the request's deadline: a client still sending then is cut off.
 */
function discardAfterResponse (req: IncomingMessage, deadline: number): void {
  if (req.complete) return
  req.resume()
  const timer = setTimeout(() => { if (!req.complete) req.socket.destroy() }, Math.max(0, deadline - Date.now()))
  const clear = (): void => { clearTimeout(timer) }
  req.once('end', clear)
  req.once('close', clear)
}

/** Answers with `body`, or with `body` as it is when it is JSON text already. */
function sendJson (res: ServerResponse, status: number, body: JsonRpcResponse | JsonRpcResponse[] | object | string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  let text: string
  try {
    text = typeof body === 'string' ? body : JSON.stringify(body)
  } catch {
    status = 500
    text = JSON.stringify(failure(null, INTERNAL_ERROR, 'internal error'))
  }
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers
  })
  res.end(text)
}
