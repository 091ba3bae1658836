import type { ComponentLogger, Connection, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import { deadline } from '../util/deadline.ts'

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
 * itself (limited/relayed ones too), `conn.rtt` updated, the connection
 * aborted when the ping fails or times out, and a peer that does not speak
 * ping counted as alive (it answered the negotiation).
 */
export interface LivenessConfig {
  /** Each connection is pinged once per interval. Default 10 s (libp2p's monitor's). */
  intervalMs: number
  /** The interval is cut into this many slots; a connection is pinged in its own slot. Default 10. */
  slots: number
  /** A ping not answered within this is a dead connection. Default 10 s. */
  timeoutMs: number
}

export const DEFAULT_LIVENESS_CONFIG: Readonly<LivenessConfig> = Object.freeze({
  intervalMs: 10_000,
  slots: 10,
  timeoutMs: 10_000
})

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

export interface LivenessComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export class ConnectionLiveness implements Startable {
  readonly config: Readonly<LivenessConfig>
  private readonly components: LivenessComponents
  private readonly log: Logger
  /** each connection's slot, handed out round-robin as connections are first seen */
  private readonly slotOf = new WeakMap<Connection, number>()
  private nextSlot = 0
  private tick = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private controller = new AbortController()

  constructor (components: LivenessComponents, config: Partial<LivenessConfig> = {}) {
    this.components = components
    this.config = Object.freeze({ ...DEFAULT_LIVENESS_CONFIG, ...config })
    for (const key of ['intervalMs', 'slots', 'timeoutMs'] as const) {
      const v = this.config[key]
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`liveness.${key} must be a positive integer, got ${v}`)
    }
    this.log = components.logger.forComponent('lightpool:liveness')
  }

  readonly [Symbol.toStringTag] = 'lightpool:liveness'

  start (): void {
    this.controller = new AbortController()
    this.timer = setInterval(() => { this.pingSlot() }, Math.max(1, Math.floor(this.config.intervalMs / this.config.slots)))
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.controller.abort()
  }

  private pingSlot (): void {
    const slot = this.tick++ % this.config.slots
    for (const conn of this.components.connectionManager.getConnections()) {
      let own = this.slotOf.get(conn)
      if (own === undefined) {
        own = this.nextSlot++ % this.config.slots
        this.slotOf.set(conn, own)
      }
      if (own === slot && conn.status === 'open') void this.ping(conn)
    }
  }

  private async ping (conn: Connection): Promise<void> {
    const limit = deadline(this.config.timeoutMs, 'no ping answer')
    const stopped = this.controller.signal
    const onStop = (): void => { limit.abort(stopped.reason) }
    stopped.addEventListener('abort', onStop, { once: true })
    const signal = limit.signal
    let start = Date.now()
    let stream
    try {
      stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const bytes = byteStream(stream)
      const challenge = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
      start = Date.now()
      const [, echo] = await Promise.all([bytes.write(challenge, { signal }), bytes.read({ bytes: PING_LENGTH, signal })])
      if (!equals(echo.subarray(), challenge)) throw new Error('ping answered with other bytes')
      conn.rtt = Date.now() - start
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err as Error)
      if (stopped.aborted) return
      if ((err as Error).name === 'UnsupportedProtocolError') {
        // it answered the protocol negotiation (two round trips): alive
        conn.rtt = (Date.now() - start) / 2
        return
      }
      this.log('connection to %p failed its ping, closing it - %e', conn.remotePeer, err)
      conn.abort(err as Error)
    } finally {
      limit.clear()
      stopped.removeEventListener('abort', onStop)
    }
  }
}

/** The libp2p service factory: `services: { liveness: connectionLiveness(config) }`, with `connectionMonitor: { enabled: false }`. */
export function connectionLiveness (config: Partial<LivenessConfig> = {}): (components: LivenessComponents) => ConnectionLiveness {
  return (components) => new ConnectionLiveness(components, config)
}
