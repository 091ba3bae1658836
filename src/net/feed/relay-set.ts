import type { Stream } from '@libp2p/interface'
import { backoffDelay } from '../../util/backoff.ts'
import type { FeedCursor } from './codec.ts'
import type { RelayCheckStats } from './checker.ts'
import type { FeedClientConfig } from './client-config.ts'

/**
 * The relays a light node follows by the feed, each with an explicit state:
 *
 *   down ──subscribe──▶ subscribing ──SNAPSHOT_START──▶ resyncing ──END──▶ live
 *     ▲                      │        └──RESUMED────────────────────────▶ live
 *     └──────── the stream ends, is refused, fails (backoff) ◀───────────┘
 *
 * `down` is never a resting state while the relay is connected: the client
 * retries with a backoff, a new connection to the relay retries at once, and
 * the watchdog (client.ts) closes a connection that stays up without a feed.
 */
export type FeedState = 'down' | 'subscribing' | 'resyncing' | 'live'

/** One entry of a relay's feed history: what a page shows of a flapping feed. */
export interface FeedEvent {
  at: number
  event: 'subscribed' | 'snapshot' | 'resumed' | 'ended' | 'reset'
  /** why it ended (or why the backoff was reset) */
  reason?: string
}

export interface RelayFeedStats extends RelayCheckStats {
  peer: string
  /** its listing failed a check: not subscribed to again until `distrustedUntil` */
  distrustedUntil?: number
  subscribed: boolean
  /** live, resyncing (a snapshot coming in), subscribing, or down */
  state: FeedState
  /** since when it has been in `state` */
  stateSince: number
  /** down: when the next subscription is due */
  retryAt?: number
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
  /** subscriptions that ended */
  ends: number
  /** connections to it closed because its feed stayed down while they were up (the watchdog) */
  watchdogResets: number
  subscribedSince?: number
  /** why the last subscription to it ended, and when */
  lastEnded?: { at: number, reason: string }
  /** the last `historySize` subscriptions, ends and resets, oldest first */
  history: FeedEvent[]
}

/** A relay's per-relay counters, as kept (the checker's and the derived fields are added by `stats()`). */
type RelayCounters = Omit<RelayFeedStats, keyof RelayCheckStats | 'subscribed' | 'state' | 'stateSince' | 'retryAt' | 'listed' | 'history'>

export interface RelayFeed {
  readonly peer: string
  state: FeedState
  stateSince: number
  /** since when it has been neither live nor resyncing (undefined while it is): what the watchdog reads */
  unfedSince: number | undefined
  /** the last subscription was refused (the relay is full): backing off is right, the connection is fine */
  refused: boolean
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
  counters: RelayCounters
  history: FeedEvent[]
  failures: number
  /** when it may be subscribed to again (Infinity: a subscription is in progress) */
  retryAt: number
}

/** Does `relay`'s feed list `hash`, in its view or in the snapshot coming in? */
function lists (relay: RelayFeed, hash: string): boolean {
  return relay.view.has(hash) || relay.next?.has(hash) === true
}

/** A refusal counts as this many more failures: the next ask waits 2³ times longer. */
const REFUSED_EXTRA_FAILURES = 3

export class RelaySet {
  private readonly config: Readonly<FeedClientConfig>
  private readonly relays = new Map<string, RelayFeed>()

  constructor (config: Readonly<FeedClientConfig>) {
    this.config = config
  }

  get (peer: string): RelayFeed | undefined {
    return this.relays.get(peer)
  }

  /** The relay's entry, made on first use (state down, due now). */
  ensure (peer: string): RelayFeed {
    let relay = this.relays.get(peer)
    if (relay === undefined) {
      relay = {
        peer,
        state: 'down',
        stateSince: Date.now(),
        unfedSince: Date.now(),
        refused: false,
        view: new Set(),
        next: undefined,
        cursor: undefined,
        stream: undefined,
        failures: 0,
        retryAt: 0,
        history: [],
        counters: { peer, frames: 0, bytes: 0, adds: 0, duplicates: 0, removals: 0, snapshots: 0, resumes: 0, ends: 0, watchdogResets: 0 }
      }
      this.relays.set(peer, relay)
    }
    return relay
  }

  all (): IterableIterator<RelayFeed> {
    return this.relays.values()
  }

  stats (checks: (peer: string) => RelayCheckStats): RelayFeedStats[] {
    const now = Date.now()
    return [...this.relays.values()].map(r => ({
      ...r.counters,
      ...checks(r.peer),
      subscribed: r.stream !== undefined,
      state: r.state,
      stateSince: r.stateSince,
      ...(r.state === 'down' && r.retryAt > now && r.retryAt !== Infinity ? { retryAt: r.retryAt } : {}),
      listed: r.view.size,
      history: [...r.history]
    }))
  }

  /** Relays with a subscription open. */
  subscribed (): RelayFeed[] {
    return [...this.relays.values()].filter(r => r.stream !== undefined)
  }

  /** Subscriptions open or being opened: what counts against `subscriptions`. */
  active (): number {
    let n = 0
    for (const r of this.relays.values()) if (r.stream !== undefined || r.retryAt === Infinity) n++
    return n
  }

  /** Does `peer`'s feed list `hash`? */
  lists (peer: string, hash: string): boolean {
    const relay = this.relays.get(peer)
    return relay !== undefined && lists(relay, hash)
  }

  /** Subscribed relays, and since when. */
  subscribedSince (): Map<string, number> {
    const out = new Map<string, number>()
    for (const r of this.relays.values()) if (r.stream !== undefined && r.counters.subscribedSince !== undefined) out.set(r.peer, r.counters.subscribedSince)
    return out
  }

  /** Subscribed relays whose feed lists `hash`, `except` left out. */
  holders (hash: string, except?: RelayFeed): string[] {
    const out: string[] = []
    for (const r of this.relays.values()) if (r !== except && r.stream !== undefined && lists(r, hash)) out.push(r.peer)
    return out
  }

  /** Does any subscribed relay (but `except`) list `hash`? */
  heldBy (hash: string, except?: RelayFeed): boolean {
    for (const r of this.relays.values()) if (r !== except && r.stream !== undefined && lists(r, hash)) return true
    return false
  }

  /** Forgets `hash` in every relay's view. */
  forget (hash: string): void {
    for (const r of this.relays.values()) {
      r.view.delete(hash)
      r.next?.delete(hash)
    }
  }

  /** Neither subscribed, nor subscribing, nor backing off. */
  idle (peer: string, now = Date.now()): boolean {
    const relay = this.relays.get(peer)
    return relay === undefined || (relay.stream === undefined && relay.retryAt <= now)
  }

  setState (relay: RelayFeed, state: FeedState, now = Date.now()): void {
    if (relay.state === state) return
    const fed = state === 'live' || state === 'resyncing'
    if (fed) relay.unfedSince = undefined
    else relay.unfedSince ??= now
    if (fed) relay.refused = false
    relay.state = state
    relay.stateSince = now
  }

  record (relay: RelayFeed, event: FeedEvent): void {
    relay.history.push(event)
    if (relay.history.length > this.config.historySize) relay.history.splice(0, relay.history.length - this.config.historySize)
  }

  /**
   * A subscription ended: down, and due again after a backoff. One that had
   * got its snapshot or resumed and then simply ended starts the backoff
   * over; every other end (refused, failed, cut short) doubles it.
   */
  ended (relay: RelayFeed, reason: string, lasted: boolean, refused = false): void {
    const now = Date.now()
    relay.refused = refused
    relay.stream = undefined
    relay.next = undefined
    delete relay.counters.subscribedSince
    // a refusing relay is full: look elsewhere for a while
    relay.failures = (lasted ? 1 : relay.failures + 1) + (refused ? REFUSED_EXTRA_FAILURES : 0)
    const due = now + backoffDelay(relay.failures, this.config.retryBaseMs, this.config.retryMaxMs)
    // a distrusted relay waits out its distrust, whatever ended its stream
    relay.retryAt = Math.max(due, relay.counters.distrustedUntil ?? 0)
    relay.counters.ends++
    relay.counters.lastEnded = { at: now, reason }
    this.setState(relay, 'down', now)
    this.record(relay, { at: now, event: 'ended', reason })
  }

  /** The relay is reachable anew (a new connection): subscribe again at once, the backoff forgotten. */
  resetBackoff (peer: string, reason: string): void {
    const relay = this.relays.get(peer)
    if (relay === undefined || relay.stream !== undefined || relay.retryAt === Infinity) return
    if (relay.counters.distrustedUntil !== undefined && relay.counters.distrustedUntil > Date.now()) return
    relay.failures = 0
    relay.retryAt = 0
    this.record(relay, { at: Date.now(), event: 'reset', reason })
  }
}
