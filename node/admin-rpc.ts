import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRpcServer, LOCALHOST_NAMES, type RpcLogger, type RpcNode, type RpcServer } from './rpc/index.ts'
import type { RpcLimits } from './rpc/limits.ts'

/**
 * The admin RPC of `lightpool node --rpc-admin`: the whole method table,
 * pool_markMined and pool_removeTx included, on a server of its own that
 *
 * - binds to 127.0.0.1 only: not reachable from other machines;
 * - answers only requests with `Authorization: Bearer <token>`, the token
 *   being the contents of <data dir>/rpc-admin.token (created at the first
 *   start, mode 0600, like geth's engine-API JWT secret): other local users
 *   and any web page cannot call it (a page cannot read the file, and its
 *   cross-origin requests are refused by Origin anyway).
 *
 * The public RPC never serves admin methods, so a browser's visit to a
 * hostile page cannot mark txs mined or remove them.
 *
 *   curl -H "authorization: Bearer $(cat ~/.lightpool/rpc-admin.token)" \
 *     -H 'content-type: application/json' http://127.0.0.1:8081/rpc \
 *     -d '{"jsonrpc":"2.0","id":1,"method":"pool_removeTx","params":["0x…"]}'
 */
const ADMIN_TOKEN_FILE = 'rpc-admin.token'

export interface AdminRpc {
  server: RpcServer
  /** http://127.0.0.1:<port>/rpc */
  url: string
  tokenFile: string
}

export interface AdminRpcInit {
  node: RpcNode
  dataDir: string
  port: number
  logger: RpcLogger
  limits: Partial<RpcLimits>
}

export async function startAdminRpc (init: AdminRpcInit): Promise<AdminRpc> {
  const tokenFile = join(init.dataDir, ADMIN_TOKEN_FILE)
  const server = createRpcServer({
    node: init.node,
    admin: true,
    logger: init.logger,
    limits: init.limits,
    access: { vhosts: LOCALHOST_NAMES, origins: [], authToken: loadOrCreateToken(tokenFile) }
  })
  const { port } = await server.listen(init.port, '127.0.0.1')
  return { server, url: `http://127.0.0.1:${port}/rpc`, tokenFile }
}

/** The token in `file`, or a new random one written there (0600). */
function loadOrCreateToken (file: string): string {
  try {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 32) return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(32).toString('hex')
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  return token
}
