import { RpcError } from '../rpc/errors.ts'

/** A minimal JSON-RPC 2.0 client over HTTP for the CLI, which backs off when the node rate-limits it. */
export { RpcError }

let nextId = 1

export async function rpcCall<T = unknown> (url: string, method: string, params: unknown[] = [], retries = 5): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params })
    })
    if (res.status === 429 && attempt < retries) {
      const wait = Number(res.headers.get('retry-after') ?? '1')
      await new Promise(resolve => setTimeout(resolve, Math.max(0.05, Math.min(wait, 10)) * 1000 * (attempt + 1)))
      continue
    }
    const text = await res.text()
    let body: { result?: T, error?: { code: number, message: string, data?: unknown } }
    try {
      body = JSON.parse(text)
    } catch {
      throw new RpcError(-1, `HTTP ${res.status}: ${text.slice(0, 200)}`)
    }
    if (body.error !== undefined) throw new RpcError(body.error.code, body.error.message, body.error.data)
    return body.result as T
  }
}
