import { join, resolve } from 'node:path'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { createLightpool, type Lightpool, type ServiceFactories, type TxLimits } from '../src/index.ts'
import type { NodeConfig } from './config.ts'
import { httpRoutes } from './http-routes.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { lockDataDir } from './lock.ts'
import type { Logger } from './logger.ts'
import { createRegistry, registerInboundMetrics, registerNodeMetrics, registerStoreMetrics, registerTlsMetrics, rpcCallMetrics } from './metrics.ts'
import { packageRoot } from './package-root.ts'
import { InboundAddressGate } from './p2p-limits.ts'
import { limitedTcp, limitedWebSockets } from './p2p-transports.ts'
import { RelayReservationGate } from './relay-limits.ts'
import { createRpcServer, LOCALHOST_NAMES } from './rpc/index.ts'
import { startAdminRpc } from './admin-rpc.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { openDatabase, prepareDirectory } from './store/database.ts'
import { LmdbDatastore } from './store/lmdb-datastore.ts'
import { LmdbPoolStore } from './store/lmdb-pool-store.ts'
import { startTls, wsListenSuffix } from './tls.ts'

/**
 * What keeps a Node full node cheap at rest: settings of the network layer
 * whose library defaults stay as they were (browser tabs and the tests of
 * src/net rely on them), chosen here for a long-running node. Measured with
 * bench:node-cost, 6 idle nodes of 5 peers each, beside the other changes of
 * issue 22: ~2.3 % of a core per node before, the ping streams ~0.75 % of it
 * and the peer keeper's rounds ~0.5 %.
 */
export interface NodeUpkeepConfig {
  /**
   * How connections are pinged (LivenessConfig.via): 'muxer', a yamux PING
   * frame, not an /ipfs/ping stream with its negotiation and the peer-store
   * write libp2p makes for every stream. Default 'muxer'.
   */
  pingVia: 'muxer' | 'stream'
  /**
   * The longest wait between peer-keeping rounds that gain nothing
   * (PeerKeeperConfig.idleMaintenanceIntervalMs): a node below --min-peers on
   * a network with no more peers to give backs off from 5 s to this, and is
   * back at 5 s when a peer connects or disconnects. Default 2 min; 0: every
   * 5 s, as the library does.
   */
  peerIdleMaintenanceMs: number
}

const DEFAULT_NODE_UPKEEP_CONFIG: Readonly<NodeUpkeepConfig> = Object.freeze({
  pingVia: 'muxer',
  peerIdleMaintenanceMs: 2 * 60_000
})

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

/**
 * The names the public RPC answers to: localhost names, the --host it binds
 * to (unless a wildcard), the names and addresses in --announce, and
 * --rpc-vhosts. Anything else in a Host header is a rebound DNS name or a
 * misconfiguration.
 */
function rpcVhosts (config: Pick<NodeConfig, 'host' | 'announce' | 'rpcVhosts'>): string[] {
  const names = new Set<string>([...LOCALHOST_NAMES, ...config.rpcVhosts.map(v => v.toLowerCase())])
  if (config.host !== '0.0.0.0' && config.host !== '::') names.add(config.host.toLowerCase())
  for (const addr of config.announce) {
    for (const c of multiaddr(addr).getComponents()) {
      if (['dns', 'dns4', 'dns6', 'dnsaddr', 'ip4', 'ip6'].includes(c.name) && c.value !== undefined) names.add(c.value.toLowerCase())
    }
  }
  return [...names]
}

/** Opens the data dir and starts the node and its HTTP server. Everything opened is closed again if a later step fails. */
export async function runNode (config: NodeConfig, log: Logger, upkeepInit: Partial<NodeUpkeepConfig> = {}): Promise<RunningNode> {
  const startedAt = Date.now()
  const upkeep = { ...DEFAULT_NODE_UPKEEP_CONFIG, ...upkeepInit }
  const dataDir = resolve(config.dataDir)
  const cleanups: Array<() => Promise<void> | void> = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse().splice(0)) await Promise.resolve(fn()).catch((err) => { log.error({ err }, 'shutdown step failed') })
  }
  try {
    // TLS first: a bad certificate or key is a TlsError (exit 2) before anything is opened
    const tls = startTls(config, log)
    if (tls !== undefined) cleanups.push(() => { tls.stop() })
    prepareDirectory(dataDir)
    cleanups.push(await lockDataDir(dataDir))
    const db = await openDatabase({ path: join(dataDir, 'db'), network: config.network, minFreeBytes: config.storeMinFreeMb * 1024 * 1024 })
    cleanups.push(async () => { await db.close() })
    const privateKey = await loadOrCreateIdentity(dataDir)
    const limits: TxLimits = { maxPayloadBytes: config.maxPayloadBytes, maxNullifiers: config.maxNullifiers }
    db.writes.onChange = (health) => {
      if (health.status === 'failing') log.error({ store: health }, 'store writes are failing: txs are refused until a write succeeds (is the disk full?)')
      else log.info({ store: health }, 'store writes succeed again')
    }
    const unreadable = { records: 0 }
    const store = new LmdbPoolStore(db, {
      limits,
      onCorrupt: (hash, err) => {
        unreadable.records++
        log.warn({ hash, err: (err as Error).message }, 'dropped a corrupt pool record')
      },
      onUnreadable: (after, err) => {
        unreadable.records++
        log.error({ after, err: (err as Error).message }, 'skipped a damaged stretch of the pool store: its records are lost')
      }
    })
    const registry = createRegistry()
    const ip = ipProto(config.host)
    const services: ServiceFactories = {}
    const inbound = {
      maxPendingConnections: config.p2pMaxPending,
      maxPendingPerAddress: config.p2pMaxPendingPerAddress,
      maxConnectionsPerAddress: config.p2pMaxConnectionsPerAddress,
      connectionsPerSecondPerAddress: config.p2pConnectionRate,
      upgradeTimeoutMs: config.p2pUpgradeTimeoutMs,
      socketIdleTimeoutMs: config.p2pIdleTimeoutMs
    }
    const addressGate = new InboundAddressGate(inbound)
    const reservationGate = new RelayReservationGate({ maxReservationsPerAddress: config.relayMaxReservationsPerAddress })
    if (config.relay) {
      services.relay = circuitRelayServer({
        reservations: {
          maxReservations: config.relayMaxReservations,
          reservationTtl: config.relayReservationTtlSeconds * 1000,
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
      transports: [limitedTcp(), limitedWebSockets(inbound, tls, addressGate.stats)],
      listen: [`/${ip}/${config.host}/tcp/${config.tcpPort}`, `/${ip}/${config.host}/tcp/${config.wsPort}${wsListenSuffix(tls)}`],
      ...(config.announce.length > 0 ? { announce: config.announce } : {}),
      privateKey,
      datastore: new LmdbDatastore(db),
      connectionGater: { ...addressGate.gater, ...reservationGate.gater },
      connectionManager: {
        maxConnections: config.maxConnections,
        maxIncomingPendingConnections: inbound.maxPendingConnections,
        inboundConnectionThreshold: inbound.connectionsPerSecondPerAddress,
        inboundUpgradeTimeout: inbound.upgradeTimeoutMs
      },
      services,
      metrics: prometheusMetrics({ registry, collectDefaultMetrics: false }),
      feed: {
        enabled: config.feed,
        server: {
          maxSubscribers: config.feedMaxSubscribers,
          maxSubscribersPerIp: config.feedMaxSubscribersPerIp,
          maxQueueBytes: config.feedQueueBytes,
          windowBytes: config.feedWindowBytes,
          flushIntervalMs: config.feedFlushMs
        }
      },
      liveness: { via: upkeep.pingVia },
      net: { peers: { minPeers: config.minPeers, idleMaintenanceIntervalMs: upkeep.peerIdleMaintenanceMs } }
    })
    cleanups.push(async () => { await node.stop() })
    const relay = node.libp2p.services.relay as CircuitRelayService | undefined
    if (relay !== undefined) reservationGate.attach(node.libp2p, relay)
    registerNodeMetrics(registry, node, relay === undefined ? undefined : { reservations: () => relay.reservations.size })
    registerInboundMetrics(registry, addressGate.stats)
    registerStoreMetrics(registry, { health: () => db.writes.health(), unreadableRecords: () => unreadable.records, restoreDropped: node.restored.dropped })
    if (node.restored.dropped > 0) {
      log.warn({ ...node.restored, unreadable: unreadable.records }, `reload dropped ${node.restored.dropped} stored records (unreadable, invalid, or no longer admitted)`)
    }

    const rpcLimits = {
      maxBodyBytes: config.rpcMaxBodyBytes,
      rateLimitPerSecond: config.rpcRateLimit,
      maxBatchLength: config.rpcMaxBatch,
      maxReplyBytes: config.rpcMaxReplyBytes,
      maxConnectionsPerIp: config.rpcMaxConnectionsPerIp,
      maxWsConnectionsPerIp: config.rpcMaxWsConnectionsPerIp,
      httpIdleTimeoutMs: config.rpcIdleTimeoutMs,
      writeTimeoutMs: config.rpcWriteTimeoutMs
    }
    const rpc = createRpcServer({
      node,
      logger: log,
      // admin methods are never on the public server: see ./admin-rpc.ts
      admin: false,
      access: { vhosts: rpcVhosts(config), origins: config.rpcOrigins },
      limits: rpcLimits,
      onCall: rpcCallMetrics(registry),
      ...(tls === undefined ? {} : { tls: tls.current() }),
      routes: httpRoutes({ node, registry, rateLimitPerSecond: config.httpRoutesRateLimit, storeHealth: () => db.writes.health(), webDir: config.webDir === '' ? DEFAULT_WEB_DIR : resolve(config.webDir), libDir: DEFAULT_LIB_DIR, startedAt })
    })
    const { port } = await rpc.listen(config.httpPort, config.host)
    cleanups.push(async () => { await rpc.close() })
    if (tls !== undefined) {
      tls.subscribe((pair) => { rpc.setSecureContext(pair) })
      registerTlsMetrics(registry, { expirySeconds: () => tls.expirySeconds(), reloads: tls.reloads })
    }

    const admin = config.rpcAdmin ? await startAdminRpc({ node, dataDir, port: config.rpcAdminPort, logger: log, limits: rpcLimits }) : undefined
    if (admin !== undefined) cleanups.push(async () => { await admin.server.close() })

    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
    const httpUrl = `${tls === undefined ? 'http' : 'https'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`
    const multiaddrs = node.libp2p.getMultiaddrs().map(String)
    const browserAddrs = multiaddrs.filter(a => a.includes('/ws/'))
    log.info({
      peerId: node.peerId.toString(),
      multiaddrs,
      browserAddrs,
      rpc: `${httpUrl}/rpc`,
      observer: `${httpUrl}/`,
      restoredTxs: node.pool.size,
      ...(admin === undefined ? {} : { adminRpc: admin.url, adminTokenFile: admin.tokenFile })
    }, `lightpool node ready — observer page ${httpUrl}/ · JSON-RPC ${httpUrl}/rpc`)

    return { node, httpUrl, browserAddrs, stop: cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
