import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLightpool, type Lightpool } from '../src/lightpool.ts'
import type { TxLimits } from '../src/tx/limits.ts'
import type { NodeConfig } from './config.ts'
import { httpRoutes } from './http-routes.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { lockDataDir } from './lock.ts'
import type { Logger } from './logger.ts'
import { createRegistry, registerNodeMetrics, rpcCallMetrics } from './metrics.ts'
import { packageRoot } from './package-root.ts'
import { createRpcServer } from './rpc/index.ts'
import { openDatabase } from './store/database.ts'
import { LmdbDatastore } from './store/lmdb-datastore.ts'
import { LmdbPoolStore } from './store/lmdb-pool-store.ts'

/** The package's built observer page (npm run build:web) and widget/library (npm run build:lib). */
export const DEFAULT_WEB_DIR = join(packageRoot(), 'dist/web')
export const DEFAULT_LIB_DIR = join(packageRoot(), 'dist/lib')

export interface RunningNode {
  node: Lightpool
  /** http://host:port of the RPC/metrics/observer server */
  httpUrl: string
  /** multiaddrs a browser dials (WebSocket) */
  browserAddrs: string[]
  stop: () => Promise<void>
}

function ipProto (host: string): string {
  return host.includes(':') ? 'ip6' : 'ip4'
}

/** Opens the data dir and starts the node and its HTTP server. Everything opened is closed again if a later step fails. */
export async function runNode (config: NodeConfig, log: Logger): Promise<RunningNode> {
  const startedAt = Date.now()
  const dataDir = resolve(config.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const cleanups: Array<() => Promise<void> | void> = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse().splice(0)) await Promise.resolve(fn()).catch((err) => { log.error({ err }, 'shutdown step failed') })
  }
  try {
    cleanups.push(lockDataDir(dataDir))
    const db = await openDatabase({ path: join(dataDir, 'db'), network: config.network })
    cleanups.push(async () => { await db.close() })
    const privateKey = await loadOrCreateIdentity(dataDir)
    const limits: TxLimits = { maxPayloadBytes: config.maxPayloadBytes, maxNullifiers: config.maxNullifiers }
    const store = new LmdbPoolStore(db, {
      limits,
      onCorrupt: (hash, err) => { log.warn({ hash, err: (err as Error).message }, 'dropped a corrupt pool record') }
    })
    const registry = createRegistry()
    const ip = ipProto(config.host)
    const services: Record<string, (components: any) => unknown> = {}
    if (config.relay) {
      services.relay = circuitRelayServer({
        reservations: {
          maxReservations: config.relayMaxReservations,
          applyDefaultLimit: !config.relayUnlimited,
          defaultDataLimit: BigInt(config.relayDataLimitBytes),
          defaultDurationLimit: config.relayDurationLimitSeconds * 1000
        }
      })
    }

    log.info({ dataDir, network: config.network, mode: config.mode }, 'starting lightpool node')
    const node = await createLightpool({
      network: config.network,
      mode: config.mode,
      store,
      pool: {
        maxCount: config.maxTxs,
        maxBytes: config.maxPoolBytes,
        minFee: config.minFee,
        replacementBumpPercent: config.replacementBumpPercent
      },
      txLimits: limits,
      bootstrap: config.bootstrap,
      transports: [tcp(), webSockets()],
      listen: [`/${ip}/${config.host}/tcp/${config.tcpPort}`, `/${ip}/${config.host}/tcp/${config.wsPort}/ws`],
      ...(config.announce.length > 0 ? { announce: config.announce } : {}),
      privateKey,
      datastore: new LmdbDatastore(db),
      connectionManager: {
        maxConnections: config.maxConnections,
        // a relay's browsers often share one address (a NAT): libp2p's default of 5 new connections per second per host is too few
        inboundConnectionThreshold: config.relay ? 100 : 20
      },
      services,
      metrics: prometheusMetrics({ registry, collectDefaultMetrics: false }),
      net: { peers: { minPeers: config.minPeers } }
    })
    cleanups.push(async () => { await node.stop() })
    const relay = node.libp2p.services.relay as CircuitRelayService | undefined
    registerNodeMetrics(registry, node, relay === undefined ? undefined : { reservations: () => relay.reservations.size })

    const rpc = createRpcServer({
      node,
      logger: log,
      admin: config.rpcAdmin,
      limits: { maxBodyBytes: config.rpcMaxBodyBytes, rateLimitPerSecond: config.rpcRateLimit, maxBatchLength: config.rpcMaxBatch },
      onCall: rpcCallMetrics(registry),
      routes: httpRoutes({ node, registry, webDir: config.webDir === '' ? DEFAULT_WEB_DIR : resolve(config.webDir), libDir: DEFAULT_LIB_DIR, startedAt })
    })
    const { port } = await rpc.listen(config.httpPort, config.host)
    cleanups.push(async () => { await rpc.close() })

    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
    const httpUrl = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`
    const multiaddrs = node.libp2p.getMultiaddrs().map(String)
    const browserAddrs = multiaddrs.filter(a => a.includes('/ws/'))
    log.info({
      peerId: node.peerId.toString(),
      multiaddrs,
      browserAddrs,
      rpc: `${httpUrl}/rpc`,
      observer: `${httpUrl}/`,
      restoredTxs: node.pool.size
    }, `lightpool node ready — observer page ${httpUrl}/ · JSON-RPC ${httpUrl}/rpc`)

    return { node, httpUrl, browserAddrs, stop: cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
