import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Lightpool } from '../src/index.ts'
import type { StoreHealth } from './store/write-guard.ts'
import type { InboundGateStats } from './p2p-limits.ts'
import type { RpcCallTiming } from './rpc/index.ts'

/**
 * Prometheus metrics of a node, on one registry shared with libp2p's own
 * (@libp2p/prometheus-metrics, passed the same registry). Gauges are read
 * from the node when scraped; counters follow its events.
 */
export function createRegistry (): Registry {
  const registry = new Registry()
  // prom-client's process_* and nodejs_* under their standard names, which stock Node.js dashboards query
  collectDefaultMetrics({ register: registry })
  return registry
}

/**
 * Histogram buckets, in seconds. Network waits (a fetch round trip, an
 * announcement until its body is held) span loopback milliseconds to a
 * fetch timeout's seconds; RPC calls are mostly sub-millisecond reads, with
 * pool_sendTx's signature check and durable write in the milliseconds.
 */
export const NETWORK_BUCKETS_SECONDS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
export const RPC_BUCKETS_SECONDS = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5])

/** The RPC latency histogram; pass the function it returns to createRpcServer's `onCall`. */
export function rpcCallMetrics (registry: Registry): (call: RpcCallTiming) => void {
  const duration = new Histogram({
    name: 'lightpool_rpc_request_duration_seconds',
    help: 'JSON-RPC call duration by method and outcome (ok, error: refused for the client, internal: the method failed)',
    labelNames: ['method', 'outcome'],
    buckets: [...RPC_BUCKETS_SECONDS],
    registers: [registry]
  })
  return (call) => { duration.observe({ method: call.method, outcome: call.outcome }, call.ms / 1000) }
}

export interface RelayInfo {
  reservations: () => number
}

export interface StoreInfo {
  health: () => StoreHealth
  /** Records the reload could not read (corrupt or in a damaged stretch), counted at start. */
  unreadableRecords: () => number
  /** Stored records the last reload dropped, for any reason. */
  restoreDropped: number
}

/** The on-disk store's metrics: whether writes fail, and what the reload could not read. */
/**
 * Inbound p2p connections the per-address limits turned away (p2p-limits.ts),
 * by reason: `handshakes` (the address had --p2p-max-pending-per-address
 * handshakes in progress), `connections` (it held
 * --p2p-max-connections-per-address), `sockets` (the same cap on WebSocket
 * sockets, before their HTTP upgrade). A steady rise with honest users means
 * many of them share one address (a NAT, a campus): raise the caps.
 */
export function registerInboundMetrics (registry: Registry, stats: Readonly<InboundGateStats>): void {
  const seen = { handshakes: 0, connections: 0, sockets: 0 }
  const now = (): typeof seen => ({ handshakes: stats.refusedPending, connections: stats.refusedConnections, sockets: stats.refusedSockets })
  const refused = new Counter({
    name: 'lightpool_p2p_inbound_refused_total',
    help: 'inbound p2p connections refused by the per-address limits, by reason (handshakes, connections, sockets)',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      const v = now()
      for (const reason of ['handshakes', 'connections', 'sockets'] as const) {
        if (v[reason] > seen[reason]) this.inc({ reason }, v[reason] - seen[reason])
        seen[reason] = v[reason]
      }
    }
  })
  // every reason from the start, at 0: a dashboard's rate() needs the series before the first refusal
  for (const reason of ['handshakes', 'connections', 'sockets'] as const) refused.inc({ reason }, 0)
}

export function registerStoreMetrics (registry: Registry, store: StoreInfo): void {
  const registers = [registry]
  new Gauge({ name: 'lightpool_store_failing', help: '1 while store writes fail (txs are refused), else 0', registers, collect () { this.set(store.health().status === 'failing' ? 1 : 0) } }) // eslint-disable-line no-new
  let failed = 0
  new Counter({ name: 'lightpool_store_write_failures_total', help: 'store commits that failed (full disk, I/O error, damaged file)', registers, collect () { const v = store.health().failedWrites; if (v > failed) this.inc(v - failed); failed = v } }) // eslint-disable-line no-new
  let unreadable = 0
  new Counter({ name: 'lightpool_store_unreadable_records_total', help: 'stored records skipped because they could not be read or decoded', registers, collect () { const v = store.unreadableRecords(); if (v > unreadable) this.inc(v - unreadable); unreadable = v } }) // eslint-disable-line no-new
  new Gauge({ name: 'lightpool_restore_dropped_records', help: 'stored records the reload at start dropped (unreadable, invalid, or no longer admitted)', registers, collect () { this.set(store.restoreDropped) } }) // eslint-disable-line no-new
}

/** Registers lightpool's metrics for `node` on `registry`. */
export function registerNodeMetrics (registry: Registry, node: Lightpool, relay?: RelayInfo): void {
  const registers = [registry]
  const gauge = (name: string, help: string, read: () => number): void => {
    // prom-client calls collect() on scrape; `this` is the gauge
    new Gauge({ name, help, registers, collect () { this.set(read()) } }) // eslint-disable-line no-new
  }
  gauge('lightpool_pool_txs', 'pending txs in the pool', () => node.pool.size)
  gauge('lightpool_pool_bytes', 'bytes of pending txs', () => node.pool.bytes)
  gauge('lightpool_pool_bodies', 'pending txs whose body this node holds', () => node.pool.stats().withBody)
  gauge('lightpool_pool_max_txs', 'pool cap: txs', () => node.pool.config.maxCount)
  gauge('lightpool_pool_max_bytes', 'pool cap: bytes', () => node.pool.config.maxBytes)
  gauge('lightpool_pool_fee_floor', 'fee a new tx needs now', () => Number(node.pool.feeFloor()))
  gauge('lightpool_peers', 'connected peers', () => node.net.stats().peers)
  gauge('lightpool_banned_peers', 'peers currently banned', () => node.reputation.banned().length)
  gauge('lightpool_fetch_pending', 'bodies being fetched', () => node.net.stats().fetcher.tracked)
  if (relay !== undefined) gauge('lightpool_relay_reservations', 'browser peers holding a relay reservation', relay.reservations)

  // counters mirrored from the node's own running totals
  const mirrored = (name: string, help: string, read: () => number): void => {
    let last = 0
    new Counter({ name, help, registers, collect () { const v = read(); if (v > last) this.inc(v - last); last = v } }) // eslint-disable-line no-new
  }
  mirrored('lightpool_announcements_received_total', 'tx announcements received over gossip', () => node.net.stats().announcementsReceived)
  mirrored('lightpool_announcements_duplicate_total', 'announcements of txs already held (gossip redundancy)', () => node.net.stats().announcementsDuplicate)
  mirrored('lightpool_announcements_published_total', 'tx announcements this node originated', () => node.net.stats().announcementsPublished)
  mirrored('lightpool_fetch_requests_total', 'body fetch requests sent', () => node.net.stats().fetcher.requests)
  mirrored('lightpool_fetch_bodies_total', 'bodies fetched and handed to validation', () => node.net.stats().fetcher.bodies)
  mirrored('lightpool_fetch_retries_total', 'fetched bodies that were not what was asked (tried elsewhere)', () => node.net.stats().fetcher.retries)
  mirrored('lightpool_fetch_given_up_total', 'hashes no source could serve', () => node.net.stats().fetcher.givenUp)
  mirrored('lightpool_syncs_total', 'pool syncs completed with peers', () => node.net.stats().syncs)
  mirrored('lightpool_verifications_total', 'signature/proof verifications run (cache misses)', () => node.validator.stats.verified)

  const feed = node.libp2p.services.feedServer
  if (feed !== undefined) {
    gauge('lightpool_feed_subscribers', 'light nodes subscribed to this node\'s feed', () => feed.stats().subscribers)
    gauge('lightpool_feed_queued_bytes', 'feed bytes waiting for subscribers that are behind (bounded by subscribers × queue cap)', () => feed.stats().queuedBytes)
    mirrored('lightpool_feed_frames_sent_total', 'feed frames sent to subscribers', () => feed.stats().framesSent)
    mirrored('lightpool_feed_bytes_sent_total', 'feed bytes sent to subscribers', () => feed.stats().bytesSent)
    mirrored('lightpool_feed_items_total', 'announcements and removals fed (once each, whatever the subscriber count)', () => feed.stats().itemsFed)
    mirrored('lightpool_feed_resyncs_total', 'subscribers that fell behind their queue cap and were resynced', () => feed.stats().resyncs)
    mirrored('lightpool_feed_resumes_total', 'subscribers back from a disconnect sent what they missed from the journal, not a snapshot', () => feed.stats().resumes)
    mirrored('lightpool_feed_drops_total', 'subscribers dropped (stalled or broke the protocol)', () => feed.stats().drops)
    mirrored('lightpool_feed_refused_total', 'subscriptions refused by the subscriber caps', () => feed.stats().refused)
    mirrored('lightpool_feed_rejoined_total', 'subscriptions from light nodes whose earlier one had ended: subscribers that left and came back', () => feed.stats().rejoined)
  }
  const push = node.libp2p.services.push
  if (push !== undefined) {
    mirrored('lightpool_push_total', 'txs pushed by light nodes (lightpush)', () => push.stats().pushes)
    mirrored('lightpool_push_added_total', 'pushed txs admitted', () => push.stats().added)
  }

  const admissions = new Counter({ name: 'lightpool_admissions_total', help: 'tx validation outcomes by source, status and rule', labelNames: ['source', 'status', 'rule'], registers })
  node.net.events.on('tx:admission', (e) => { admissions.inc({ source: e.source, status: e.status, rule: e.rule ?? '' }) })
  const removals = new Counter({ name: 'lightpool_pool_removals_total', help: 'txs leaving the pool, by reason', labelNames: ['reason'], registers })
  node.pool.events.on('removed', (e) => { removals.inc({ reason: e.reason }) })
  const penalties = new Counter({ name: 'lightpool_peer_penalties_total', help: 'penalties given to peers, by offense', labelNames: ['offense'], registers })
  node.reputation.events.on('penalized', (e) => { penalties.inc({ offense: e.offense }) })
  const bans = new Counter({ name: 'lightpool_peer_bans_total', help: 'peers banned', registers })
  node.reputation.events.on('banned', () => { bans.inc() })

  const fetches = new Histogram({ name: 'lightpool_fetch_duration_seconds', help: 'body fetch request round trips, by what was fetched (tx, proof) and outcome (ok, failed)', labelNames: ['kind', 'outcome'], buckets: [...NETWORK_BUCKETS_SECONDS], registers })
  node.net.events.on('fetch:done', (e) => { fetches.observe({ kind: e.kind, outcome: e.ok ? 'ok' : 'failed' }, e.ms / 1000) })
  const bodyWait = new Histogram({ name: 'lightpool_tx_body_wait_seconds', help: 'from first hearing of a tx (gossip: its announcement; sync: a pool listing; demand: a request for it) to holding its validated body', labelNames: ['via'], buckets: [...NETWORK_BUCKETS_SECONDS], registers })
  node.net.events.on('tx:received', (e) => { if (e.waitedMs !== undefined) bodyWait.observe({ via: e.via }, e.waitedMs / 1000) })
}

export interface TlsInfo {
  /** Seconds until the served certificate's notAfter. */
  expirySeconds: () => number
  reloads: { ok: number, failed: number }
}

/** With --tls-cert: how long the served certificate has left, and its reloads (renewals picked up, or failed). */
export function registerTlsMetrics (registry: Registry, tls: TlsInfo): void {
  const registers = [registry]
  new Gauge({ name: 'lightpool_tls_cert_expiry_seconds', help: 'seconds until the served TLS certificate expires (alert well before 0: a renewal that is not picked up shows here)', registers, collect () { this.set(tls.expirySeconds()) } }) // eslint-disable-line no-new
  const seen = { ok: 0, failed: 0 }
  new Counter({ // eslint-disable-line no-new
    name: 'lightpool_tls_reloads_total',
    help: 'TLS certificate reloads (file change or SIGHUP) by outcome: ok (a new certificate is served), failed (the current one is kept)',
    labelNames: ['outcome'],
    registers,
    collect () {
      for (const outcome of ['ok', 'failed'] as const) {
        const v = tls.reloads[outcome]
        if (v > seen[outcome]) this.inc({ outcome }, v - seen[outcome])
        seen[outcome] = v
      }
    }
  })
}
