import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerStore, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { ByteReader, ByteWriter, DecodeError } from '../codec/bytes.ts'
import { backoffDelay } from '../util/backoff.ts'

/**
 * Keeps this node connected to enough lightpool peers, preferring the ones it
 * met before (kept in the peer store, which is on disk in Node and in
 * IndexedDB in a browser) over the bootstrap list, so a restarted node does
 * not need the bootnodes. Learns new peers by asking connected ones (peer
 * exchange) when it has too few.
 *
 * Every `maintenanceIntervalMs`, if fewer than `minPeers` peers are connected:
 *   1. dial stored lightpool peers, most recently seen first;
 *   2. then bootstrap addresses;
 *   3. and ask a connected peer for more (peer exchange).
 * A peer that fails to dial is retried with exponential backoff.
 *
 * With `idleMaintenanceIntervalMs` set (the Node full node sets it; the
 * default leaves it off), a round that changes nothing (no more peers
 * connected, no new peer learned, or no peers wanted at all) doubles the wait
 * before the next one, up to that; a peer connecting or disconnecting, or a
 * round that gains something, brings it back to `maintenanceIntervalMs`, and
 * a dial whose backoff ends sooner is never kept waiting. Why: a node below
 * `minPeers` on a network that has no more peers to give (a small network, a
 * bootnode alone) scanned its peer store and asked a peer for its peers every
 * 5 s forever; measured with bench:node-cost, 6 idle nodes of 5 peers each
 * (minPeers 6): ~0.5 % of a core per node, most of an idle node's cost once
 * its pings were cheap. Off by default because a browser tab learns of
 * another tab only by asking its relay again, which nothing else prompts.
 */
export interface PeerKeeperConfig {
  /** Connected peers below which the keeper dials more. Default 6. */
  minPeers: number
  /** The wait between rounds while they gain something. Default 5 s. */
  maintenanceIntervalMs: number
  /**
   * The longest wait between rounds that gain nothing (see above): each such
   * round doubles the wait from maintenanceIntervalMs up to this. A peer
   * connecting or disconnecting resets it. At or below maintenanceIntervalMs
   * (the default, 0) every round waits maintenanceIntervalMs, as before.
   */
  idleMaintenanceIntervalMs: number
  /** Dials at once. Default 4. */
  maxParallelDials: number
  /** Per dial. Default 10 s. */
  dialTimeoutMs: number
  /** First retry delay after a failed dial; doubles per failure up to `retryMaxMs`. Default 5 s. */
  retryBaseMs: number
  /** Default 5 min. */
  retryMaxMs: number
  /** Peers given per peer-exchange answer. Default 16. */
  exchangeSize: number
}

export const DEFAULT_PEER_KEEPER_CONFIG: Readonly<PeerKeeperConfig> = Object.freeze({
  minPeers: 6,
  maintenanceIntervalMs: 5_000,
  idleMaintenanceIntervalMs: 0,
  maxParallelDials: 4,
  dialTimeoutMs: 10_000,
  retryBaseMs: 5_000,
  retryMaxMs: 5 * 60_000,
  exchangeSize: 16
})

/** Peer-store tag marking a peer that speaks lightpool; survives restarts with the peer store. */
export const LIGHTPOOL_PEER_TAG = 'lightpool-peer'
const LAST_SEEN_KEY = 'lightpool/last-seen'
const MAX_ADDRS_PER_PEER = 8

export interface PeerKeeperComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface PeerKeeperInit {
  /** Multiaddrs of bootnodes, with /p2p/<peer id>. */
  bootstrap: string[]
  /** A protocol every lightpool peer of this network speaks: how peers are recognized. */
  lightpoolProtocol: string
  /** The peer-exchange protocol id. */
  exchangeProtocol: string
  /** Never dial (banned) peers. */
  isBanned: (peer: string) => boolean
  config?: Partial<PeerKeeperConfig>
}

interface Backoff { failures: number, nextAt: number }

export class PeerKeeper {
  readonly config: Readonly<PeerKeeperConfig>
  private readonly components: PeerKeeperComponents
  private readonly init: PeerKeeperInit
  private readonly log: Logger
  private readonly bootstrap: Array<{ addr: Multiaddr, peer?: string }>
  private readonly backoff = new Map<string, Backoff>()
  private readonly dialing = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | undefined
  /** when the pending timer fires (ms since the epoch) */
  private timerAt = 0
  /** the wait after the last round: maintenanceIntervalMs, doubled per round that gained nothing */
  private wait: number
  /** the last round left due dials undone (it dials at most maxParallelDials) */
  private dueLeft = false
  private running = false
  private maintaining = false
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(this.init.lightpoolProtocol)) void this.remember(evt.detail.peerId)
  }

  /** A peer came or went: what the rounds found may no longer hold, so the next comes at the normal pace. */
  private readonly onPeerChange = (): void => {
    this.wait = this.config.maintenanceIntervalMs
    if (this.timer !== undefined && this.timerAt > Date.now() + this.wait) this.schedule(this.wait)
  }

  constructor (components: PeerKeeperComponents, init: PeerKeeperInit) {
    this.components = components
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_PEER_KEEPER_CONFIG, ...init.config })
    this.wait = this.config.maintenanceIntervalMs
    this.log = components.logger.forComponent('lightpool:peers')
    this.bootstrap = init.bootstrap.map((s) => {
      const addr = multiaddr(s)
      const peer = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      return peer === undefined ? { addr } : { addr, peer }
    })
  }

  async start (): Promise<void> {
    this.running = true
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:connect', this.onPeerChange)
    this.components.events.addEventListener('peer:disconnect', this.onPeerChange)
    await this.components.registrar.handle(this.init.exchangeProtocol, this.serveExchange, { maxInboundStreams: 2, maxOutboundStreams: 2 })
  }

  afterStart (): void {
    this.schedule(0)
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:connect', this.onPeerChange)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerChange)
    await this.components.registrar.unhandle(this.init.exchangeProtocol)
  }

  /** The wait before the next round, as the rounds so far have set it: for tests and the bench. */
  get nextWaitMs (): number { return this.wait }

  /** Runs a round after `ms`, and schedules the next from what it found. */
  private schedule (ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = Date.now() + ms
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.maintain().then((gained) => {
        if (!this.running || this.timer !== undefined) return
        const longest = Math.max(this.config.maintenanceIntervalMs, this.config.idleMaintenanceIntervalMs)
        this.wait = gained || this.dueLeft ? this.config.maintenanceIntervalMs : Math.min(longest, this.wait * 2)
        this.schedule(Math.max(this.config.maintenanceIntervalMs, Math.min(this.wait, this.nextDialDue() - Date.now())))
      })
    }, ms)
  }

  /**
   * When the soonest backed-off dial may be tried again (Infinity if none
   * waits). Only future ones: one already due that the last round left alone
   * is no target now (connected, banned), or `dueLeft` covers it.
   */
  private nextDialDue (): number {
    const now = Date.now()
    let due = Infinity
    for (const b of this.backoff.values()) if (b.nextAt > now) due = Math.min(due, b.nextAt)
    return due
  }

  /**
   * One round of maintenance; exposed for tests and for a prompt redial after
   * a disconnect. True if it gained something: more peers connected than
   * before, or a peer learned by peer exchange that the peer store did not hold.
   */
  async maintain (): Promise<boolean> {
    if (!this.running || this.maintaining) return false
    this.maintaining = true
    try {
      const connected = this.connectedPeers()
      let need = this.config.minPeers - connected.size
      this.dueLeft = false
      if (need <= 0) return false
      const stored = await this.storedCandidates(connected)
      const targets: Array<{ key: string, dial: PeerId | Multiaddr }> = stored.map(id => ({ key: id.toString(), dial: id }))
      for (const b of this.bootstrap) {
        if (b.peer !== undefined && (connected.has(b.peer) || targets.some(t => t.key === b.peer))) continue
        targets.push({ key: b.peer ?? b.addr.toString(), dial: b.addr })
      }
      const now = Date.now()
      const due = targets.filter(t => !this.dialing.has(t.key) && (this.backoff.get(t.key)?.nextAt ?? 0) <= now && !this.init.isBanned(t.key))
      const batch = due.slice(0, Math.min(need, this.config.maxParallelDials))
      // more due than one round dials: the next round takes them, at the normal pace
      this.dueLeft = due.length > batch.length
      await Promise.all(batch.map(async t => { await this.dial(t.key, t.dial) }))
      const after = this.connectedPeers().size
      need = this.config.minPeers - after
      const learned = need > 0 ? await this.exchange() : 0
      return after > connected.size || learned > 0
    } catch (err) {
      this.log.error('peer maintenance failed - %e', err)
      return false
    } finally {
      this.maintaining = false
    }
  }

  private connectedPeers (): Set<string> {
    return new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
  }

  private async storedCandidates (connected: Set<string>): Promise<PeerId[]> {
    const self = this.components.peerId.toString()
    const peers = await this.components.peerStore.all({
      filters: [(p) => p.tags.has(LIGHTPOOL_PEER_TAG) && p.addresses.length > 0 && !connected.has(p.id.toString()) && p.id.toString() !== self]
    })
    const lastSeen = (p: { metadata: Map<string, Uint8Array> }): number => {
      const b = p.metadata.get(LAST_SEEN_KEY)
      return b?.byteLength === 8 ? Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)) : 0
    }
    return peers.sort((a, b) => lastSeen(b) - lastSeen(a)).map(p => p.id)
  }

  private async dial (key: string, target: PeerId | Multiaddr): Promise<void> {
    this.dialing.add(key)
    try {
      await this.components.connectionManager.openConnection(target, { signal: AbortSignal.timeout(this.config.dialTimeoutMs) })
      this.backoff.delete(key)
    } catch (err) {
      const prev = this.backoff.get(key)?.failures ?? 0
      const delay = backoffDelay(prev + 1, this.config.retryBaseMs, this.config.retryMaxMs)
      this.backoff.set(key, { failures: prev + 1, nextAt: Date.now() + delay })
      this.log('dial %s failed (%d in a row), retry in %d ms - %e', key, prev + 1, delay, err)
    } finally {
      this.dialing.delete(key)
    }
  }

  /** Marks a peer as a lightpool peer in the (persistent) peer store. */
  private async remember (peer: PeerId): Promise<void> {
    try {
      const seen = new Uint8Array(8)
      new DataView(seen.buffer).setBigUint64(0, BigInt(Date.now()))
      await this.components.peerStore.merge(peer, {
        tags: { [LIGHTPOOL_PEER_TAG]: { value: 50 } },
        metadata: { [LAST_SEEN_KEY]: seen }
      })
    } catch (err) {
      this.log.error('could not remember peer %p - %e', peer, err)
    }
  }

  /** Asks one connected lightpool peer for others, and stores what it says; resolves to how many of them the peer store did not hold. */
  private async exchange (): Promise<number> {
    const connections = this.components.connectionManager.getConnections()
    if (connections.length === 0) return 0
    let learned = 0
    const conn = connections[Math.floor(Math.random() * connections.length)]!
    try {
      const stream = await conn.newStream(this.init.exchangeProtocol, { signal: AbortSignal.timeout(this.config.dialTimeoutMs) })
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      const frame = await lp.read({ signal: AbortSignal.timeout(this.config.dialTimeoutMs) })
      await stream.close()
      const peers = decodePeerList(frame.subarray(), this.config.exchangeSize)
      const self = this.components.peerId.toString()
      for (const p of peers) {
        if (p.id === self || this.init.isBanned(p.id)) continue
        const id = peerIdFromString(p.id)
        if (!await this.components.peerStore.has(id)) learned++
        await this.components.peerStore.merge(id, {
          multiaddrs: p.addrs.map(a => multiaddr(a)),
          tags: { [LIGHTPOOL_PEER_TAG]: { value: 10 } }
        })
      }
    } catch (err) {
      this.log('peer exchange with %p failed - %e', conn.remotePeer, err)
    }
    return learned
  }

  private readonly serveExchange = async (stream: Stream, connection: Connection): Promise<void> => {
    try {
      const asker = connection.remotePeer.toString()
      const peers: Array<{ id: string, addrs: string[] }> = []
      for (const c of this.components.connectionManager.getConnections()) {
        const id = c.remotePeer.toString()
        if (id === asker || peers.some(p => p.id === id) || peers.length >= this.config.exchangeSize) continue
        const stored = await this.components.peerStore.get(c.remotePeer).catch(() => undefined)
        if (stored === undefined || !stored.tags.has(LIGHTPOOL_PEER_TAG)) continue
        // the addresses the peer listens on, direct ones first; relayed ones too (a
        // browser behind this relay has only those: `…/p2p-circuit/webrtc` is how
        // another browser reaches it); an asker without a transport for them fails
        // that dial at once and backs off, as for any undialable stored peer
        const all = stored.addresses.map(a => a.multiaddr.toString())
        const addrs = [...all.filter(a => !a.includes('/p2p-circuit')), ...all.filter(a => a.includes('/p2p-circuit'))].slice(0, MAX_ADDRS_PER_PEER)
        if (addrs.length > 0) peers.push({ id, addrs })
      }
      await lpStream(stream).write(encodePeerList(peers))
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}

const MAX_TEXT = 512

export function encodePeerList (peers: Array<{ id: string, addrs: string[] }>): Uint8Array {
  const enc = new TextEncoder()
  const w = new ByteWriter(1024).u8(1).u8(peers.length)
  for (const p of peers) {
    const id = enc.encode(p.id)
    w.u16(id.byteLength).bytes(id).u8(p.addrs.length)
    for (const a of p.addrs) {
      const b = enc.encode(a)
      w.u16(b.byteLength).bytes(b)
    }
  }
  return w.finish()
}

export function decodePeerList (bytes: Uint8Array, maxPeers: number): Array<{ id: string, addrs: string[] }> {
  const r = new ByteReader(bytes)
  if (r.u8('peers.version') !== 1) throw new DecodeError('peers.version', 'unsupported version')
  const count = r.u8('peers.count')
  if (count > maxPeers) throw new DecodeError('peers.count', `${count} exceeds the cap ${maxPeers}`)
  const out: Array<{ id: string, addrs: string[] }> = []
  for (let i = 0; i < count; i++) {
    const id = r.utf8(r.count16('peers.id', MAX_TEXT), 'peers.id')
    const n = r.u8('peers.addrCount')
    if (n > MAX_ADDRS_PER_PEER) throw new DecodeError('peers.addrCount', `${n} exceeds the cap ${MAX_ADDRS_PER_PEER}`)
    const addrs: string[] = []
    for (let j = 0; j < n; j++) addrs.push(r.utf8(r.count16('peers.addr', MAX_TEXT), 'peers.addr'))
    out.push({ id, addrs })
  }
  r.end('peers')
  return out
}
