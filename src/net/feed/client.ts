import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2pEvents, PeerId, PeerStore, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { RemovalReason, TxPool } from '../../pool/pool.ts'
import type { TxLimits } from '../../tx/limits.ts'
import type { TxMeta } from '../../tx/types.ts'
import { deadline } from '../../util/deadline.ts'
import { Emitter } from '../../util/emitter.ts'
import { LruCache } from '../../util/lru.ts'
import {
  decodeServerFrame, encodeControlFrame, FEED_ACK, FEED_ITEMS, FEED_REFUSED, FEED_RESUMED, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START,
  FEED_SUBSCRIBE, FINAL_REASONS, maxItemsPerFrame, type FeedCursor, type FeedItem
} from './codec.ts'
import { pushTx, type PushResult } from './push.ts'
import { FeedChecker, type FeedCheckConfig, type RelayCheckStats } from './checker.ts'
import { FetchClient } from '../fetch-protocol.ts'
import { KIND_TX } from '../messages.ts'
import { ackInterval, DEFAULT_FEED_CLIENT_CONFIG, type FeedClientConfig } from './client-config.ts'

/**
 * The subscribing side of the light feed: a light node keeps feed
 * subscriptions to `subscriptions` full nodes (the ones named in `targets`
 * first, typically its relays; else any connected peer that speaks the feed
 * protocol) and applies what they push to its pool:
 *
 * - an add lists the tx (metadata only, as light nodes do) unless it is
 *   pending already: duplicates across relays are dropped by hash;
 * - a removal for a final reason (mined, conflict, expired, invalid) removes
 *   the tx at once: it cannot come back; one for a local reason (replaced,
 *   evicted) removes it once no subscribed relay still has it;
 * - a snapshot (at the first subscription, at a reconnect that cannot
 *   resume, and after the server's resync) is the relay's whole pool: what
 *   this node had from that relay and does not see again left the pool
 *   meanwhile, so a reconnect leaves no gap;
 * - a reconnect resumes: the client keeps the relay's view and the cursor of
 *   the last live item it applied from it (the relay's epoch and the item's
 *   seq) across the disconnect and sends the cursor with its SUBSCRIBE; a
 *   relay that still journals what came after answers RESUMED and sends just
 *   that, so a tab back from a network blip costs it a few items instead of
 *   a snapshot of its pool. Live items carry their seqs: one that does not
 *   follow the last applied (a gap) ends the subscription, and the next one
 *   starts without a cursor, with a snapshot.
 *
 * A subscription that ends is retried with a backoff; a refusing or failing
 * relay is passed over for another one meanwhile.
 */
export { DEFAULT_FEED_CLIENT_CONFIG, type FeedClientConfig } from './client-config.ts'


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
}

export interface RelayFeedStats extends RelayCheckStats {
  peer: string
  /** its listing failed a check: not subscribed to again until `distrustedUntil` */
  distrustedUntil?: number
  subscribed: boolean
  /** txs in this relay's pool, as its feed told us */
  listed: number
  frames: number
  bytes: number
  adds: number
  /** adds of txs already listed (from another relay, or its own snapshot) */
  duplicates: number
  removals: number
  /** snapshots received (the first, reconnects that could not resume and the server's resyncs) */
  snapshots: number
  /** reconnects resumed from the cursor (the relay sent what was missed, no snapshot) */
  resumes: number
  subscribedSince?: number
  /** why the last subscription to it ended, and when (what a page's stats show of a flapping feed) */
  lastEnded?: { at: number, reason: string }
}

export interface FeedClientEvents {
  /** a tx was listed from a relay's feed */
  'listed': { meta: TxMeta, from: string }
  'subscribed': { peer: string }
  'unsubscribed': { peer: string, reason: string }
}

interface Relay {
  peer: string
  /** txs in the relay's pool as of the last complete snapshot plus live items */
  view: Set<string>
  /** the view being rebuilt by a snapshot in progress */
  next: Set<string> | undefined
  /**
   * The last live item applied to `view` (the relay's epoch and the item's
   * seq), kept across a disconnect for the next SUBSCRIBE to resume from.
   * None while a snapshot is in progress, after a gap or distrust: the next
   * subscription takes a snapshot.
   */
  cursor: FeedCursor | undefined
  stream: Stream | undefined
  stats: Omit<RelayFeedStats, keyof RelayCheckStats>
  failures: number
  retryAt: number
}

export class FeedClient implements Startable {
  readonly config: Readonly<FeedClientConfig>
  readonly events = new Emitter<FeedClientEvents>()
  private readonly components: FeedClientComponents
  private readonly init: FeedClientInit
  private readonly relays = new Map<string, Relay>()
  private readonly removed: LruCache<string, true>
  private timer: ReturnType<typeof setInterval> | undefined
  private running = false
  private readonly checker: FeedChecker | undefined
  private readonly fetch: FetchClient | undefined

  constructor (components: FeedClientComponents, init: FeedClientInit) {
    this.components = components
    this.init = init
    this.config = Object.freeze({ ...DEFAULT_FEED_CLIENT_CONFIG, ...init.config })
    this.removed = new LruCache(Math.max(1, this.config.removedMemory))
    const check = init.check
    if (check !== undefined) {
      const fetch = new FetchClient(components.connectionManager, check.fetchProtocol, check.maxTxBytes, init.runOnLimitedConnection ?? false)
      this.fetch = fetch
      this.checker = new FeedChecker({
        ...(check.config === undefined ? {} : { config: check.config }),
        fetchFrom: async (peer, hash, signal) => {
          const [result] = await fetch.request(peerIdFromString(peer), KIND_TX, [hash], signal)
          if (result instanceof Uint8Array) return result
          if (result === 'missing') return 'missing'
          throw new Error('skipped')
        },
        verify: check.verify,
        unbacked: (peer, hash, why) => { this.distrust(peer, `listed ${hash}: ${why}`) },
        subscribedSince: () => new Map([...this.relays.values()].filter(r => r.stream !== undefined && r.stats.subscribedSince !== undefined).map(r => [r.peer, r.stats.subscribedSince!])),
        stillListed: (peer, hash) => {
          const relay = this.relays.get(peer)
          return relay !== undefined && (relay.view.has(hash) || relay.next?.has(hash) === true)
        }
      })
    }
  }

  readonly [Symbol.toStringTag] = 'lightpool-feed-client'

  start (): void {
    this.running = true
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { this.maintain() }, this.config.maintainIntervalMs)
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    if (this.timer !== undefined) clearInterval(this.timer)
    for (const relay of this.relays.values()) relay.stream?.abort(new Error('stopping'))
    this.fetch?.close()
  }

  /**
   * The user opened `hash`: check it against every relay that lists it
   * (resolves false if one could not back it, and that relay is distrusted).
   */
  async checkOpened (hash: string): Promise<boolean | undefined> {
    const meta = this.init.pool.get(hash)
    if (this.checker === undefined || meta === undefined) return undefined
    const verdicts = await Promise.all(this.holders(hash).map(async peer => await this.checker!.check(peer, meta)))
    return verdicts.includes(false) ? false : verdicts.includes(true) ? true : undefined
  }

  /** A relay listed what it could not back: drop it and what only it listed, and charge it. */
  private distrust (peer: string, detail: string): void {
    const relay = this.relays.get(peer)
    if (relay === undefined) return
    relay.stats.distrustedUntil = Date.now() + this.config.distrustMs
    relay.retryAt = relay.stats.distrustedUntil
    const only = [...relay.view, ...(relay.next ?? [])].filter(h => ![...this.relays.values()].some(r => r !== relay && r.stream !== undefined && (r.view.has(h) || r.next?.has(h) === true)))
    relay.view = new Set()
    relay.next = undefined
    relay.cursor = undefined
    relay.stream?.abort(new Error('distrusted'))
    for (const hash of only) this.removeLocally(hash, 'invalid')
    this.init.check?.distrust(peer, detail)
  }

  /** Peers currently subscribed to. */
  subscribed (): string[] {
    return [...this.relays.values()].filter(r => r.stream !== undefined).map(r => r.peer)
  }

  stats (): RelayFeedStats[] {
    return [...this.relays.values()].map(r => ({ ...r.stats, ...(this.checker?.of(r.peer) ?? { checked: 0, unbacked: 0, missed: 0, alone: 0 }), subscribed: r.stream !== undefined, listed: r.view.size }))
  }

  /**
   * Hands a tx to the subscribed relays by lightpush, one after another until
   * one answers. Undefined if none could be reached.
   */
  async push (bytes: Uint8Array, timeoutMs: number): Promise<{ relay: string, answer: PushResult } | undefined> {
    if (this.init.pushProtocol === undefined) return undefined
    for (const relay of this.subscribed()) {
      try {
        const answer = await pushTx(this.components.connectionManager, relay, this.init.pushProtocol, bytes, {
          signal: AbortSignal.timeout(timeoutMs),
          runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
        })
        return { relay, answer }
      } catch {
        // unreachable or broken: the next relay
      }
    }
    return undefined
  }

  /** Peers whose feed lists `hash` (an on-demand fetch asks them first). */
  holders (hash: string): string[] {
    return [...this.relays.values()].filter(r => r.stream !== undefined && (r.view.has(hash) || r.next?.has(hash) === true)).map(r => r.peer)
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(this.init.protocol)) this.maintain()
  }

  /** Subscribes to more relays while below `subscriptions`. */
  private maintain (): void {
    if (!this.running) return
    this.checker?.settle()
    let active = this.subscribed().length + [...this.relays.values()].filter(r => r.stream === undefined && r.retryAt === Infinity).length
    if (active >= this.config.subscriptions) return
    void this.candidates().then((peers) => {
      for (const peer of peers) {
        if (active >= this.config.subscriptions || !this.running) return
        // another search (the timer, an identify event) may have taken it meanwhile:
        // a second stream would make the relay close the first (it keeps a peer's newest)
        if (!this.idle(peer)) continue
        active++
        void this.subscribe(peer)
      }
    }).catch(() => {})
  }

  /** Connected feed servers not subscribed to and not backing off, `targets` first. */
  private async candidates (): Promise<string[]> {
    const now = Date.now()
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const out: string[] = []
    const ordered = [...this.config.targets.filter(t => connected.has(t)), ...[...connected].filter(p => !this.config.targets.includes(p))]
    for (const peer of ordered) {
      if (!this.idle(peer, now)) continue
      // a named relay is tried without waiting for identify (which a loaded
      // relay may answer late); one that does not speak the feed fails the
      // stream negotiation and backs off
      if (this.config.targets.includes(peer)) {
        out.push(peer)
        continue
      }
      try {
        const info = await this.components.peerStore.get(peerIdFromString(peer))
        if (info.protocols.includes(this.init.protocol)) out.push(peer)
      } catch {
        // not in the peer store yet: identify will call maintain again
      }
    }
    return out
  }

  /** Neither subscribed, nor subscribing, nor backing off. */
  private idle (peer: string, now = Date.now()): boolean {
    const relay = this.relays.get(peer)
    return relay === undefined || (relay.stream === undefined && relay.retryAt <= now)
  }

  private relay (peer: string): Relay {
    let relay = this.relays.get(peer)
    if (relay === undefined) {
      relay = {
        peer,
        view: new Set(),
        next: undefined,
        cursor: undefined,
        stream: undefined,
        failures: 0,
        retryAt: 0,
        stats: { peer, subscribed: false, listed: 0, frames: 0, bytes: 0, adds: 0, duplicates: 0, removals: 0, snapshots: 0, resumes: 0 }
      }
      this.relays.set(peer, relay)
    }
    return relay
  }

  private async subscribe (peer: string): Promise<void> {
    const relay = this.relay(peer)
    relay.retryAt = Infinity // in progress
    let stream: Stream | undefined
    let reason = 'ended'
    try {
      stream = await this.components.connectionManager.openStream(peerIdFromString(peer), this.init.protocol, {
        signal: AbortSignal.timeout(10_000),
        runOnLimitedConnection: this.init.runOnLimitedConnection ?? false
      })
      if (!this.running) throw new Error('stopping')
      relay.stream = stream
      const resume = relay.cursor
      stream.send(encodeControlFrame(resume === undefined ? { type: FEED_SUBSCRIBE } : { type: FEED_SUBSCRIBE, resume }))
      relay.stats.subscribedSince = Date.now()
      this.events.emit('subscribed', { peer })
      reason = await this.read(relay, stream, resume)
    } catch (err) {
      reason = (err as Error).message
      if ((err as Error).name === 'DecodeError' || (err as Error).name === 'InvalidDataLengthError') {
        this.init.penalize?.(peer, `feed frame: ${(err as Error).message}`)
      }
      stream?.abort(err as Error)
    } finally {
      relay.stream = undefined
      relay.next = undefined
      delete relay.stats.subscribedSince
      const lasted = (relay.stats.snapshots > 0 || relay.stats.resumes > 0) && reason === 'ended'
      relay.failures = lasted ? 1 : relay.failures + 1
      relay.retryAt = Date.now() + Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (relay.failures - 1))
      relay.stats.lastEnded = { at: Date.now(), reason }
      this.events.emit('unsubscribed', { peer, reason })
      // its view is kept (and its cursor, unless a snapshot was cut short): the
      // next subscription resumes from it, or its snapshot is compared against it
      this.maintain()
    }
  }

  /**
   * Reads frames until the stream ends; resolves with why it ended. `resume`:
   * the cursor the SUBSCRIBE carried. Throws on a protocol error (a frame out
   * of place, a gap in the live items' seqs).
   */
  private async read (relay: Relay, stream: Stream, resume: FeedCursor | undefined): Promise<string> {
    const lp = lpStream(stream, { maxDataLength: this.config.maxFrameBytes })
    const maxItems = maxItemsPerFrame(this.config.maxFrameBytes)
    let unacked = 0
    let ackEvery = this.config.ackEveryBytes
    /** live items may come: after SNAPSHOT_END or RESUMED on this stream */
    let live = false
    /** the cursor of the snapshot in progress, the relay's once it ends */
    let snapshotAt: FeedCursor | undefined
    while (this.running) {
      let bytes
      // one cleared timer per read: AbortSignal.timeout would leave one armed per frame for the whole silence timeout
      const silence = deadline(this.config.silenceTimeoutMs, 'no feed frame')
      try {
        bytes = await lp.read({ signal: silence.signal })
      } catch (err) {
        const name = (err as Error).name
        if (name === 'UnexpectedEOFError' || name === 'StreamResetError' || name === 'StreamStateError' || name === 'StreamClosedError') return 'ended'
        throw err
      } finally {
        silence.clear()
      }
      const frame = decodeServerFrame(bytes.subarray(), maxItems, this.init.limits)
      relay.stats.frames++
      relay.stats.bytes += bytes.byteLength
      if (frame.type === FEED_ITEMS) {
        if (frame.items.length > 0) {
          if (frame.seq === 0) {
            if (relay.next === undefined) throw new Error('snapshot items outside a snapshot')
          } else {
            if (!live || relay.cursor === undefined) throw new Error('live items before SNAPSHOT_END or RESUMED')
            if (frame.seq !== relay.cursor.seq + 1) {
              // the relay skipped items (or repeats some): what this node holds from it can no longer be trusted to match
              const last = relay.cursor.seq
              relay.cursor = undefined
              throw new Error(`feed gap: items from seq ${frame.seq} after ${last}`)
            }
            relay.cursor = { epoch: relay.cursor.epoch, seq: frame.seq + frame.items.length - 1 }
          }
          for (const item of frame.items) this.apply(relay, item)
        }
      } else if (frame.type === FEED_SNAPSHOT_START) {
        relay.next = new Set()
        // until it ends, the view is not one any cursor describes
        relay.cursor = undefined
        snapshotAt = { epoch: frame.epoch, seq: frame.seq }
        live = false
        ackEvery = ackInterval(frame.window, this.config.ackEveryBytes)
      } else if (frame.type === FEED_SNAPSHOT_END) {
        // an END without its START would take an empty view for the relay's pool and drop everything
        if (relay.next === undefined || snapshotAt === undefined) throw new Error('SNAPSHOT_END without SNAPSHOT_START')
        this.endSnapshot(relay)
        relay.cursor = snapshotAt
        snapshotAt = undefined
        live = true
      } else if (frame.type === FEED_RESUMED) {
        // only as the answer to this stream's cursor, and only first
        if (resume === undefined || live || relay.next !== undefined || relay.cursor !== resume || frame.epoch !== resume.epoch || frame.seq !== resume.seq) {
          throw new Error('RESUMED not answering this subscription\'s cursor')
        }
        relay.stats.resumes++
        live = true
        ackEvery = ackInterval(frame.window, this.config.ackEveryBytes)
      } else if (frame.type === FEED_REFUSED) {
        relay.failures += 3 // look elsewhere for a while
        return `refused: ${frame.code}`
      }
      unacked += bytes.byteLength
      if (unacked >= ackEvery) {
        stream.send(encodeControlFrame({ type: FEED_ACK, bytes: unacked }))
        unacked = 0
      }
    }
    stream.abort(new Error('stopping'))
    return 'stopping'
  }

  private apply (relay: Relay, item: FeedItem): void {
    const { pool } = this.init
    if (item.op === 'add') {
      const hash = item.meta.hash
      relay.stats.adds++
      this.checker?.listed(relay.peer, item.meta, this.holders(hash))
      ;(relay.next ?? relay.view).add(hash)
      if (pool.has(hash)) {
        relay.stats.duplicates++
        return
      }
      if (this.removed.has(hash)) return
      // metadata only, as every light listing: bodies come on demand
      void pool.add(item.meta).then((r) => {
        if (r.status === 'added') this.events.emit('listed', { meta: item.meta, from: relay.peer })
      }, () => {})
      return
    }
    relay.stats.removals++
    relay.view.delete(item.hash)
    relay.next?.delete(item.hash)
    if (FINAL_REASONS.has(item.reason) || !this.heldElsewhere(item.hash)) this.removeLocally(item.hash, item.reason)
  }

  /** A snapshot is complete: txs of the old view it no longer lists left that relay's pool. */
  private endSnapshot (relay: Relay): void {
    relay.stats.snapshots++
    const old = relay.view
    relay.view = relay.next ?? new Set()
    relay.next = undefined
    for (const hash of old) {
      if (!relay.view.has(hash) && !this.heldElsewhere(hash)) this.removeLocally(hash, 'removed')
    }
  }

  /** Does any live subscription still list `hash`? */
  private heldElsewhere (hash: string): boolean {
    for (const r of this.relays.values()) {
      if (r.stream !== undefined && (r.view.has(hash) || r.next?.has(hash) === true)) return true
    }
    return false
  }

  private removeLocally (hash: string, reason: RemovalReason): void {
    const { pool } = this.init
    this.removed.set(hash, true)
    this.checker?.forget(hash)
    for (const r of this.relays.values()) {
      r.view.delete(hash)
      r.next?.delete(hash)
    }
    if (!pool.has(hash)) return
    // mined: the pool also remembers the nullifiers, so a late copy is refused
    if (reason === 'mined') pool.markMined({ hashes: [hash] })
    else pool.remove(hash, reason)
  }
}

/** The libp2p service factory: `services: { feedClient: feedClient(init) }`. */
export function feedClient (init: FeedClientInit): (components: FeedClientComponents) => FeedClient {
  return (components) => new FeedClient(components, init)
}
