import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_FEED_SERVER_CONFIG as FEED, DEFAULT_PEER_KEEPER_CONFIG as PEERS, DEFAULT_POOL_CONFIG as POOL, DEFAULT_TX_LIMITS as TX } from '../src/index.ts'
import { DEFAULT_INBOUND_LIMITS_CONFIG as P2P } from './p2p-limits.ts'
import { DEFAULT_RELAY_LIMITS_CONFIG as RELAY } from './relay-limits.ts'
import { DEFAULT_RPC_LIMITS as RPC } from './rpc/limits.ts'
import { loadTlsMaterial, plainWsAnnounced } from './tls.ts'

/**
 * Every setting of `lightpool node`, with its flag, environment variable,
 * default and meaning, in one table: the CLI, the config file and the
 * settings table of docs/operators.md (`npm run docs:settings`, checked by
 * test/unit/docs.test.ts) are all derived from it. A default that a library
 * part also has is taken from that part's frozen DEFAULT_* object (the pool's,
 * the envelope's, the feed server's, the peer keeper's, the RPC server's, the
 * inbound and relay limits'), so the node and the library cannot drift apart.
 *
 * Precedence: command-line flag > environment variable > config file > default.
 */
export type OptionKind = 'string' | 'int' | 'bigint' | 'bool' | 'list' | 'choice'

export interface OptionSpec {
  key: keyof NodeConfig
  flag: string
  kind: OptionKind
  default: unknown
  help: string
  /**
   * What the flag's value is, as the settings table in docs/operators.md
   * shows it (`--data-dir <dir>`). Default: `ms` or `s` for a key ending in
   * Ms or Seconds, `n` for other numbers, `value` otherwise.
   */
  arg?: string
  choices?: readonly string[]
  min?: number
  max?: number
}

export interface NodeConfig {
  dataDir: string
  network: string
  mode: 'full' | 'light'
  host: string
  tcpPort: number
  wsPort: number
  httpPort: number
  tlsCert: string
  tlsKey: string
  announce: string[]
  bootstrap: string[]
  minPeers: number
  maxConnections: number
  p2pMaxPending: number
  p2pMaxPendingPerAddress: number
  p2pMaxConnectionsPerAddress: number
  p2pConnectionRate: number
  p2pUpgradeTimeoutMs: number
  p2pIdleTimeoutMs: number
  maxTxs: number
  maxPoolBytes: number
  storeMinFreeMb: number
  minFee: bigint
  replacementBumpPercent: number
  maxPayloadBytes: number
  maxNullifiers: number
  relay: boolean
  relayMaxReservations: number
  relayMaxReservationsPerAddress: number
  relayReservationTtlSeconds: number
  relayDataLimitBytes: number
  relayDurationLimitSeconds: number
  relayUnlimited: boolean
  feed: boolean
  feedMaxSubscribers: number
  feedMaxSubscribersPerIp: number
  feedQueueBytes: number
  feedWindowBytes: number
  feedFlushMs: number
  rpcAdmin: boolean
  rpcAdminPort: number
  rpcVhosts: string[]
  rpcOrigins: string[]
  rpcMaxBodyBytes: number
  rpcRateLimit: number
  rpcMaxBatch: number
  rpcMaxReplyBytes: number
  rpcMaxConnectionsPerIp: number
  rpcMaxWsConnectionsPerIp: number
  rpcIdleTimeoutMs: number
  rpcWriteTimeoutMs: number
  httpRoutesRateLimit: number
  webDir: string
  logLevel: string
}

const MiB = 1024 * 1024

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'dataDir', flag: 'data-dir', arg: 'dir', kind: 'string', default: './.lightpool', help: 'where the pool, peer store and node key live' },
  { key: 'network', flag: 'network', arg: 'name', kind: 'string', default: 'devnet', help: 'network name; part of every topic and protocol id' },
  { key: 'mode', flag: 'mode', arg: 'full|light', kind: 'choice', choices: ['full', 'light'], default: 'full', help: 'full fetches every admissible body; light keeps announcements and fetches bodies on demand' },
  { key: 'host', flag: 'host', arg: 'addr', kind: 'string', default: '0.0.0.0', help: 'address every listener binds to' },
  { key: 'tcpPort', flag: 'tcp-port', kind: 'int', min: 0, max: 65535, default: 9000, help: 'libp2p TCP port (full nodes peer here); 0 picks a free one' },
  { key: 'wsPort', flag: 'ws-port', kind: 'int', min: 0, max: 65535, default: 9001, help: 'libp2p WebSocket port (browsers dial here); 0 picks a free one' },
  { key: 'httpPort', flag: 'http-port', kind: 'int', min: 0, max: 65535, default: 8080, help: 'JSON-RPC, /metrics, /health and the observer page; 0 picks a free one' },
  { key: 'tlsCert', flag: 'tls-cert', arg: 'file', kind: 'string', default: '', help: 'PEM certificate (chain), e.g. certbot\'s fullchain.pem: with --tls-key, the WebSocket port serves wss (/tls/ws) and the HTTP port https; re-read when the file changes or on SIGHUP, without dropping connections' },
  { key: 'tlsKey', flag: 'tls-key', arg: 'file', kind: 'string', default: '', help: 'PEM private key of --tls-cert (certbot: privkey.pem), unencrypted; readable by the node\'s user only' },
  { key: 'announce', flag: 'announce', arg: 'addr…', kind: 'list', default: [], help: 'multiaddrs to advertise instead of the listen ones (public IP or DNS name)' },
  { key: 'bootstrap', flag: 'bootstrap', arg: 'addr…', kind: 'list', default: [], help: 'bootnode multiaddrs, each ending in /p2p/<peer id>' },
  { key: 'minPeers', flag: 'min-peers', kind: 'int', min: 0, max: 1000, default: PEERS.minPeers, help: 'dial stored peers, bootnodes and exchanged peers while below this many' },
  { key: 'maxConnections', flag: 'max-connections', kind: 'int', min: 1, max: 100_000, default: 1200, help: 'most open connections (libp2p prunes beyond); each feed subscriber (a browser tab) holds one, so at least --feed-max-subscribers' },
  { key: 'p2pMaxPending', flag: 'p2p-max-pending', kind: 'int', min: 1, max: 100_000, default: P2P.maxPendingConnections, help: 'inbound p2p connections mid-handshake at once, every address and transport together (libp2p default: 10)' },
  { key: 'p2pMaxPendingPerAddress', flag: 'p2p-max-pending-per-address', kind: 'int', min: 1, max: 100_000, default: P2P.maxPendingPerAddress, help: 'inbound p2p connections mid-handshake from one IPv4 address or IPv6 /64' },
  { key: 'p2pMaxConnectionsPerAddress', flag: 'p2p-max-connections-per-address', kind: 'int', min: 1, max: 100_000, default: P2P.maxConnectionsPerAddress, help: 'inbound p2p connections (and WebSocket sockets) one IPv4 address or IPv6 /64 may hold open' },
  { key: 'p2pConnectionRate', flag: 'p2p-connection-rate', kind: 'int', min: 1, max: 100_000, default: P2P.connectionsPerSecondPerAddress, help: 'new inbound p2p connections per second from one address (libp2p default: 5)' },
  { key: 'p2pUpgradeTimeoutMs', flag: 'p2p-upgrade-timeout', kind: 'int', min: 100, max: 600_000, default: P2P.upgradeTimeoutMs, help: 'ms an inbound p2p connection has to finish its handshake (WebSocket: HTTP upgrade included)' },
  { key: 'p2pIdleTimeoutMs', flag: 'p2p-idle-timeout', kind: 'int', min: 100, max: 3_600_000, default: P2P.socketIdleTimeoutMs, help: 'ms a socket on the WebSocket port may stay silent before its HTTP upgrade is done (libp2p: no limit)' },
  { key: 'maxTxs', flag: 'max-txs', kind: 'int', min: 1, max: 10_000_000, default: POOL.maxCount, help: 'pool cap: pending txs' },
  { key: 'maxPoolBytes', flag: 'max-pool-bytes', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, default: POOL.maxBytes, help: 'pool cap: bytes of pending txs' },
  { key: 'storeMinFreeMb', flag: 'store-min-free-mb', kind: 'int', min: 0, max: 1_000_000, default: 64, help: 'new txs are refused (-32008) while the data directory\'s disk has less free space than this, in MiB, before the disk is full (lmdb-js can corrupt its memory on a full disk); 0: off' },
  { key: 'minFee', flag: 'min-fee', kind: 'bigint', default: POOL.minFee, help: 'lowest fee admitted' },
  { key: 'replacementBumpPercent', flag: 'replacement-bump', kind: 'int', min: 0, max: 10_000, default: POOL.replacementBumpPercent, help: 'percent a tx must outbid the pending txs sharing a nullifier to replace them' },
  { key: 'maxPayloadBytes', flag: 'max-payload-bytes', kind: 'int', min: 1, max: 64 * MiB, default: TX.maxPayloadBytes, help: 'largest tx payload (public data + proof) accepted' },
  { key: 'maxNullifiers', flag: 'max-nullifiers', kind: 'int', min: 0, max: 255, default: TX.maxNullifiers, help: 'most nullifiers per tx' },
  { key: 'relay', flag: 'relay', kind: 'bool', default: true, help: 'serve as a circuit relay v2 for browser peers (--no-relay to turn off)' },
  { key: 'relayMaxReservations', flag: 'relay-max-reservations', kind: 'int', min: 0, max: 1_000_000, default: 512, help: 'browsers that may hold a relay reservation at once (libp2p default: 15)' },
  { key: 'relayMaxReservationsPerAddress', flag: 'relay-max-reservations-per-address', kind: 'int', min: 1, max: 1_000_000, default: RELAY.maxReservationsPerAddress, help: 'relay reservations one IPv4 address or IPv6 /64 may hold' },
  { key: 'relayReservationTtlSeconds', flag: 'relay-reservation-ttl', kind: 'int', min: 60, max: 86_400, default: RELAY.reservationTtlMs / 1000, help: 'seconds a relay reservation lasts unless refreshed; it is freed at once when its holder disconnects (libp2p default: 7200)' },
  { key: 'relayDataLimitBytes', flag: 'relay-data-limit', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, default: 16 * MiB, help: 'bytes one relayed connection may carry, both ways, before the relay closes it (libp2p default: 128 KiB)' },
  { key: 'relayDurationLimitSeconds', flag: 'relay-duration-limit', kind: 'int', min: 1, max: 86_400, default: 30 * 60, help: 'seconds one relayed connection may last (libp2p default: 120)' },
  { key: 'relayUnlimited', flag: 'relay-unlimited', kind: 'bool', default: false, help: 'relayed connections have no data or duration limit (only for a relay meant to carry browser traffic)' },
  { key: 'feed', flag: 'feed', kind: 'bool', default: true, help: 'serve the light feed and lightpush to light nodes (full mode) or follow relays by it (light mode) (--no-feed: gossipsub only)' },
  { key: 'feedMaxSubscribers', flag: 'feed-max-subscribers', kind: 'int', min: 0, max: 1_000_000, default: FEED.maxSubscribers, help: `light nodes subscribed to the feed at once (more are refused); the relay's feed memory is at most the ${FEED.resumeJournalBytes / MiB} MiB resume journal + this × (--feed-queue-bytes + --feed-window-bytes)` },
  { key: 'feedMaxSubscribersPerIp', flag: 'feed-max-subscribers-per-ip', kind: 'int', min: 0, max: 1_000_000, default: FEED.maxSubscribersPerIp, help: 'feed subscriptions from one IP address (tabs behind one NAT share one); at most --p2p-max-connections-per-address, as each holds a connection' },
  { key: 'feedQueueBytes', flag: 'feed-queue-bytes', kind: 'int', min: 1024, max: 64 * MiB, default: FEED.maxQueueBytes, help: 'bytes queued for one subscriber that is behind; past it the queue is dropped and the subscriber resynced' },
  { key: 'feedWindowBytes', flag: 'feed-window-bytes', kind: 'int', min: 1024, max: 64 * MiB, default: FEED.windowBytes, help: 'bytes sent to one subscriber and not yet acknowledged, at most' },
  { key: 'feedFlushMs', flag: 'feed-flush-ms', kind: 'int', min: 1, max: 10_000, default: FEED.flushIntervalMs, help: 'how long live feed items are coalesced into one frame (100 tx/s → 20 frames/s per subscriber)' },
  { key: 'rpcAdmin', flag: 'rpc-admin', kind: 'bool', default: false, help: 'serve admin RPC methods (pool_markMined, pool_removeTx) on a second server, on 127.0.0.1 only, requiring the bearer token in <data-dir>/rpc-admin.token' },
  { key: 'rpcAdminPort', flag: 'rpc-admin-port', kind: 'int', min: 0, max: 65535, default: 8081, help: 'port of the admin RPC (127.0.0.1 only, with --rpc-admin); 0 picks a free one' },
  { key: 'rpcVhosts', flag: 'rpc-vhosts', arg: 'name…', kind: 'list', default: [], help: 'host names the RPC answers to (its Host header), against DNS rebinding; always localhost, 127.0.0.1, ::1, --host (unless a wildcard) and the --announce\'d names; * for any' },
  { key: 'rpcOrigins', flag: 'rpc-origins', arg: 'origin…', kind: 'list', default: [], help: 'browser origins besides the node\'s own page that may call the RPC (WebSocket or POST), e.g. https://dash.example; * for any' },
  { key: 'rpcMaxBodyBytes', flag: 'rpc-max-body', kind: 'int', min: 1024, max: 64 * MiB, default: RPC.maxBodyBytes, help: 'largest JSON-RPC request body' },
  { key: 'rpcRateLimit', flag: 'rpc-rate-limit', kind: 'int', min: 1, max: 1_000_000, default: RPC.rateLimitPerSecond, help: 'JSON-RPC requests per second per client address' },
  { key: 'rpcMaxBatch', flag: 'rpc-max-batch', kind: 'int', min: 1, max: 10_000, default: RPC.maxBatchLength, help: 'most calls in one JSON-RPC batch' },
  { key: 'rpcMaxReplyBytes', flag: 'rpc-max-reply', kind: 'int', min: 1024, max: 256 * MiB, default: RPC.maxReplyBytes, help: 'largest JSON-RPC reply in bytes; the entries of a batch past it get error -32006' },
  { key: 'rpcMaxConnectionsPerIp', flag: 'rpc-max-connections-per-ip', kind: 'int', min: 1, max: 100_000, default: RPC.maxConnectionsPerIp, help: 'open HTTP connections (WebSockets included) from one address; more are closed at once' },
  { key: 'rpcMaxWsConnectionsPerIp', flag: 'rpc-max-ws-per-ip', kind: 'int', min: 1, max: 100_000, default: RPC.maxWsConnectionsPerIp, help: 'open RPC WebSockets from one address; more upgrades get HTTP 429' },
  { key: 'rpcIdleTimeoutMs', flag: 'rpc-idle-timeout', kind: 'int', min: 100, max: 3_600_000, default: RPC.httpIdleTimeoutMs, help: 'ms an HTTP connection may stay idle (never used, or keep-alive between requests) before it is closed' },
  { key: 'rpcWriteTimeoutMs', flag: 'rpc-write-timeout', kind: 'int', min: 100, max: 3_600_000, default: RPC.writeTimeoutMs, help: 'ms a client has to take an HTTP reply before it is disconnected' },
  { key: 'httpRoutesRateLimit', flag: 'http-routes-rate-limit', kind: 'int', min: 1, max: 1_000_000, default: 10, help: 'requests per second per address to /health and /metrics (more get HTTP 429)' },
  { key: 'webDir', flag: 'web-dir', arg: 'dir', kind: 'string', default: '', help: 'directory of the built observer page (default: the package\'s dist/web)' },
  { key: 'logLevel', flag: 'log-level', arg: 'level', kind: 'choice', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', help: 'log verbosity' }
]

export function envName (spec: OptionSpec): string {
  return 'LIGHTPOOL_' + spec.flag.toUpperCase().replace(/-/g, '_')
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Converts one raw value (a flag's or variable's string, or a config file's JSON value) to the option's type. */
export function coerce (spec: OptionSpec, raw: unknown, from: string): unknown {
  const fail = (why: string): never => { throw new ConfigError(`${from}: ${why}`) }
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') fail('expected a string')
      return raw
    case 'choice':
      if (typeof raw !== 'string' || !(spec.choices ?? []).includes(raw)) fail(`expected one of ${spec.choices?.join(', ')}, got ${JSON.stringify(raw)}`)
      return raw
    case 'bool':
      if (typeof raw === 'boolean') return raw
      if (raw === 'true' || raw === '1') return true
      if (raw === 'false' || raw === '0') return false
      return fail(`expected true or false, got ${JSON.stringify(raw)}`)
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n)) fail(`expected an integer, got ${JSON.stringify(raw)}`)
      if (spec.min !== undefined && n < spec.min) fail(`must be at least ${spec.min}, got ${n}`)
      if (spec.max !== undefined && n > spec.max) fail(`must be at most ${spec.max}, got ${n}`)
      return n
    }
    case 'bigint': {
      const s = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw
      if (typeof s !== 'string' || !/^\d{1,20}$/.test(s.trim())) fail(`expected a non-negative integer, got ${JSON.stringify(raw)}`)
      return BigInt((s as string).trim())
    }
    case 'list': {
      if (typeof raw === 'string') return raw.split(/[\s,]+/).filter(s => s.length > 0)
      if (Array.isArray(raw) && raw.every(x => typeof x === 'string')) return raw
      return fail('expected a list of strings')
    }
  }
}

/** Reads a JSON config file whose keys are the option keys (camelCase) or flags (kebab-case). */
export function readConfigFile (path: string): Partial<Record<keyof NodeConfig, unknown>> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path}: expected a JSON object`)
  const out: Partial<Record<keyof NodeConfig, unknown>> = {}
  for (const [name, value] of Object.entries(parsed)) {
    const spec = OPTIONS.find(o => o.key === name || o.flag === name)
    if (spec === undefined) throw new ConfigError(`config file ${path}: unknown setting "${name}"`)
    out[spec.key] = coerce(spec, value, `config file ${path}, "${name}"`)
  }
  return out
}

/** Checks what single options cannot: addresses parse, bootnodes name their peer. */
export function validateConfig (config: NodeConfig): NodeConfig {
  for (const [what, list] of [['--bootstrap', config.bootstrap], ['--announce', config.announce]] as const) {
    for (const addr of list) {
      let ma
      try {
        ma = multiaddr(addr)
      } catch (err) {
        throw new ConfigError(`${what} ${addr}: not a multiaddr (${(err as Error).message})`)
      }
      if (what === '--bootstrap' && ma.getComponents().findLast(c => c.name === 'p2p') === undefined) {
        throw new ConfigError(`${what} ${addr}: must end in /p2p/<peer id> so the bootnode's identity is checked`)
      }
    }
  }
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(config.network)) throw new ConfigError(`--network ${config.network}: lowercase letters, digits and dashes, at most 32`)
  validateFeedCapacity(config)
  validateTls(config)
  return config
}

/**
 * Both TLS files or neither; with them, no plain /ws announced on the
 * WebSocket port (it speaks only wss then). The files themselves are read
 * and checked here too, so `--check` (the systemd unit's ExecStartPre)
 * catches a bad pair before the node starts: a TlsError, exit 2.
 */
function validateTls (config: NodeConfig): void {
  if ((config.tlsCert === '') !== (config.tlsKey === '')) {
    throw new ConfigError(config.tlsCert === '' ? '--tls-key needs --tls-cert: give both (certbot: fullchain.pem and privkey.pem) or neither' : '--tls-cert needs --tls-key: give both (certbot: fullchain.pem and privkey.pem) or neither')
  }
  if (config.tlsCert === '') return
  const plain = plainWsAnnounced(config.announce, config.wsPort)
  if (plain.length > 0) throw new ConfigError(`--announce ${plain[0]!}: with --tls-cert the WebSocket port serves wss only; announce it as …/tls/ws (or …/wss)`)
  loadTlsMaterial({ certFile: config.tlsCert, keyFile: config.tlsKey })
}

/**
 * A feed subscriber holds one p2p connection, so a feed cap above the
 * connection caps could never be reached: the node would prune or refuse the
 * connections first, and the operator would think the node serves more tabs
 * than it can (the old defaults: 1 024 subscribers on 300 connections).
 */
function validateFeedCapacity (config: NodeConfig): void {
  if (!config.feed || config.mode !== 'full') return
  if (config.feedMaxSubscribers > config.maxConnections) {
    throw new ConfigError(`--feed-max-subscribers ${config.feedMaxSubscribers} exceeds --max-connections ${config.maxConnections}: each subscriber holds a connection; raise --max-connections (full-node peers need some too) or lower the feed cap`)
  }
  if (config.feedMaxSubscribersPerIp > config.p2pMaxConnectionsPerAddress) {
    throw new ConfigError(`--feed-max-subscribers-per-ip ${config.feedMaxSubscribersPerIp} exceeds --p2p-max-connections-per-address ${config.p2pMaxConnectionsPerAddress}: each subscriber holds a connection; raise both or lower the feed cap`)
  }
}

export function defaults (): NodeConfig {
  return Object.fromEntries(OPTIONS.map(o => [o.key, o.default])) as unknown as NodeConfig
}
