import type { Multiaddr } from '@multiformats/multiaddr'
import type { IdentifyResult, Logger, PeerUpdate } from '@libp2p/interface'
import { LIGHTPOOL_PEER_TAG, backoffDelay, type Emitter } from '../../src/index.ts'
import type { ConnectivityComponents } from './components.ts'
import type { ConnectivityConfig } from './config.ts'
import { connectionKind } from './kind.ts'
import type { Reidentifier } from './reidentify.ts'
import type { ConnectivityEvents, UpgradeRecord } from './status.ts'

interface Candidate {
  addrs: Multiaddr[]
  firstSeen: number
  failures: number
  nextAt: number
  dialing: boolean
}

export interface WebRtcUpgraderInit {
  config: Readonly<ConnectivityConfig>
  events: Emitter<ConnectivityEvents>
  log: Logger
  reidentifier: Reidentifier
  isRelay: (peer: string) => boolean
}

/**
 * Direct connections to other browsers. The peer keeper
 * (src/net/peer-keeper.ts) asks the relay for peers (peer exchange) and
 * stores what it hears, including other tabs' `/p2p-circuit/webrtc`
 * addresses; this service dials those addresses directly: WebRTC, signalled
 * through the relay. @libp2p/webrtc 6.0.x loses about one dial in 8 to 14 to
 * a race (the dial hangs), so a dial is `webrtcAttempts` tries of
 * `webrtcAttemptTimeoutMs` each, then a backoff. Of two tabs that learn of
 * each other, the one with the smaller peer id dials at once and the other
 * after `yieldMs`, so they rarely open two connections.
 *
 * Upgrade. Until WebRTC is up, two tabs may talk over a relayed (limited)
 * connection. Once a WebRTC connection to a peer exists, the relayed ones to
 * it are closed, and the WebRTC connection is identified again: protocols
 * that keep one stream per peer (gossipsub) open it anew on the direct one.
 */
export class WebRtcUpgrader {
  readonly upgrades: UpgradeRecord[] = []
  private readonly components: ConnectivityComponents
  private readonly init: WebRtcUpgraderInit
  private readonly candidates = new Map<string, Candidate>()
  private running = false

  constructor (components: ConnectivityComponents, init: WebRtcUpgraderInit) {
    this.components = components
    this.init = init
  }

  start (): void { this.running = true }
  stop (): void { this.running = false }

  /** Peers already in the peer store (earlier visits) are candidates from the start. */
  async seed (): Promise<void> {
    try {
      const peers = await this.components.peerStore.all({ filters: [(p) => p.tags.has(LIGHTPOOL_PEER_TAG)] })
      for (const p of peers) this.consider(p.id.toString(), p.addresses.map(a => a.multiaddr))
    } catch (err) {
      this.init.log.error('could not read stored peers - %e', err)
    }
  }

  /** Dials due candidates, up to `maxBrowserPeers` direct connections. */
  tick (now: number): void {
    if (!this.running) return
    let room = this.init.config.maxBrowserPeers - this.directBrowserCount()
    const self = this.components.peerId.toString()
    for (const [peer, c] of this.candidates) {
      if (room <= 0) break
      if (c.dialing || c.nextAt > now || this.hasDirect(peer)) continue
      // the smaller id dials first; the other waits, then dials if nothing came
      if (self > peer && now - c.firstSeen < this.init.config.yieldMs) continue
      room--
      this.dial(peer, c)
    }
  }

  /** Lets `peer` be redialled at once (its connection was reset on purpose). */
  redialSoon (peer: string): void {
    const candidate = this.candidates.get(peer)
    if (candidate !== undefined) candidate.nextAt = 0
  }

  readonly onPeerUpdate = (evt: CustomEvent<PeerUpdate>): void => {
    const { peer } = evt.detail
    if (!peer.tags.has(LIGHTPOOL_PEER_TAG)) return
    this.consider(peer.id.toString(), peer.addresses.map(a => a.multiaddr))
  }

  readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { connection, peerId } = evt.detail
    if (!this.init.config.closeRelayedAfterUpgrade || connectionKind(connection.remoteAddr) !== 'webrtc') return
    const relayed = this.components.connectionManager.getConnections(peerId)
      .filter(c => c.id !== connection.id && c.status === 'open' && connectionKind(c.remoteAddr) === 'relay')
    if (relayed.length === 0) return
    this.init.log('closing %d relayed connection(s) to %p: WebRTC is up', relayed.length, peerId)
    // a graceful close lets requests in flight finish; once its streams are closed, reopen them on WebRTC
    void Promise.allSettled(relayed.map(async c => { await c.close().catch(() => { c.abort(new Error('replaced by WebRTC')) }) }))
      .then(() => { this.init.reidentifier.reidentify(peerId) })
  }

  private consider (peer: string, addrs: Multiaddr[]): void {
    if (peer === this.components.peerId.toString() || this.init.isRelay(peer)) return
    const webrtc = webrtcAddrs(peer, addrs)
    if (webrtc.length === 0) return
    const known = this.candidates.get(peer)
    if (known !== undefined) {
      known.addrs = webrtc
      return
    }
    this.candidates.set(peer, { addrs: webrtc, firstSeen: Date.now(), failures: 0, nextAt: 0, dialing: false })
    this.tick(Date.now())
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

  private dial (peer: string, c: Candidate): void {
    const { config, events, log } = this.init
    c.dialing = true
    const started = Date.now()
    void (async () => {
      let attempts = 0
      let lastErr: unknown
      while (attempts < config.webrtcAttempts && this.running && !this.hasDirect(peer)) {
        attempts++
        try {
          await this.components.connectionManager.openConnection(c.addrs, { signal: AbortSignal.timeout(config.webrtcAttemptTimeoutMs) })
          if (!this.hasDirect(peer)) throw new Error('the dial ended on a relayed connection')
          const rec = { peer, ms: Date.now() - started, attempts, at: Date.now() }
          this.upgrades.push(rec)
          if (this.upgrades.length > config.maxUpgradeRecords) this.upgrades.shift()
          c.failures = 0
          events.emit('webrtc:connected', rec)
          return
        } catch (err) {
          lastErr = err
          log('webrtc dial to %s, try %d, failed - %e', peer, attempts, err)
          // the dial race loses the SDP exchange; a prompt retry usually wins
          await new Promise(resolve => setTimeout(resolve, config.webrtcRetryStepMs * attempts))
        }
      }
      if (this.hasDirect(peer)) return
      c.failures++
      c.nextAt = Date.now() + backoffDelay(c.failures, config.webrtcBackoffMs, config.webrtcBackoffMaxMs)
      events.emit('webrtc:failed', { peer, attempts, error: (lastErr as Error)?.message ?? 'stopped' })
    })().finally(() => {
      c.dialing = false
      events.emit('change', undefined)
    })
  }
}

/** The peer's `/p2p-circuit/webrtc` addresses, ending in its id (the peer store keeps addresses without it). */
function webrtcAddrs (peer: string, addrs: Multiaddr[]): Multiaddr[] {
  return addrs.filter(a => {
    const names = a.getComponents().map(c => c.name)
    return names.includes('p2p-circuit') && names.includes('webrtc')
  }).map(a => {
    const last = a.getComponents().at(-1)
    return last?.name === 'p2p' && last.value === peer ? a : a.encapsulate(`/p2p/${peer}`)
  })
}
