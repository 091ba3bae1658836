import type { ComponentLogger, Connection, Libp2pEvents, Logger, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import { deadline } from '../util/deadline.ts'
import { muxerPing } from './muxer.ts'

/**
 * Checks that each connection is alive by pinging it once per interval, with
 * the pings spread evenly over the interval.
 *
 * It replaces libp2p's connection monitor, which pings every connection in
 * the same tick. Each ping costs a stream, a protocol negotiation and a
 * peer-store update, so the burst stalls the event loop in proportion to the
 * number of connections. Measured in the propagation bench: a 100–240 ms
 * stall every 10 s, which held the slowest txs back by as much (p99 time to
 * all nodes 157–196 ms with the burst, 82 ms without). A relay with hundreds
 * of peers would have the same burst.
 *
 * The semantics match the monitor's: `/ipfs/ping/1.0.0` on the connection
 * itself (limited/relayed ones too), `conn.rtt` updated, and a peer that does
 * not speak ping counted as alive (it answered the negotiation). With `via:
 * 'muxer'` the ping is a yamux PING frame instead, and every yamux peer
 * answers it.
 *
 * A connection is closed only when it misses `missesBeforeClose` pings in a
 * row, each wait longer than the one before, and each wait adapts to the
 * round trips this connection has shown (TCP's retransmission timeout, RFC
 * 6298: smoothed RTT + 4 × its variation, never below `timeoutMs`). A fixed
 * 10 s and one miss closed healthy connections of busy peers: 16 browser tabs
 * on a 2-core machine running the test suite had their relay connections cut
 * by their own pings, every one of them re-dialled and re-subscribed.
 */
export interface LivenessConfig {
  /** Each connection is pinged once per interval. Default 10 s (libp2p's monitor's). */
  intervalMs: number
  /** The interval is cut into this many slots; a connection is pinged in its own slot. Default 10. */
  slots: number
  /**
   * The shortest wait for a ping's answer. The wait grows with the round
   * trips the connection has shown and doubles after each miss. Default 10 s.
   */
  timeoutMs: number
  /** The longest wait for a ping's answer, however slow the connection was. Default 60 s. */
  maxTimeoutMs: number
  /**
   * Pings missed in a row before the connection is counted dead and closed.
   * After a miss the next ping goes at once, not in the next interval, so a
   * dead connection is closed within about timeoutMs × (2^misses − 1).
   * Default 2: a peer that stalled once for up to 3 × timeoutMs is kept.
   */
  missesBeforeClose: number
  /**
   * How a connection is pinged. 'stream': a /ipfs/ping/1.0.0 stream, as
   * libp2p's monitor pings. 'muxer': a yamux PING frame on the connection
   * itself, answered by the peer's yamux (muxerPing in ./muxer.ts: one frame
   * each way, no stream, no peer-store write), where the connection's muxer is
   * lightpool's yamux; other connections (WebRTC) still get a stream. The
   * timeouts, misses and closing are the same either way. Default 'stream';
   * the Node full node (node/run-node.ts) uses 'muxer': at rest, its ping
   * streams were the larger part of its CPU (see muxerPing).
   */
  via: 'muxer' | 'stream'
}

export const DEFAULT_LIVENESS_CONFIG: Readonly<LivenessConfig> = Object.freeze({
  intervalMs: 10_000,
  slots: 10,
  timeoutMs: 10_000,
  maxTimeoutMs: 60_000,
  missesBeforeClose: 2,
  via: 'stream'
})

/** What a connection's pings have shown: RFC 6298's smoothed round trip and its variation, and the misses in a row. */
interface PingHistory {
  srttMs: number | undefined
  rttVarMs: number
  misses: number
}

/** How many pings were answered, missed, and how many connections were closed for it. */
export interface LivenessStats {
  answered: number
  missed: number
  closed: number
  /** Of `closed`: older connections of a peer that had just opened a new one, found dead when checked at once. */
  replaced: number
}

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

export interface LivenessComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
}

export class ConnectionLiveness implements Startable {
  readonly config: Readonly<LivenessConfig>
  private readonly components: LivenessComponents
  private readonly log: Logger
  /** each connection's slot, handed out round-robin as connections are first seen */
  private readonly slotOf = new WeakMap<Connection, number>()
  private readonly history = new WeakMap<Connection, PingHistory>()
  /** a connection whose ping is in flight is not pinged again by its slot */
  private readonly inFlight = new WeakSet<Connection>()
  private readonly counts: LivenessStats = { answered: 0, missed: 0, closed: 0, replaced: 0 }
  private nextSlot = 0
  private tick = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private controller = new AbortController()

  constructor (components: LivenessComponents, config: Partial<LivenessConfig> = {}) {
    this.components = components
    this.config = Object.freeze({ ...DEFAULT_LIVENESS_CONFIG, ...config })
    if (this.config.via !== 'muxer' && this.config.via !== 'stream') throw new RangeError(`liveness.via must be 'muxer' or 'stream', got ${String(this.config.via)}`)
    for (const key of ['intervalMs', 'slots', 'timeoutMs', 'maxTimeoutMs', 'missesBeforeClose'] as const) {
      const v = this.config[key]
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`liveness.${key} must be a positive integer, got ${v}`)
    }
    if (this.config.maxTimeoutMs < this.config.timeoutMs) {
      throw new RangeError(`liveness.maxTimeoutMs (${this.config.maxTimeoutMs}) must be at least timeoutMs (${this.config.timeoutMs})`)
    }
    this.log = components.logger.forComponent('lightpool:liveness')
  }

  readonly [Symbol.toStringTag] = 'lightpool:liveness'

  stats (): LivenessStats {
    return { ...this.counts }
  }

  /**
   * How long the next ping of `conn` waits for its answer: RFC 6298's
   * retransmission timeout from the round trips seen, at least timeoutMs,
   * doubled for each miss in a row, at most maxTimeoutMs.
   */
  waitFor (conn: Connection): number {
    const h = this.history.get(conn)
    const { timeoutMs, maxTimeoutMs } = this.config
    const rto = h?.srttMs === undefined ? timeoutMs : Math.max(timeoutMs, Math.ceil(h.srttMs + 4 * h.rttVarMs))
    return Math.min(maxTimeoutMs, rto * 2 ** (h?.misses ?? 0))
  }

  start (): void {
    this.controller = new AbortController()
    this.timer = setInterval(() => { this.pingSlot() }, Math.max(1, Math.floor(this.config.intervalMs / this.config.slots)))
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.controller.abort()
  }

  /**
   * A peer that opens a new connection while holding others gets those
   * checked at once, not at their next slot: a browser that redials its relay
   * does so because its old connection died under it (a laptop that slept, a
   * phone that changed networks, a socket its muxer left open), and on the
   * relay that old socket stayed established, counted against the address's
   * cap, until two pings went unanswered, up to minutes on a loaded machine.
   * Here one ping decides: the peer has just shown it is alive on the new
   * connection, so an old one that does not answer within its usual wait
   * (waitFor: at least timeoutMs, longer on a slow link), or whose muxer is
   * already closed, is dead. A live duplicate (two peers dialling
   * each other at once) answers and is kept.
   */
  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const fresh = evt.detail
    for (const old of this.components.connectionManager.getConnections(fresh.remotePeer)) {
      if (old === fresh || old.status !== 'open' || this.inFlight.has(old)) continue
      void this.ping(old, { once: true })
    }
  }

  private pingSlot (): void {
    const slot = this.tick++ % this.config.slots
    for (const conn of this.components.connectionManager.getConnections()) {
      let own = this.slotOf.get(conn)
      if (own === undefined) {
        own = this.nextSlot++ % this.config.slots
        this.slotOf.set(conn, own)
      }
      if (own === slot && conn.status === 'open' && !this.inFlight.has(conn)) void this.ping(conn)
    }
  }

  private answered (conn: Connection, rttMs: number): void {
    this.counts.answered++
    conn.rtt = rttMs
    const h = this.history.get(conn)
    if (h?.srttMs === undefined) {
      this.history.set(conn, { srttMs: rttMs, rttVarMs: rttMs / 2, misses: 0 })
      return
    }
    // RFC 6298 2.3: RTTVAR first, from the old SRTT
    h.rttVarMs = 0.75 * h.rttVarMs + 0.25 * Math.abs(h.srttMs - rttMs)
    h.srttMs = 0.875 * h.srttMs + 0.125 * rttMs
    h.misses = 0
  }

  /** Counts a miss; true when the connection has missed too many in a row and is to be closed. */
  private missed (conn: Connection): boolean {
    this.counts.missed++
    const h = this.history.get(conn) ?? { srttMs: undefined, rttVarMs: 0, misses: 0 }
    h.misses++
    this.history.set(conn, h)
    return h.misses >= this.config.missesBeforeClose
  }

  /** One ping of `conn`, waiting as its round trips say (waitFor); `once`: a single miss closes it (see onOpen). */
  private async ping (conn: Connection, opts: { once?: boolean } = {}): Promise<void> {
    this.inFlight.add(conn)
    const limit = deadline(this.waitFor(conn), 'no ping answer')
    const stopped = this.controller.signal
    const onStop = (): void => { limit.abort(stopped.reason) }
    stopped.addEventListener('abort', onStop, { once: true })
    const signal = limit.signal
    let start = Date.now()
    let stream: Stream | undefined
    let retry = false
    const viaMuxer = this.config.via === 'muxer' ? muxerPing(conn) : undefined
    try {
      if (viaMuxer !== undefined) {
        // when our wait runs out yamux rejects with its own error; the catch below reads the signal, not the error
        this.answered(conn, await viaMuxer({ signal }))
        return
      }
      stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const bytes = byteStream(stream)
      const challenge = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
      start = Date.now()
      const [, echo] = await Promise.all([bytes.write(challenge, { signal }), bytes.read({ bytes: PING_LENGTH, signal })])
      if (!equals(echo.subarray(), challenge)) throw new Error('ping answered with other bytes')
      this.answered(conn, Date.now() - start)
      // answered: a close that does not finish in time says nothing more about the connection
      await stream.close({ signal }).catch((err: Error) => { stream?.abort(err) })
    } catch (err) {
      stream?.abort(err as Error)
      if (stopped.aborted) return
      if ((err as Error).name === 'UnsupportedProtocolError') {
        // it answered the protocol negotiation (two round trips): alive
        this.answered(conn, (Date.now() - start) / 2)
        return
      }
      // the signal says whether it was our wait that ran out, whatever error the stream threw for it
      const timedOut = signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError'
      if (!timedOut || this.missed(conn) || opts.once === true) {
        // a wrong echo or a broken stream is a dead connection at once; silence only after missesBeforeClose
        this.counts.closed++
        if (opts.once === true) this.counts.replaced++
        this.log('connection to %p failed its ping, closing it - %e', conn.remotePeer, err)
        conn.abort(err as Error)
        return
      }
      this.log('connection to %p missed a ping, asking again within %d ms', conn.remotePeer, this.waitFor(conn))
      retry = true
    } finally {
      limit.clear()
      stopped.removeEventListener('abort', onStop)
      this.inFlight.delete(conn)
    }
    if (retry && conn.status === 'open') await this.ping(conn)
  }
}

/** The libp2p service factory: `services: { liveness: connectionLiveness(config) }`, with `connectionMonitor: { enabled: false }`. */
export function connectionLiveness (config: Partial<LivenessConfig> = {}): (components: LivenessComponents) => ConnectionLiveness {
  return (components) => new ConnectionLiveness(components, config)
}
