import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger, PeerId } from '@libp2p/interface'
import type { TransportManager } from '@libp2p/interface-internal'
import { backoffDelay, jittered } from '../../src/index.ts'
import type { ConnectivityConfig } from './config.ts'
import { reservedOn } from './relay-keeper.ts'

/** What of @libp2p/circuit-relay-v2's reservation store the keeper uses: ask one connected relay for a reservation. */
export interface ReservationAsker {
  addRelay: (peer: PeerId, type: 'discovered') => Promise<unknown>
}

/** The circuit-relay transport's `Symbol.toStringTag` (@libp2p/circuit-relay-v2 4.x). */
const CIRCUIT_RELAY_TRANSPORT_TAG = '@libp2p/circuit-relay-v2-transport'

/**
 * The reservation store of the node's circuit-relay transport (a public
 * field of the transport class), or undefined if an upgrade moved it —
 * test/browser/relays.test.ts then fails ("a relay full when the tab
 * connects"), as the keeper can no longer ask again.
 */
export function findReservationStore (transports: Pick<TransportManager, 'getTransports'>): ReservationAsker | undefined {
  for (const t of transports.getTransports()) {
    if ((t as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] !== CIRCUIT_RELAY_TRANSPORT_TAG) continue
    const store = (t as { reservationStore?: Partial<ReservationAsker> }).reservationStore
    if (typeof store?.addRelay === 'function') return store as ReservationAsker
  }
  return undefined
}

interface Attempt {
  /** When to ask next; set `reservationRetryBaseMs` after the relay is first seen connected without a reservation. */
  nextAt: number
  failures: number
  asking: boolean
}

export interface ReservationKeeperInit {
  /** Configured relays' peer ids, in the order the tab prefers them. */
  relays: () => string[]
  isConnected: (peer: string) => boolean
  /** The node's own addresses (a reservation shows as a circuit address through its relay). */
  ownAddrs: () => string[]
  /** The node's reservation store, looked up when first needed (transports start after services are built). */
  store: () => ReservationAsker | undefined
  config: Readonly<ConnectivityConfig>
  log: Logger
}

/**
 * Asks a connected relay for a reservation again while the tab holds fewer
 * than `maxReservations`. The circuit-relay transport asks once per
 * connection (when identify says the peer speaks the hop protocol) and never
 * again on that connection: a relay that was full when the tab connected, a
 * RESERVE that timed out on a busy relay, or a reservation dropped with one of
 * two connections leaves the tab connected and unreachable by other tabs
 * for as long as the connection lasts. Seen in CI: after a relay restart the
 * tab reconnected and stayed without a reservation for 15 s+.
 *
 * The first ask waits `reservationRetryBaseMs` after the relay is seen
 * connected without one (the transport's own ask is usually done by then);
 * a refusal waits longer, doubling to `reservationRetryMaxMs` with jitter, so
 * the tabs of a full relay do not ask in lockstep.
 */
export class ReservationKeeper {
  private readonly init: ReservationKeeperInit
  private readonly attempts = new Map<string, Attempt>()
  private warnedNoStore = false

  constructor (init: ReservationKeeperInit) {
    this.init = init
  }

  tick (now: number): void {
    const { relays, isConnected, ownAddrs, config } = this.init
    const addrs = ownAddrs()
    const all = relays()
    const reserved = new Set(all.filter(peer => reservedOn(peer, addrs)))
    for (const peer of all) {
      if (!isConnected(peer) || reserved.has(peer)) {
        // a new connection, or a reservation held: start from the beginning next time
        if (this.attempts.get(peer)?.asking !== true) this.attempts.delete(peer)
        continue
      }
      if (reserved.size >= config.maxReservations) continue
      const attempt = this.attempts.get(peer)
      if (attempt === undefined) {
        this.attempts.set(peer, { nextAt: now + config.reservationRetryBaseMs, failures: 0, asking: false })
      } else if (!attempt.asking && attempt.nextAt <= now) {
        this.ask(peer, attempt)
      }
    }
  }

  private ask (peer: string, attempt: Attempt): void {
    const { store, config, log } = this.init
    const reservations = store()
    if (reservations === undefined) {
      if (!this.warnedNoStore) log.error('no circuit-relay reservation store found: a relay that refused a reservation is not asked again')
      this.warnedNoStore = true
      attempt.nextAt = Number.POSITIVE_INFINITY
      return
    }
    attempt.asking = true
    log('relay %s is connected without a reservation: asking again (%d refused before)', peer, attempt.failures)
    reservations.addRelay(peerIdFromString(peer), 'discovered').then(() => {
      log('relay %s reserved after %d refusals', peer, attempt.failures)
      attempt.failures = 0
    }, (err: Error) => {
      attempt.failures++
      log('relay %s refused a reservation (%d in a row) - %e', peer, attempt.failures, err)
    }).finally(() => {
      attempt.asking = false
      attempt.nextAt = Date.now() + jittered(backoffDelay(Math.max(1, attempt.failures), config.reservationRetryBaseMs, config.reservationRetryMaxMs))
    })
  }
}
