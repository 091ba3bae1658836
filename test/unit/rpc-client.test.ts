import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { rpcCall } from '../../node/cli/rpc-client.ts'

/**
 * The CLI's JSON-RPC client sends a call again when its socket is reset
 * under it (a starved node, a keep-alive socket closed as it was reused):
 * the many-tabs test's sender stopped on one such ECONNRESET. A refused
 * connection is not retried: no node is there.
 */

let server: Server | undefined
afterEach(async () => { await new Promise<void>(resolve => { if (server === undefined) resolve(); else server.close(() => { resolve() }) }); server = undefined })

/** A server that resets the socket of the first `resets` requests, then answers each with its method's name. */
async function resetting (resets: number): Promise<{ url: string, requests: () => number }> {
  let n = 0
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      if (n++ < resets) { req.socket.resetAndDestroy(); return }
      const { id, method } = JSON.parse(body) as { id: number, method: string }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: method }))
    })
  })
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`, requests: () => n }
}

describe('rpcCall', () => {
  it('sends a call again when its socket is reset, and gets the answer', async () => {
    const s = await resetting(2)
    expect(await rpcCall(s.url, 'pool_status')).toBe('pool_status')
    expect(s.requests()).toBe(3)
  })

  it('gives up after its retries with what the socket said', async () => {
    const s = await resetting(100)
    await expect(rpcCall(s.url, 'pool_status', [], 2)).rejects.toThrow(/cannot reach .*ECONNRESET.*after 3 attempts/)
    expect(s.requests()).toBe(3)
  })

  it('does not retry a refused connection', async () => {
    const s = await resetting(0)
    const url = s.url
    await new Promise<void>(resolve => server!.close(() => { resolve() }))
    server = undefined
    const err = await rpcCall(url, 'pool_status').catch((e: Error) => e)
    expect((err as Error).message).toMatch(/ECONNREFUSED/)
    // one attempt: the message would say how many otherwise
    expect((err as Error).message).not.toMatch(/attempts/)
  })
})
