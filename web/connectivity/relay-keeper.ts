import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, Logger } from '@libp2p/interface'
import { backoffDelay, ignoreError, jittered, type Emitter } from '../../src/index.ts'
import type { ConnectivityComponents } from './components.ts'
import type { ConnectivityConfig } from './config.ts'
import type { RelayDialGuard } from './relay-dial-guard.ts'
import type { ConnectivityEvents, RelayState, RelayStatus } from './status.ts'

/** The peer-store tag that keeps the connection manager from pruning a relay connection. */
const KEEP_ALIVE_TAG = 'keep-alive-lightpool-relay'
/** The tag's value: above any peer the pruner would rather keep. */
const KEEP_ALIVE_VALUE = 100

/** Does the tab hold a reservation on `relay`: is one of its own addresses a circuit through it? */
export function reservedOn (relay: string, ownAddrs: readonly string[]): boolean {
  return ownAddrs.some(a => a.includes(`/p2p/${relay}/p2p-circuit`))
}

interface RelayEntry {
  addr: Multiaddr
  peer: string
  failures: number
  nextAt: number
  dialing: boolean
}

export interface RelayKeeperInit {
  relays: string[]
  config: Readonly<ConnectivityConfig>
  guard: RelayDialGuard
  events: Emitter<ConnectivityEvents>
  log: Logger
}

/**
 * Keeps a WebSocket connection to every configured relay: dialled at start,
 * redialled after a drop with a short jittered exponential backoff
 * (`relayRetryBaseMs` doubling to `relayRetryMaxMs`, reset on success) —
 * much shorter than the peer keeper's, because a tab with no relay is
 * offline. Reservations come from the circuit-relay transport, which listens
 * on one `/p2p-circuit` per relay and reserves on any relay it is connected
 * to, again after a reconnect; ReservationKeeper asks again when that fails.
 */
export class RelayKeeper {
  private readonly components: ConnectivityComponents
  private readonly init: RelayKeeperInit
  private readonly relays: RelayEntry[] = []

  constructor (components: ConnectivityComponents, init: RelayKeeperInit) {
    this.components = components
    this.init = init
    for (const s of init.relays) {
      const addr = multiaddr(s)
      const peer = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      if (peer === undefined) throw new TypeError(`relay address ${s} must end in /p2p/<peer id>`)
      if (!this.relays.some(r => r.peer === peer)) this.relays.push({ addr, peer, failures: 0, nextAt: 0, dialing: false })
    }
    init.guard.setRelays(this.relays.map(r => r.peer))
    init.guard.connectedBy((peer) => this.isConnected(peer))
  }

  /** The configured relays' peer ids. */
  peers (): string[] {
    return this.relays.map(r => r.peer)
  }

  isRelay (peer: string): boolean {
    return this.relays.some(r => r.peer === peer)
  }

  /** Is any configured relay connected (to signal WebRTC dials through)? */
  anyConnected (): boolean {
    return this.relays.some(r => this.isConnected(r.peer))
  }

  tagAll (): void {
    for (const r of this.relays) this.tag(r)
  }

  /** Dials every relay that is down and due. */
  tick (now: number): void {
    for (const r of this.relays) {
      if (!r.dialing && r.nextAt <= now && !this.isConnected(r.peer)) this.dial(r)
    }
  }

  status (ownAddrs: string[]): RelayStatus[] {
    return this.relays.map((r) => {
      const state: RelayState = this.isConnected(r.peer) ? 'connected' : r.dialing ? 'connecting' : 'waiting'
      const out: RelayStatus = {
        addr: r.addr.toString(),
        peerId: r.peer,
        state,
        reserved: reservedOn(r.peer, ownAddrs),
        failures: r.failures
      }
      if (state === 'waiting') out.retryAt = r.nextAt
      return out
    })
  }

  onOpen (conn: Connection): void {
    const peer = conn.remotePeer.toString()
    const relay = this.relays.find(r => r.peer === peer)
    if (relay === undefined) return
    relay.failures = 0
    relay.nextAt = 0
    this.tag(relay)
    this.init.events.emit('relay:connected', { peer })
  }

  /** A connection closed; `remaining` is how many the peer still has open. */
  onClose (conn: Connection, remaining: number): void {
    const peer = conn.remotePeer.toString()
    const relay = this.relays.find(r => r.peer === peer)
    if (relay === undefined || remaining > 0) return
    // first redial soon: a relay restart is the common case
    relay.nextAt = Date.now() + this.init.config.relayRetryBaseMs
    this.init.events.emit('relay:lost', { peer })
  }

  isConnected (peer: string): boolean {
    return this.components.connectionManager.getConnections().some(c => c.remotePeer.toString() === peer && c.status === 'open')
  }

  /** The connection manager never prunes a relay connection (tagged again on every connect: libp2p drops keep-alive tags after failed reconnects). */
  private tag (r: RelayEntry): void {
    // untagged, the relay connection is only prunable: the next connect tags it again
    void this.components.peerStore.merge(peerIdFromString(r.peer), {
      multiaddrs: [r.addr],
      tags: { [KEEP_ALIVE_TAG]: { value: KEEP_ALIVE_VALUE } }
    }).catch(ignoreError(this.init.log, `tagging relay ${r.peer} keep-alive`))
  }

  private dial (r: RelayEntry): void {
    const { config, guard, events, log } = this.init
    r.dialing = true
    events.emit('change', undefined)
    const signal = AbortSignal.timeout(config.relayDialTimeoutMs)
    guard.allowDuring(r.peer, async () => await this.components.connectionManager.openConnection(r.addr, { signal }))
      .then(() => {
        r.failures = 0
        r.nextAt = 0
      }, (err: Error) => {
        r.failures++
        // timed out: the relay is up and slow (overloaded), so back off further than from one that is down
        const maxMs = signal.aborted ? Math.max(config.relayRetryMaxMs, config.relayBusyRetryMaxMs) : config.relayRetryMaxMs
        r.nextAt = Date.now() + jittered(backoffDelay(r.failures, config.relayRetryBaseMs, maxMs))
        log('relay %s dial failed (%d in a row%s) - %e', r.peer, r.failures, signal.aborted ? ', timed out' : '', err)
      })
      .finally(() => {
        r.dialing = false
        events.emit('change', undefined)
      })
  }
}
