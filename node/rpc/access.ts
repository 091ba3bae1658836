import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * Who may call the RPC, checked on every HTTP request to the RPC path and
 * every WebSocket upgrade, before anything is read or parsed. The threat is
 * a web page the node's operator (or anyone on the node's network) visits:
 * the browser will connect to ws://127.0.0.1:<port>/rpc for any page, and
 * sends whatever Host a DNS name rebound to 127.0.0.1 carries. As geth does:
 *
 * - Host allow-list (`vhosts`): the Host header, port stripped, must be one
 *   of these names (case-insensitive), or the list holds "*". A rebound DNS
 *   name is not on it. A request without a Host (HTTP/1.0 tools) passes.
 * - Origin allow-list (`origins`): a request carrying an Origin (every
 *   browser WebSocket, every browser POST) must come from the node's own
 *   origin (the observer page it serves: Origin host = Host) or from an
 *   origin on this list, or the list holds "*". Clients that are not
 *   browsers send no Origin and pass.
 * - Bearer token (`authToken`): when set, every request must carry
 *   `Authorization: Bearer <token>`. The admin listener sets it.
 */
export interface RpcAccess {
  /** Host names the RPC answers to; "*" for any. Default: localhost names only. */
  vhosts: readonly string[]
  /** Browser origins, besides the node's own, that may call the RPC ("https://dash.example"); "*" for any. Default: none. */
  origins: readonly string[]
  /** When set, every request must present it as `Authorization: Bearer <token>`. Default: none. */
  authToken?: string
}

/** The names a node on loopback answers to. */
export const LOCALHOST_NAMES: readonly string[] = Object.freeze(['localhost', '127.0.0.1', '::1'])

export const DEFAULT_RPC_ACCESS: Readonly<RpcAccess> = Object.freeze({ vhosts: LOCALHOST_NAMES, origins: Object.freeze([]) })

export interface Refused { status: 401 | 403, message: string }

/** The request's host name without its port ("[::1]:8080" → "::1"), lowercased; undefined without a Host. */
function hostName (host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') === -1 ? undefined : h.indexOf(']'))
  const colon = h.indexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}

/** Why `req` may not call the RPC, or undefined if it may. */
export function checkAccess (req: IncomingMessage, access: Readonly<RpcAccess>): Refused | undefined {
  const host = req.headers.host
  const name = hostName(host)
  if (name !== undefined && !access.vhosts.includes('*') && !access.vhosts.some(v => v.toLowerCase() === name)) {
    return { status: 403, message: `invalid host "${name}": not in the node's --rpc-vhosts` }
  }
  const origin = req.headers.origin
  if (origin !== undefined && !originAllowed(origin, host, access.origins)) {
    return { status: 403, message: `origin ${origin.slice(0, 100)} may not call this node's RPC: not its own page nor in --rpc-origins` }
  }
  if (access.authToken !== undefined && !bearerMatches(req.headers.authorization, access.authToken)) {
    return { status: 401, message: 'missing or wrong Authorization: Bearer <token> (the token is in the data directory, rpc-admin.token)' }
  }
  return undefined
}

function originAllowed (origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true
  const normal = origin.trim().toLowerCase().replace(/\/+$/, '')
  if (allowed.some(a => a.toLowerCase().replace(/\/+$/, '') === normal)) return true
  // the node's own page: same host and port as the request was sent to
  let url: URL
  try {
    url = new URL(normal)
  } catch {
    return false // "null" (sandboxed frames, file://) and garbage
  }
  return host !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.trim().toLowerCase()
}

function bearerMatches (header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '')
  if (m === null) return false
  const given = Buffer.from(m[1]!)
  const wanted = Buffer.from(token)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}
