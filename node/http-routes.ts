import { existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import sirv from 'sirv'
import type { Registry } from 'prom-client'
import type { Lightpool } from '../src/index.ts'
import { ClientRateLimiter } from './rpc/rate-limit.ts'
import type { StoreHealth } from './store/write-guard.ts'

/**
 * The HTTP routes beside JSON-RPC: Prometheus metrics, a health check, and
 * the observer page (the Vite build, served as static files).
 */
export interface RoutesInit {
  node: Lightpool
  registry: Registry
  /** The built observer page; absent or missing → "/" explains how to build it. */
  webDir?: string
  /** The built widget and browser library, served at /lib/ to any origin (CORS), so a page elsewhere can embed the dashboard. */
  libDir?: string
  startedAt: number
  /** Requests per second per address to /health and /metrics; more get 429. Default 10. */
  rateLimitPerSecond?: number
  /** The store's write health; while it fails, /health answers 503 with status "store-failing". */
  storeHealth?: () => StoreHealth
}

export function httpRoutes (init: RoutesInit): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const haveWeb = init.webDir !== undefined && existsSync(init.webDir)
  // no dotfiles, no directory listings; immutable caching for Vite's hashed assets
  const serveStatic = haveWeb ? sirv(init.webDir, { etag: true, dotfiles: false, single: false, immutable: false }) : undefined
  const serveLib = init.libDir !== undefined && existsSync(init.libDir)
    ? sirv(init.libDir, { etag: true, dotfiles: false, setHeaders: (res) => { res.setHeader('access-control-allow-origin', '*') } })
    : undefined

  // a scrape renders every metric, a health check walks the node's stats: cheap once, not at 368 req/s
  // from one client (measured: a core at 100 %)
  const limiter = new ClientRateLimiter(init.rateLimitPerSecond ?? 10)
  return async (req, res) => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      // "GET http://[": not a request target; answered without a stack in the log
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'bad request target' }))
      return true
    }
    if (req.method === 'GET' && (url.pathname === '/metrics' || url.pathname === '/health')) {
      const ip = req.socket.remoteAddress ?? 'unknown'
      if (!limiter.consume(ip)) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limiter.retryAfterSeconds(ip)) })
        res.end(JSON.stringify({ error: 'rate limited: too many requests from this address' }))
        return true
      }
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const body = await init.registry.metrics()
      res.writeHead(200, { 'content-type': init.registry.contentType })
      res.end(body)
      return true
    }
    if (req.method === 'GET' && url.pathname === '/health') {
      const stats = init.node.net.stats()
      const store = init.storeHealth?.()
      const failing = store?.status === 'failing'
      const body = JSON.stringify({
        status: failing ? 'store-failing' : 'ok',
        ...(store === undefined ? {} : { store }),
        peerId: init.node.peerId.toString(),
        network: init.node.network,
        mode: init.node.mode,
        peers: stats.peers,
        pendingTxs: init.node.pool.size,
        uptimeSeconds: Math.round((Date.now() - init.startedAt) / 1000)
      })
      // a monitor that only looks at the status code must see a node that refuses every tx
      res.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' })
      res.end(body)
      return true
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    if (serveLib !== undefined && url.pathname.startsWith('/lib/')) {
      req.url = (req.url ?? '/').slice('/lib'.length)
      return await serve(serveLib, req, res)
    }
    if (serveStatic === undefined) {
      if (url.pathname !== '/') return false
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('lightpool node is running. The observer page is not built: run `npm run build:web` (npm install does it).\nJSON-RPC: POST /rpc · metrics: /metrics · health: /health\n')
      return true
    }
    return await serve(serveStatic, req, res)
  }
}

async function serve (handler: ReturnType<typeof sirv>, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    handler(req, res, () => { resolve(false) })
    res.once('finish', () => { resolve(true) })
  })
}
