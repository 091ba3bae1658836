import { RpcError } from '../rpc/errors.ts'

/** A minimal JSON-RPC 2.0 client over HTTP for the CLI, which backs off when the node rate-limits it and sends again a call whose socket was reset. */
export { RpcError }

/** The path `lightpool node` serves JSON-RPC on. */
const DEFAULT_RPC_PATH = '/rpc'

/**
 * The endpoint for `--rpc`: a node's base URL (`http://host:8080`, what its
 * log and the README show first) gets the JSON-RPC path; any other path is
 * taken as given. Throws an Error saying what is wrong with a bad URL.
 */
export function rpcEndpoint (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(`--rpc ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8080)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--rpc ${url}: expected an http:// or https:// URL such as http://127.0.0.1:8080`)
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = DEFAULT_RPC_PATH
  return parsed.toString()
}

/** Why a fetch failed, from its cause (undici puts the socket error there): "ECONNREFUSED 127.0.0.1:8080" rather than "fetch failed". */
function fetchFailure (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  if (cause?.code !== undefined) return `${cause.code}${cause.message !== undefined && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`
  return cause?.message ?? (err as Error).message
}

let nextId = 1

/**
 * Socket errors after which a call is sent again: the connection was reset
 * or closed under the request, as when the node closes a keep-alive socket
 * the moment the client reuses it (its 5 s idle timeout), or a starved node
 * resets what it cannot take. A refused connection (no node there) is not
 * among them. lightpool's methods are safe to send twice: a tx sent again is
 * "already known", a read reads again.
 */
const RESENT_ON = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

function resendable (err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code
  return code !== undefined && RESENT_ON.has(code)
}

export async function rpcCall<T = unknown> (url: string, method: string, params: unknown[] = [], retries = 5): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params })
      })
    } catch (err) {
      if (resendable(err) && attempt < retries) {
        await new Promise(resolve => setTimeout(resolve, 100 * (attempt + 1)))
        continue
      }
      throw new RpcError(-1, `cannot reach ${url}: ${fetchFailure(err)}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ''}`)
    }
    if (res.status === 429 && attempt < retries) {
      const wait = Number(res.headers.get('retry-after') ?? '1')
      await new Promise(resolve => setTimeout(resolve, Math.max(0.05, Math.min(wait, 10)) * 1000 * (attempt + 1)))
      continue
    }
    const text = await res.text()
    const shown = text.trim().slice(0, 200) || '(empty body)'
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new RpcError(-1, `HTTP ${res.status} from ${url}, not JSON-RPC: ${shown}`)
    }
    if (typeof body !== 'object' || body === null || (body as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      throw new RpcError(-1, `HTTP ${res.status} from ${url}, not a JSON-RPC response (is this the node's /rpc endpoint?): ${shown}`)
    }
    const { result, error } = body as { result?: T, error?: { code?: unknown, message?: unknown, data?: unknown } }
    if (error !== undefined) {
      const code = typeof error.code === 'number' ? error.code : -1
      const message = typeof error.message === 'string' && error.message !== '' ? error.message : `JSON-RPC error ${code} with no message`
      throw new RpcError(code, message, error.data)
    }
    return result as T
  }
}
