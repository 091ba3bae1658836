import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, IdentifyResult, Libp2pEvents, Logger, PeerId, PeerStore, PeerUpdate, Startable, TypedEventTarget, ComponentLogger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { LIGHTPOOL_PEER_TAG } from '../src/net/peer-keeper.ts'
import { Emitter } from '../src/util/emitter.ts'

/**
 * How a browser tab stays connected, as a libp2p service (js-libp2p style:
 * `services: { connectivity: browserConnectivity(init) }`).
 *
 * Relays. The tab keeps a WebSocket connection to every configured relay:
 * dialled at start, redialled after a drop with a short exponential backoff
 * (`relayRetryBaseMs` doubling to `relayRetryMaxMs`, reset on success) —
 * much shorter than the peer keeper's, because a tab with no relay is
 * offline. Reservations come from the circuit-relay transport, which listens
 * on one `/p2p-circuit` per relay and reserves on any relay it is connected
 * to, again after a reconnect.
 *
 * Other browsers. The peer keeper (src/net/peer-keeper.ts) asks the relay
 * for peers (peer exchange) and stores what it hears, including other
 * tabs' `/p2p-circuit/webrtc` addresses. This service dials those addresses
 * directly: WebRTC, signalled through the relay. @libp2p/webrtc 6.0.x loses
 * about one dial in 8 to 14 to a race (the dial hangs), so a dial is
 * `webrtcAttempts` tries of `webrtcAttemptTimeoutMs` each, then a backoff. Of two tabs that learn of
 * each other, the one with the smaller peer id dials at once and the other
 * after `yieldMs`, so they rarely open two connections.
 *
 * Upgrade. Until WebRTC is up, two tabs may talk over a relayed (limited)
 * connection (gossip and lightpool protocols are allowed there). Once a
 * WebRTC connection to a peer exists, the relayed ones to it are closed, and
 * the WebRTC connection is identified again: protocols that keep one stream
 * per peer (gossipsub) open it anew on the direct connection. The same
 * re-identify runs whenever a peer loses a connection but keeps another
 * (a relay went down): otherwise gossipsub would keep a peer whose only
 * outbound stream died with the relay.
 */
export interface ConnectivityInit {
  /** Relay multiaddrs, each with /p2p/<peer id>. */
  relays: string[]
  /** First redial delay after a relay is lost. Default 1 s. */
  relayRetryBaseMs?: number
  /** Longest redial delay (each delay gets ±20% jitter, so a relay's tabs do not come back in lockstep). Default 10 s. */
  relayRetryMaxMs?: number
  /** Per relay dial. Default 10 s. */
  relayDialTimeoutMs?: number
  /** Most WebRTC connections to other browsers this tab keeps. Default 8. */
  maxBrowserPeers?: number
  /** Tries per WebRTC dial (the dial race). Default 3. */
  webrtcAttempts?: number
  /**
   * Per try. Default 4 s: measured here, a WebRTC dial through a relay takes
   * 50–250 ms on loopback, and one that loses the race hangs until a timeout
   * (about 1 in 8–14), after which a new try usually connects in ~60 ms.
   */
  webrtcAttemptTimeoutMs?: number
  /** After a failed dial (all tries), wait this long, doubling per failure, at most 2 min. Default 5 s. */
  webrtcBackoffMs?: number
  /** The tab with the larger peer id waits this long for the other to dial first. Default 3 s. */
  yieldMs?: number
  /** Close relayed connections to a peer once a WebRTC connection to it is open. Default true. */
  closeRelayedAfterUpgrade?: boolean
  /** Housekeeping period. Default 1 s. */
  tickMs?: number
  /**
   * The gossip topic every lightpool peer subscribes to (the tx topic). When
   * set, a WebRTC peer that has been connected this long (`gossipGraceMs`)
   * without its subscription reaching us has a broken gossip stream: its
   * connection is reset, once per 30 s at most (see `checkGossip`).
   */
  gossipTopic?: string
  /** Default 5 s. */
  gossipGraceMs?: number
  /** Shared with the connection gater (see RelayDialGuard). Default: one of its own, which then guards nothing. */
  guard?: RelayDialGuard
}

export type ConnectionKind = 'websocket' | 'relay' | 'webrtc' | 'webrtc-direct' | 'webtransport' | 'tcp' | 'other'

/** How a connection is carried, from its remote address. */
export function connectionKind (addr: Multiaddr | string): ConnectionKind {
  const names = (typeof addr === 'string' ? multiaddr(addr) : addr).getComponents().map(c => c.name)
  if (names.includes('webrtc')) return 'webrtc'
  if (names.includes('webrtc-direct')) return 'webrtc-direct'
  if (names.includes('p2p-circuit')) return 'relay'
  if (names.includes('webtransport')) return 'webtransport'
  if (names.includes('ws') || names.includes('wss')) return 'websocket'
  if (names.includes('tcp')) return 'tcp'
  return 'other'
}

export type RelayState = 'connected' | 'connecting' | 'waiting'

export interface RelayStatus {
  addr: string
  peerId: string
  state: RelayState
  /** This tab holds a reservation on the relay (others can reach it through it). */
  reserved: boolean
  failures: number
  /** Unix ms of the next redial, while waiting. */
  retryAt?: number
}

export interface ConnectionInfo {
  peerId: string
  kind: ConnectionKind
  remoteAddr: string
  direction: 'inbound' | 'outbound'
  /** The peer is one of the configured relays. */
  relay: boolean
  limited: boolean
  openedAt: number
}

export interface ConnectivityStatus {
  relays: RelayStatus[]
  connections: ConnectionInfo[]
  /** Distinct peers connected. */
  peers: number
  /** Other browsers with a direct WebRTC connection. */
  webrtcPeers: number
}

export interface UpgradeRecord {
  peer: string
  /** From the first try to the open connection. */
  ms: number
  attempts: number
  at: number
}

export interface ConnectivityEvents {
  /** Something in `status()` changed. */
  change: undefined
  'relay:connected': { peer: string }
  'relay:lost': { peer: string }
  'webrtc:connected': UpgradeRecord
  'webrtc:failed': { peer: string, attempts: number, error: string }
}

export interface ConnectivityComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface RelayEntry {
  addr: Multiaddr
  peer: string
  failures: number
  nextAt: number
  dialing: boolean
}

interface Candidate {
  addrs: Multiaddr[]
  firstSeen: number
  failures: number
  nextAt: number
  dialing: boolean
}

const KEEP_ALIVE_TAG = 'keep-alive-lightpool-relay'

/**
 * Makes the connectivity service the only one that dials a configured relay
 * while it is down. Others try too — libp2p's reconnect queue, the relay
 * transport's discovery, the peer keeper — and the relay transport
 * remembers a relay whose dial failed with DialError as "invalid" and never
 * reserves on it again until something else resets that memory; so after an
 * outage of more than a few seconds the tab would reconnect but stay without
 * a reservation. Their dials are refused by the gater (DialDeniedError,
 * which it does not hold against the relay) while the relay is disconnected
 * and this service is not dialling it; a connected relay is never refused.
 */
export class RelayDialGuard {
  private readonly relays = new Set<string>()
  private readonly dialing = new Set<string>()
  private isConnected: (peer: string) => boolean = () => false

  setRelays (peers: Iterable<string>): void {
    for (const p of peers) this.relays.add(p)
  }

  connectedBy (fn: (peer: string) => boolean): void {
    this.isConnected = fn
  }

  /** Runs our own dial of `peer`, which the gater lets through. */
  async allowDuring<T> (peer: string, fn: () => Promise<T>): Promise<T> {
    this.dialing.add(peer)
    try {
      return await fn()
    } finally {
      this.dialing.delete(peer)
    }
  }

  /** For the gater's `denyDialPeer`. */
  denies (peer: string): boolean {
    return this.relays.has(peer) && !this.dialing.has(peer) && !this.isConnected(peer)
  }
}

export class BrowserConnectivity implements Startable {
  readonly events = new Emitter<ConnectivityEvents>()
  readonly upgrades: UpgradeRecord[] = []
  private readonly components: ConnectivityComponents
  private readonly log: Logger
  private readonly cfg: Required<Omit<ConnectivityInit, 'relays' | 'guard' | 'gossipTopic'>> & { gossipTopic: string | undefined }
  private readonly guard: RelayDialGuard
  private readonly relays: RelayEntry[]
  private readonly candidates = new Map<string, Candidate>()
  private readonly reidentifying = new Set<string>()
  private readonly lastGossipReset = new Map<string, number>()
  /** Dead gossip streams dropped, and connections reset because a peer's gossip never arrived (see checkGossip). */
  gossipRepairs = 0
  gossipResets = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private running = false

  constructor (components: ConnectivityComponents, init: ConnectivityInit) {
    this.components = components
    this.log = components.logger.forComponent('lightpool:connectivity')
    this.cfg = {
      relayRetryBaseMs: init.relayRetryBaseMs ?? 1_000,
      relayRetryMaxMs: init.relayRetryMaxMs ?? 10_000,
      relayDialTimeoutMs: init.relayDialTimeoutMs ?? 10_000,
      maxBrowserPeers: init.maxBrowserPeers ?? 8,
      webrtcAttempts: Math.max(1, init.webrtcAttempts ?? 3),
      webrtcAttemptTimeoutMs: init.webrtcAttemptTimeoutMs ?? 4_000,
      webrtcBackoffMs: init.webrtcBackoffMs ?? 5_000,
      yieldMs: init.yieldMs ?? 3_000,
      closeRelayedAfterUpgrade: init.closeRelayedAfterUpgrade ?? true,
      tickMs: init.tickMs ?? 1_000,
      gossipTopic: init.gossipTopic,
      gossipGraceMs: init.gossipGraceMs ?? 5_000
    }
    this.guard = init.guard ?? new RelayDialGuard()
    this.relays = []
    for (const s of init.relays) {
      const addr = multiaddr(s)
      const peer = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      if (peer === undefined) throw new TypeError(`relay address ${s} must end in /p2p/<peer id>`)
      if (!this.relays.some(r => r.peer === peer)) this.relays.push({ addr, peer, failures: 0, nextAt: 0, dialing: false })
    }
    this.guard.setRelays(this.relays.map(r => r.peer))
    this.guard.connectedBy((peer) => this.components.connectionManager.getConnections().some(c => c.remotePeer.toString() === peer && c.status === 'open'))
  }

  readonly [Symbol.toStringTag] = 'lightpool-connectivity'

  async start (): Promise<void> {
    this.running = true
    const { events } = this.components
    events.addEventListener('connection:open', this.onOpen)
    events.addEventListener('connection:close', this.onClose)
    events.addEventListener('peer:identify', this.onIdentify)
    events.addEventListener('peer:update', this.onPeerUpdate)
    events.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  afterStart (): void {
    for (const r of this.relays) this.tagRelay(r)
    void this.seedCandidates()
    this.tick()
    this.timer = setInterval(() => { this.tick() }, this.cfg.tickMs)
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
    const { events } = this.components
    events.removeEventListener('connection:open', this.onOpen)
    events.removeEventListener('connection:close', this.onClose)
    events.removeEventListener('peer:identify', this.onIdentify)
    events.removeEventListener('peer:update', this.onPeerUpdate)
    events.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  // ---- status ----

  isRelay (peer: string): boolean {
    return this.relays.some(r => r.peer === peer)
  }

  status (): ConnectivityStatus {
    const conns = this.components.connectionManager.getConnections()
    const own = this.ownAddrs()
    const relays: RelayStatus[] = this.relays.map((r) => {
      const connected = conns.some(c => c.remotePeer.toString() === r.peer && c.status === 'open')
      const state: RelayState = connected ? 'connected' : r.dialing ? 'connecting' : 'waiting'
      const out: RelayStatus = {
        addr: r.addr.toString(),
        peerId: r.peer,
        state,
        reserved: own.some(a => a.includes(`/p2p/${r.peer}/p2p-circuit`)),
        failures: r.failures
      }
      if (state === 'waiting') out.retryAt = r.nextAt
      return out
    })
    const connections: ConnectionInfo[] = conns.filter(c => c.status === 'open').map(c => ({
      peerId: c.remotePeer.toString(),
      kind: connectionKind(c.remoteAddr),
      remoteAddr: c.remoteAddr.toString(),
      direction: c.direction,
      relay: this.isRelay(c.remotePeer.toString()),
      limited: c.limits !== undefined,
      openedAt: c.timeline.open
    }))
    const webrtc = new Set(connections.filter(c => c.kind === 'webrtc').map(c => c.peerId))
    return { relays, connections, peers: new Set(connections.map(c => c.peerId)).size, webrtcPeers: webrtc.size }
  }

  private ownAddrs (): string[] {
    try {
      return (this.components as unknown as { addressManager: { getAddresses: () => Multiaddr[] } }).addressManager.getAddresses().map(String)
    } catch {
      return []
    }
  }

  // ---- relays ----

  private peerIdOf (r: RelayEntry): PeerId {
    return peerIdFromString(r.peer)
  }

  /** The connection manager never prunes a relay connection (tagged again on every connect: libp2p drops keep-alive tags after failed reconnects). */
  private tagRelay (r: RelayEntry): void {
    void this.components.peerStore.merge(this.peerIdOf(r), {
      multiaddrs: [r.addr],
      tags: { [KEEP_ALIVE_TAG]: { value: 100 } }
    }).catch(() => {})
  }

  private relayConnected (r: RelayEntry): boolean {
    return this.components.connectionManager.getConnections().some(c => c.remotePeer.toString() === r.peer && c.status === 'open')
  }

  private dialRelay (r: RelayEntry): void {
    r.dialing = true
    this.changed()
    this.guard.allowDuring(r.peer, async () => await this.components.connectionManager.openConnection(r.addr, { signal: AbortSignal.timeout(this.cfg.relayDialTimeoutMs) }))
      .then(() => {
        r.failures = 0
        r.nextAt = 0
      }, (err: Error) => {
        r.failures++
        r.nextAt = Date.now() + jitter(Math.min(this.cfg.relayRetryMaxMs, this.cfg.relayRetryBaseMs * 2 ** (r.failures - 1)))
        this.log('relay %s dial failed (%d in a row) - %e', r.peer, r.failures, err)
      })
      .finally(() => {
        r.dialing = false
        this.changed()
      })
  }

  // ---- browsers ----

  /** The peer's `/p2p-circuit/webrtc` addresses, ending in its id (the peer store keeps addresses without it). */
  private webrtcAddrs (peer: string, addrs: Multiaddr[]): Multiaddr[] {
    return addrs.filter(a => {
      const names = a.getComponents().map(c => c.name)
      return names.includes('p2p-circuit') && names.includes('webrtc')
    }).map(a => {
      const last = a.getComponents().at(-1)
      return last?.name === 'p2p' && last.value === peer ? a : a.encapsulate(`/p2p/${peer}`)
    })
  }

  private hasDirect (peer: string): boolean {
    return this.components.connectionManager.getConnections().some(c =>
      c.remotePeer.toString() === peer && c.status === 'open' && connectionKind(c.remoteAddr) !== 'relay')
  }

  private directBrowserCount (): number {
    const peers = new Set<string>()
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.status === 'open' && connectionKind(c.remoteAddr) === 'webrtc') peers.add(c.remotePeer.toString())
    }
    return peers.size
  }

  private consider (peer: string, addrs: Multiaddr[]): void {
    if (peer === this.components.peerId.toString() || this.isRelay(peer)) return
    const webrtc = this.webrtcAddrs(peer, addrs)
    if (webrtc.length === 0) return
    const known = this.candidates.get(peer)
    if (known !== undefined) {
      known.addrs = webrtc
      return
    }
    this.candidates.set(peer, { addrs: webrtc, firstSeen: Date.now(), failures: 0, nextAt: 0, dialing: false })
    this.tick()
  }

  private async seedCandidates (): Promise<void> {
    try {
      const peers = await this.components.peerStore.all({ filters: [(p) => p.tags.has(LIGHTPOOL_PEER_TAG)] })
      for (const p of peers) this.consider(p.id.toString(), p.addresses.map(a => a.multiaddr))
    } catch (err) {
      this.log.error('could not read stored peers - %e', err)
    }
  }

  private dialBrowser (peer: string, c: Candidate): void {
    c.dialing = true
    const started = Date.now()
    void (async () => {
      let attempts = 0
      let lastErr: unknown
      while (attempts < this.cfg.webrtcAttempts && this.running && !this.hasDirect(peer)) {
        attempts++
        try {
          await this.components.connectionManager.openConnection(c.addrs, { signal: AbortSignal.timeout(this.cfg.webrtcAttemptTimeoutMs) })
          if (!this.hasDirect(peer)) throw new Error('the dial ended on a relayed connection')
          const rec = { peer, ms: Date.now() - started, attempts, at: Date.now() }
          this.upgrades.push(rec)
          if (this.upgrades.length > 100) this.upgrades.shift()
          c.failures = 0
          this.events.emit('webrtc:connected', rec)
          return
        } catch (err) {
          lastErr = err
          this.log('webrtc dial to %s, try %d, failed - %e', peer, attempts, err)
          // the dial race loses the SDP exchange; a prompt retry usually wins
          await new Promise(resolve => setTimeout(resolve, 200 * attempts))
        }
      }
      if (this.hasDirect(peer)) return
      c.failures++
      c.nextAt = Date.now() + Math.min(120_000, this.cfg.webrtcBackoffMs * 2 ** (c.failures - 1))
      this.events.emit('webrtc:failed', { peer, attempts, error: (lastErr as Error)?.message ?? 'stopped' })
    })().finally(() => {
      c.dialing = false
      this.changed()
    })
  }

  // ---- the loop ----

  private tick (): void {
    if (!this.running) return
    const now = Date.now()
    for (const r of this.relays) {
      if (!r.dialing && r.nextAt <= now && !this.relayConnected(r)) this.dialRelay(r)
    }
    let room = this.cfg.maxBrowserPeers - this.directBrowserCount()
    const self = this.components.peerId.toString()
    for (const [peer, c] of this.candidates) {
      if (room <= 0) break
      if (c.dialing || c.nextAt > now || this.hasDirect(peer)) continue
      // the smaller id dials first; the other waits, then dials if nothing came
      if (self > peer && now - c.firstSeen < this.cfg.yieldMs) continue
      room--
      this.dialBrowser(peer, c)
    }
    this.checkGossip(now)
  }

  /**
   * The watchdog for a gossipsub race (@libp2p/gossipsub 17.x): when a
   * connection closes just as gossipsub opens its outbound stream on it — the
   * relayed connection closed at the WebRTC upgrade, or lost with the relay —
   * gossipsub can miss the stream's close (it listens for it only after an
   * await) and keep the dead stream as that peer's outbound stream for good:
   * our gossip never reaches the peer again and our subscriptions neither.
   * Seen here about once in 20 upgrades under CPU load.
   *
   * 1. Our side: an outbound stream gossipsub still holds but which is closed
   *    is dropped from its table, and the peer identified again, which makes
   *    gossipsub open a new one on the live connection.
   * 2. The peer's side, which we cannot see: a WebRTC peer connected for
   *    `gossipGraceMs` whose subscription never reached us gets its connection
   *    reset (once per 30 s at most, and only while a relay is up to signal a
   *    new one); both gossipsubs forget it on disconnect, and the redial
   *    starts clean.
   */
  private checkGossip (now: number): void {
    const topic = this.cfg.gossipTopic
    if (topic === undefined) return
    let pubsub: { getSubscribers: (t: string) => Array<{ toString: () => string }>, streamsOutbound?: unknown }
    try {
      pubsub = (this.components as unknown as { pubsub: typeof pubsub }).pubsub
    } catch {
      return
    }
    if (pubsub.streamsOutbound instanceof Map) {
      for (const [id, stream] of [...pubsub.streamsOutbound.entries()] as Array<[string, { rawStream?: { status?: string } }]>) {
        const status = stream.rawStream?.status
        if (status !== 'closed' && status !== 'aborted' && status !== 'reset') continue
        this.log('gossipsub kept a dead outbound stream to %s: dropping it', id)
        pubsub.streamsOutbound.delete(id)
        this.gossipRepairs++
        this.reidentify(peerIdFromString(id))
      }
    }
    if (!this.relays.some(r => this.relayConnected(r))) return
    const subscribers = new Set(pubsub.getSubscribers(topic).map(String))
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.status !== 'open' || connectionKind(c.remoteAddr) !== 'webrtc') continue
      const peer = c.remotePeer.toString()
      if (subscribers.has(peer) || now - c.timeline.open < this.cfg.gossipGraceMs) continue
      if (now - (this.lastGossipReset.get(peer) ?? 0) < 30_000) continue
      this.lastGossipReset.set(peer, now)
      this.gossipResets++
      this.log('no gossip from %p %d ms after connecting: resetting the connection', c.remotePeer, now - c.timeline.open)
      const candidate = this.candidates.get(peer)
      if (candidate !== undefined) candidate.nextAt = 0
      void this.components.connectionManager.closeConnections(c.remotePeer).catch(() => {})
    }
  }

  private changed (): void {
    this.events.emit('change', undefined)
  }

  // ---- libp2p events ----

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peer = conn.remotePeer.toString()
    const relay = this.relays.find(r => r.peer === peer)
    if (relay !== undefined) {
      relay.failures = 0
      relay.nextAt = 0
      this.tagRelay(relay)
      this.events.emit('relay:connected', { peer })
    }
    this.changed()
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peer = conn.remotePeer.toString()
    const remaining = this.components.connectionManager.getConnections(conn.remotePeer).filter(c => c.status === 'open')
    const relay = this.relays.find(r => r.peer === peer)
    if (relay !== undefined && remaining.length === 0) {
      // first redial soon: a relay restart is the common case
      relay.nextAt = Date.now() + this.cfg.relayRetryBaseMs
      this.events.emit('relay:lost', { peer })
    }
    if (remaining.length > 0) this.reidentify(conn.remotePeer)
    this.changed()
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { connection, peerId } = evt.detail
    if (!this.cfg.closeRelayedAfterUpgrade || connectionKind(connection.remoteAddr) !== 'webrtc') return
    const relayed = this.components.connectionManager.getConnections(peerId)
      .filter(c => c.id !== connection.id && c.status === 'open' && connectionKind(c.remoteAddr) === 'relay')
    if (relayed.length === 0) return
    this.log('closing %d relayed connection(s) to %p: WebRTC is up', relayed.length, peerId)
    // a graceful close lets requests in flight finish; once its streams are closed, reopen them on WebRTC
    void Promise.allSettled(relayed.map(async c => { await c.close().catch(() => { c.abort(new Error('replaced by WebRTC')) }) }))
      .then(() => { this.reidentify(peerId) })
  }

  private readonly onPeerUpdate = (evt: CustomEvent<PeerUpdate>): void => {
    const { peer } = evt.detail
    if (!peer.tags.has(LIGHTPOOL_PEER_TAG)) return
    this.consider(peer.id.toString(), peer.addresses.map(a => a.multiaddr))
  }

  private readonly onSelfUpdate = (): void => { this.changed() }

  /**
   * Identifies `peer` again on its best open connection (direct first), so
   * that protocols keeping one stream per peer reopen it there: at once, and
   * once more a little later in case a stream of the closed connection closed
   * after the connection did (gossipsub skips a peer whose old stream it still
   * holds). Identify is one small round trip.
   */
  private reidentify (peer: PeerId): void {
    const key = peer.toString()
    if (this.reidentifying.has(key)) return
    this.reidentifying.add(key)
    const run = (last: boolean): void => {
      if (last) this.reidentifying.delete(key)
      if (!this.running) return
      const open = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
      const best = open.find(c => connectionKind(c.remoteAddr) !== 'relay') ?? open[0]
      if (best === undefined) return
      let identify: { identify: (c: Connection) => Promise<unknown> } | undefined
      try {
        identify = (this.components as unknown as { identify?: { identify: (c: Connection) => Promise<unknown> } }).identify
      } catch {
        return
      }
      void identify?.identify(best).catch((err: Error) => { this.log('re-identify of %p failed - %e', peer, err) })
    }
    setTimeout(() => { run(false) }, 50)
    setTimeout(() => { run(true) }, 1500)
  }
}

function jitter (ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4))
}

export function browserConnectivity (init: ConnectivityInit): (components: ConnectivityComponents) => BrowserConnectivity {
  return (components) => new BrowserConnectivity(components, init)
}
