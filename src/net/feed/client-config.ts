import type { Libp2pEvents, Logger, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TxPool } from '../../pool/pool.ts'
import type { TxLimits } from '../../tx/limits.ts'
import type { TxMeta } from '../../tx/types.ts'
import type { FeedCheckConfig } from './checker.ts'

/** Settings, init, components and events of the feed's subscribing side (client.ts). */
export interface FeedClientConfig {
  /** Relays subscribed to at once. Default 2: one relay that hides a tx is caught by the other. */
  subscriptions: number
  /** Peer ids to subscribe to first (a tab's relays). Default: any connected feed server. */
  targets: string[]
  /** How often the client looks for relays to subscribe to. Default 1 s. */
  maintainIntervalMs: number
  /** First retry delay after a subscription failed or ended; doubles per failure up to `retryMaxMs`. Default 500 ms. */
  retryBaseMs: number
  /** Default 30 s. */
  retryMaxMs: number
  /**
   * A subscription that hears nothing (not even a keepalive) this long is
   * taken as dead and resubscribed. Default 60 s: three server keepalives.
   */
  silenceTimeoutMs: number
  /**
   * Largest frame accepted. Default 64 KiB, 4× the server's default
   * `maxFrameBytes` (a frame may exceed it by one item of up to ~2 KiB).
   */
  maxFrameBytes: number
  /** Bytes consumed between two ACKs at most; a quarter of the server's window if that is less. Default 16 KiB. */
  ackEveryBytes: number
  /** Hashes removed recently, not re-listed when a slower relay still announces them. Default 4096. */
  removedMemory: number
  /** How long a relay whose listing failed a check is not subscribed to. Default 10 min. */
  distrustMs: number
  /**
   * The watchdog: a relay that stays connected this long with its feed
   * neither live nor resyncing (every subscription failing, or none tried)
   * has its connections closed, so that they are dialled anew; a connection
   * whose muxer has closed under it looks open and can open no stream, and
   * nothing else ends it. Not while a subscription is being opened (its
   * own timeouts bound it), nor for a relay that refused (it is full) or is
   * distrusted. Default 5 s: a healthy connection resubscribes within one
   * retry (500 ms); on a machine with 20 tabs and a busy core, 3 s also
   * closed connections that were merely slow.
   */
  watchdogMs: number
  /** Entries of each relay's feed history (`stats().history`). Default 32. */
  historySize: number
}

export const DEFAULT_FEED_CLIENT_CONFIG: Readonly<FeedClientConfig> = Object.freeze({
  subscriptions: 2,
  targets: [],
  maintainIntervalMs: 1_000,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  silenceTimeoutMs: 60_000,
  maxFrameBytes: 64 * 1024,
  ackEveryBytes: 16 * 1024,
  removedMemory: 4096,
  distrustMs: 10 * 60_000,
  watchdogMs: 5_000,
  historySize: 32
})

/**
 * Bytes consumed between two ACKs on a stream whose server window is
 * `windowBytes`: a quarter of it (so the server never waits on an ACK in
 * flight), at most `ackEveryBytes`.
 */
export function ackInterval (windowBytes: number, ackEveryBytes: number): number {
  return Math.max(1, Math.min(ackEveryBytes, Math.floor(windowBytes / 4)))
}

export interface FeedClientInit {
  protocol: string
  /**
   * Trust, but check (checker.ts): the fetch protocol to get sampled bodies
   * from the relay that listed them, and how to tell a body backs a listing.
   * Without it, nothing is checked.
   */
  check?: {
    fetchProtocol: string
    maxTxBytes: number
    verify: (body: Uint8Array, meta: TxMeta) => Promise<string | undefined>
    config?: Partial<FeedCheckConfig>
    /** A relay's listing was unbacked: charge its reputation. */
    distrust: (peer: string, detail: string) => void
  }
  /** the lightpush protocol, used by `push` */
  pushProtocol?: string
  pool: TxPool
  limits: TxLimits
  config?: Partial<FeedClientConfig>
  runOnLimitedConnection?: boolean
  /** A relay fed a malformed frame. */
  penalize?: (peer: string, detail: string) => void
}

export interface FeedClientComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger?: { forComponent: (name: string) => Logger }
}

export interface FeedClientEvents {
  /** a tx was listed from a relay's feed */
  listed: { meta: TxMeta, from: string }
  subscribed: { peer: string }
  unsubscribed: { peer: string, reason: string }
  /** a relay's feed changed state (live, resyncing, subscribing, down) */
  state: { peer: string }
}
