import type { Connection, Logger, Startable } from '@libp2p/interface'
import { Emitter } from '../src/index.ts'
import type { ConnectivityComponents } from './connectivity/components.ts'
import { connectivityConfig, type ConnectivityConfig, type ConnectivityInit } from './connectivity/config.ts'
import { GossipWatchdog } from './connectivity/gossipsub-streams-patch.ts'
import { Reidentifier } from './connectivity/reidentify.ts'
import { RelayDialGuard } from './connectivity/relay-dial-guard.ts'
import { RelayKeeper } from './connectivity/relay-keeper.ts'
import { findReservationStore, ReservationKeeper } from './connectivity/reservation-keeper.ts'
import { connectivityStatus, type ConnectivityEvents, type ConnectivityStatus, type UpgradeRecord } from './connectivity/status.ts'
import { WebRtcUpgrader } from './connectivity/webrtc-upgrader.ts'

export { connectionKind, type ConnectionKind } from './connectivity/kind.ts'
export { RelayDialGuard } from './connectivity/relay-dial-guard.ts'
export { connectivityConfig, type ConnectivityConfig, type ConnectivityInit } from './connectivity/config.ts'
export type { ConnectivityComponents } from './connectivity/components.ts'
export type { ConnectionInfo, ConnectivityEvents, ConnectivityStatus, RelayStatus, UpgradeRecord } from './connectivity/status.ts'

/**
 * How a browser tab stays connected, as a libp2p service (js-libp2p style:
 * `services: { connectivity: browserConnectivity(init) }`). It composes one
 * service per concern, each in its own file under ./connectivity/:
 *
 * - relay-keeper.ts       a WebSocket connection to every configured relay,
 *                         redialled with a short backoff (a tab with no relay
 *                         is offline); RelayDialGuard makes it the only dialler
 * - reservation-keeper.ts  asks a connected relay for a reservation again
 *                         when the circuit-relay transport's one ask failed
 * - webrtc-upgrader.ts    direct WebRTC to the other tabs the peer keeper
 *                         learns of, retried past @libp2p/webrtc's dial race;
 *                         relayed connections closed once WebRTC is up
 * - gossipsub-streams-patch.ts  the watchdog for a gossipsub race that keeps
 *                         a dead outbound stream (a library patch, with its
 *                         measurement and an upgrade test)
 * - reidentify.ts         identify again when a peer loses a connection but
 *                         keeps another, so gossipsub reopens its stream there
 * - status.ts             what the UI shows: relays, connections, events
 *
 * Defaults: DEFAULT_CONNECTIVITY_CONFIG (./connectivity/config.ts).
 */
export class BrowserConnectivity implements Startable {
  readonly events = new Emitter<ConnectivityEvents>()
  readonly config: Readonly<ConnectivityConfig>
  private readonly components: ConnectivityComponents
  private readonly log: Logger
  private readonly relays: RelayKeeper
  private readonly reservations: ReservationKeeper
  private readonly browsers: WebRtcUpgrader
  private readonly reidentifier: Reidentifier
  private readonly watchdog: GossipWatchdog | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private running = false

  constructor (components: ConnectivityComponents, init: ConnectivityInit) {
    this.components = components
    this.log = components.logger.forComponent('lightpool:connectivity')
    this.config = connectivityConfig(init)
    const shared = { config: this.config, events: this.events, log: this.log }
    this.reidentifier = new Reidentifier(components, this.log)
    this.relays = new RelayKeeper(components, { ...shared, relays: init.relays, guard: init.guard ?? new RelayDialGuard() })
    this.reservations = new ReservationKeeper({
      relays: () => this.relays.peers(),
      isConnected: (peer) => this.relays.isConnected(peer),
      ownAddrs: () => this.ownAddrs(),
      store: () => findReservationStore(components.transportManager),
      config: this.config,
      log: this.log
    })
    this.browsers = new WebRtcUpgrader(components, { ...shared, reidentifier: this.reidentifier, isRelay: (peer) => this.relays.isRelay(peer) })
    this.watchdog = init.gossipTopic === undefined
      ? undefined
      : new GossipWatchdog(components, {
        topic: init.gossipTopic,
        config: this.config,
        log: this.log,
        reidentifier: this.reidentifier,
        relayUp: () => this.relays.anyConnected(),
        redialSoon: (peer) => { this.browsers.redialSoon(peer) }
      })
  }

  readonly [Symbol.toStringTag] = 'lightpool-connectivity'

  /** WebRTC upgrades that succeeded, latest last (at most `maxUpgradeRecords`). */
  get upgrades (): UpgradeRecord[] { return this.browsers.upgrades }
  /** Dead gossip streams dropped, and connections reset because a peer's gossip never arrived (see gossipsub-streams-patch.ts). */
  get gossipRepairs (): number { return this.watchdog?.repairs ?? 0 }
  get gossipResets (): number { return this.watchdog?.resets ?? 0 }

  async start (): Promise<void> {
    this.running = true
    this.reidentifier.start()
    this.browsers.start()
    const { events } = this.components
    events.addEventListener('connection:open', this.onOpen)
    events.addEventListener('connection:close', this.onClose)
    events.addEventListener('peer:identify', this.browsers.onIdentify)
    events.addEventListener('peer:update', this.browsers.onPeerUpdate)
    events.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  afterStart (): void {
    this.relays.tagAll()
    void this.browsers.seed()
    this.tick()
    this.timer = setInterval(() => { this.tick() }, this.config.tickMs)
  }

  async stop (): Promise<void> {
    this.running = false
    this.reidentifier.stop()
    this.browsers.stop()
    if (this.timer !== undefined) clearInterval(this.timer)
    const { events } = this.components
    events.removeEventListener('connection:open', this.onOpen)
    events.removeEventListener('connection:close', this.onClose)
    events.removeEventListener('peer:identify', this.browsers.onIdentify)
    events.removeEventListener('peer:update', this.browsers.onPeerUpdate)
    events.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  isRelay (peer: string): boolean {
    return this.relays.isRelay(peer)
  }

  status (): ConnectivityStatus {
    return connectivityStatus(this.relays.status(this.ownAddrs()), this.components.connectionManager.getConnections(), (peer) => this.relays.isRelay(peer))
  }

  private ownAddrs (): string[] {
    try {
      return this.components.addressManager.getAddresses().map(String)
    } catch {
      return []
    }
  }

  private tick (): void {
    if (!this.running) return
    const now = Date.now()
    this.relays.tick(now)
    this.reservations.tick(now)
    this.browsers.tick(now)
    this.watchdog?.check(now)
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    this.relays.onOpen(evt.detail)
    this.events.emit('change', undefined)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const remaining = this.components.connectionManager.getConnections(conn.remotePeer).filter(c => c.status === 'open').length
    this.relays.onClose(conn, remaining)
    // a peer that lost a connection but keeps another (a relay went down): otherwise gossipsub
    // would keep a peer whose only outbound stream died with the relay
    if (remaining > 0) this.reidentifier.reidentify(conn.remotePeer)
    this.events.emit('change', undefined)
  }

  private readonly onSelfUpdate = (): void => { this.events.emit('change', undefined) }
}

export function browserConnectivity (init: ConnectivityInit): (components: ConnectivityComponents) => BrowserConnectivity {
  return (components) => new BrowserConnectivity(components, init)
}
