import type { TxPool } from '../../pool/pool.ts'
import type { Registrar } from '@libp2p/interface-internal'

/** The feed server's limits, its init and components, and its stats (see server.ts for how they are used). */
export interface FeedServerConfig {
  /** Subscriptions served at once; more are refused. Default 1024. */
  maxSubscribers: number
  /**
   * Subscriptions from one IP address; it stops one host from taking every
   * slot. Tabs behind one NAT share an address, and each holds one
   * connection, so it is the same as the full node's inbound connections
   * per address (64): a higher cap could not be reached. Default 64.
   */
  maxSubscribersPerIp: number
  /**
   * How long live items are coalesced before a frame goes out. 50 ms: at
   * 100 tx/s that is ≤ 20 frames a second per subscriber instead of 100, and
   * adds 25 ms on average to the time a tab lists a tx (target: p99 ≤ 1 s).
   */
  flushIntervalMs: number
  /**
   * A frame is sent early once its items reach this many bytes. 16 KiB: one
   * WebRTC message and well under a yamux window; ~170 announcements.
   */
  maxFrameBytes: number
  /**
   * Bytes a subscriber may have received and not yet acknowledged. Past it,
   * items wait in its queue. 64 KiB: ~680 announcements, several seconds at
   * 100 tx/s, so a subscriber acking every quarter window never waits.
   */
  windowBytes: number
  /**
   * Bytes waiting in one subscriber's queue at most. Past it the queue is
   * dropped and the subscriber resynced. Default 64 KiB.
   */
  maxQueueBytes: number
  /**
   * An empty frame after this long without one, so an idle stream is not
   * closed by libp2p's inactivity timeout (120 s) and the subscriber can tell
   * a quiet pool from a dead server. Default 20 s.
   */
  keepaliveMs: number
  /** A subscriber whose window stays full this long is dropped. Default 60 s. */
  stallTimeoutMs: number
  /** Time a new stream has to send its SUBSCRIBE frame. Default 5 s. */
  subscribeTimeoutMs: number
  /**
   * Final removals (mined, conflict, expired, invalid) remembered to end every
   * snapshot with: a subscriber whose subscription was down when one was sent
   * learns the reason, not a bare "no longer listed". Default 256 (~8.7 kB of
   * removal items per snapshot at most).
   */
  finalRemovalMemory: number
  /** How long a final removal stays in that memory. Default 120 s (a reconnect's backoff is far shorter). */
  finalRemovalWindowMs: number
  /**
   * Bytes of the resume journal: the most recent live items, one copy shared
   * by every subscriber. A subscriber back within what it holds resumes from
   * its cursor and is sent only the items it missed, instead of a snapshot of
   * the whole pool (~86 B per pending tx: 860 KB per tab at 10 000 txs, 860 MB
   * for a thousand tabs back from one network blip). It costs this much memory
   * once, whatever the subscriber count; each item is its bytes plus 8 B.
   * Default 4 MiB: ~44 000 announcements, or ~5 min at 100 tx/s (an add and a
   * removal per tx). 0: no journal, every subscription starts with a snapshot
   * (but for one back with nothing missed).
   */
  resumeJournalBytes: number
}

export const DEFAULT_FEED_SERVER_CONFIG: Readonly<FeedServerConfig> = Object.freeze({
  maxSubscribers: 1024,
  maxSubscribersPerIp: 64,
  flushIntervalMs: 50,
  maxFrameBytes: 16 * 1024,
  windowBytes: 64 * 1024,
  maxQueueBytes: 64 * 1024,
  keepaliveMs: 20_000,
  stallTimeoutMs: 60_000,
  subscribeTimeoutMs: 5_000,
  finalRemovalMemory: 256,
  finalRemovalWindowMs: 120_000,
  resumeJournalBytes: 4 * 1024 * 1024
})

export interface FeedServerInit {
  protocol: string
  pool: TxPool
  config?: Partial<FeedServerConfig>
  /** Serve on relayed (limited) connections too. Default false. */
  runOnLimitedConnection?: boolean
  /** A subscriber broke the protocol (malformed frame). */
  penalize?: (peer: string, detail: string) => void
}

export interface FeedServerComponents {
  registrar: Registrar
}

export interface FeedServerStats {
  subscribers: number
  /** frames and bytes sent to subscribers (snapshot and live) */
  framesSent: number
  bytesSent: number
  itemsFed: number
  /** subscribers whose queue overflowed (or who fell behind the journal while resuming) and got a fresh snapshot */
  resyncs: number
  /** subscriptions resumed from their cursor, served from the journal instead of a snapshot */
  resumes: number
  /** subscribers dropped: stalled, or broke the protocol */
  drops: number
  /** subscriptions refused by the caps */
  refused: number
  /** subscriptions from a peer whose earlier one had ended (or was replaced): subscribers that left and came back */
  rejoined: number
  /** bytes waiting in all subscribers' queues now */
  queuedBytes: number
  /** bytes the resume journal holds now (at most `resumeJournalBytes`) */
  journalBytes: number
}
