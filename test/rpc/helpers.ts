import { request } from 'node:http'
import { createRpcServer, type RpcServer, type RpcServerInit } from '../../node/rpc/index.ts'
import { WebSocket, wsText, type WsSocket } from '../../node/rpc/ws-lib.ts'

export interface RunningRpc {
  rpc: RpcServer
  url: string
  wsUrl: string
  port: number
}

export async function startRpc (init: RpcServerInit): Promise<RunningRpc> {
  const rpc = createRpcServer(init)
  const { port } = await rpc.listen(0, '127.0.0.1')
  return { rpc, port, url: `http://127.0.0.1:${port}/rpc`, wsUrl: `ws://127.0.0.1:${port}/rpc` }
}

/**
 * A parsed JSON-RPC payload, as loosely typed as JSON.parse gives it: every
 * method has its own shape, and each test reads the fields it expects and
 * asserts them with expect(), which is the type check here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of many shapes, asserted by each test
export type Json = any

export interface RpcReply {
  jsonrpc: '2.0'
  id: string | number | null
  result?: Json
  error?: { code: number, message: string, data?: Json }
}

let nextId = 1

/** One JSON-RPC call over HTTP; returns the whole reply (result or error). */
export async function call (url: string, method: string, params?: unknown): Promise<RpcReply> {
  const body: Record<string, unknown> = { jsonrpc: '2.0', id: nextId++, method }
  if (params !== undefined) body['params'] = params
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return await res.json() as RpcReply
}

/** The result of a call that must succeed. */
export async function result (url: string, method: string, params?: unknown): Promise<Json> {
  const reply = await call(url, method, params)
  if (reply.error !== undefined) throw new Error(`${method} failed: ${reply.error.code} ${reply.error.message}`)
  return reply.result
}

/** A raw POST: status, headers and body text. */
export async function post (url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number, headers: Headers, text: string, json: () => Json }> {
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
}

/** A POST from a chosen local address (127.0.0.x), to test per-IP limits on loopback. */
export async function postFrom (localAddress: string, url: string, body: string): Promise<{ status: number, text: string }> {
  const u = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      localAddress,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export function rpcBody (method: string, params?: unknown, id: number | string | null = nextId++): string {
  return JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })
}

export function hex (bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`
}

/** A WebSocket JSON-RPC client: replies matched to requests by id, notifications queued. */
export class WsClient {
  readonly ws: WsSocket
  readonly notifications: Json[] = []
  closed: { code: number, reason: string } | undefined
  private readonly pending = new Map<number, (reply: RpcReply) => void>()
  /** Waiting for replies to raw messages, in order. */
  private readonly rawWaiters: Array<(msg: Json) => void> = []
  private id = 1

  private constructor (ws: WsSocket) {
    this.ws = ws
    ws.on('message', (data) => {
      const msg = JSON.parse(wsText(data))
      if (!Array.isArray(msg) && msg.method === 'pool_subscription') {
        this.notifications.push(msg.params)
        return
      }
      const resolve = !Array.isArray(msg) && typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined
      if (resolve !== undefined) {
        this.pending.delete(msg.id)
        resolve(msg)
      } else {
        this.rawWaiters.shift()?.(msg)
      }
    })
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() } })
  }

  static async connect (url: string, opts: { localAddress?: string } = {}): Promise<WsClient> {
    const ws = new WebSocket(url, opts)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    return new WsClient(ws)
  }

  async call (method: string, params?: unknown): Promise<RpcReply> {
    const id = 1_000_000 + this.id++
    const reply = new Promise<RpcReply>(resolve => { this.pending.set(id, resolve) })
    this.ws.send(JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }))
    return await reply
  }

  /** Sends raw text; resolves with the next reply not claimed by `call`. */
  async raw (text: string): Promise<Json> {
    const reply = new Promise(resolve => { this.rawWaiters.push(resolve) })
    this.ws.send(text)
    return await reply
  }

  async close (): Promise<void> {
    if (this.closed !== undefined) return
    const done = new Promise<void>(resolve => { this.ws.once('close', () => { resolve() }) })
    this.ws.close()
    await done
  }
}
