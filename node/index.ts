/**
 * lightpool for Node.js (the package's "./node" entry): run a full node
 * inside your own service, or assemble one from its parts.
 *
 *   import { runNode, defaults, createLogger } from 'lightpool/node'
 *   const running = await runNode({ ...defaults(), dataDir: './pool', httpPort: 0 }, createLogger('info'))
 *   await running.node.submitTx(bytes)           // or POST to `${running.httpUrl}/rpc`
 *   await running.stop()
 *
 * The isomorphic core (createLightpool, txs, pool, validator) is the "." entry.
 */
export { runNode, DEFAULT_WEB_DIR, DEFAULT_LIB_DIR, type RunningNode } from './run-node.ts'
export { OPTIONS, defaults, validateConfig, readConfigFile, ConfigError, envName, type NodeConfig, type OptionSpec, type OptionKind } from './config.ts'
export { createLogger, type Logger } from './logger.ts'
export { loadOrCreateIdentity, KEY_FILE } from './identity.ts'
export { openDatabase, Database, DataDirError, SCHEMA_VERSION, type DatabaseInit } from './store/database.ts'
export { LmdbPoolStore, type LmdbPoolStoreInit } from './store/lmdb-pool-store.ts'
export { LmdbDatastore, type LmdbDatastoreInit } from './store/lmdb-datastore.ts'
export {
  createRpcServer, DEFAULT_RPC_LIMITS, resolveRpcLimits, DEFAULT_RPC_ACCESS, LOCALHOST_NAMES,
  type RpcServer, type RpcServerInit, type RpcServerStats, type RpcLimits, type RpcAccess, type RpcLogger,
  type RouteHandler, type RpcCallTiming, type RpcNode, type CallContext, type TxStatus, type TxSummary, type PoolStatusJson,
  // JSON-RPC error codes (./rpc/errors.ts) and the error a method throws to answer with one
  PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, TX_REJECTED, TX_IGNORED,
  UNSUPPORTED_TRANSPORT, RATE_LIMITED, LIMIT_EXCEEDED, REQUEST_TIMEOUT, STORE_FAILED, RpcError, invalidParams
} from './rpc/index.ts'
export { createRegistry, registerNodeMetrics, rpcCallMetrics, NETWORK_BUCKETS_SECONDS, RPC_BUCKETS_SECONDS, type RelayInfo } from './metrics.ts'
export { httpRoutes, type RoutesInit } from './http-routes.ts'
