import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Lightpool } from '../src/lightpool.ts'
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
