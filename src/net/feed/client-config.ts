/** Settings of the feed's subscribing side (client.ts). */
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
  distrustMs: 10 * 60_000
})

/**
 * Bytes consumed between two ACKs on a stream whose server window is
 * `windowBytes`: a quarter of it (so the server never waits on an ACK in
 * flight), at most `ackEveryBytes`.
 */
export function ackInterval (windowBytes: number, ackEveryBytes: number): number {
  return Math.max(1, Math.min(ackEveryBytes, Math.floor(windowBytes / 4)))
}
