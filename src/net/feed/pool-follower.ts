import type { Logger } from '@libp2p/interface'
import type { RemovalReason, TxPool } from '../../pool/pool.ts'
import type { TxMeta } from '../../tx/types.ts'
import { LruCache } from '../../util/lru.ts'
import { FINAL_REASONS, type FeedItem } from './codec.ts'
import type { FeedChecker } from './checker.ts'
import type { RelayFeed, RelaySet } from './relay-set.ts'

/**
 * Applies what the relays' feeds say to the light node's pool, so that it
 * lists what at least one subscribed relay lists:
 *
 * - an add lists the tx (metadata only, as light nodes do) unless it is
 *   pending already: duplicates across relays are dropped by hash, and a tx
 *   removed lately is not listed again by a slower relay;
 * - a removal for a final reason (mined, conflict, expired, invalid) removes
 *   the tx at once: it cannot come back; one for a local reason (replaced,
 *   evicted) removes it once no subscribed relay still lists it;
 * - a completed snapshot replaces the relay's view: what it no longer lists,
 *   and no other relay lists, left the pool meanwhile.
 */
export class PoolFollower {
  private readonly pool: TxPool
  private readonly relays: RelaySet
  private readonly checker: FeedChecker | undefined
  private readonly removed: LruCache<string, true>
  private readonly listed: (meta: TxMeta, from: string) => void
  private readonly log: Logger | undefined

  constructor (init: { pool: TxPool, relays: RelaySet, checker: FeedChecker | undefined, removedMemory: number, listed: (meta: TxMeta, from: string) => void, log: Logger | undefined }) {
    this.pool = init.pool
    this.relays = init.relays
    this.checker = init.checker
    this.removed = new LruCache(Math.max(1, init.removedMemory))
    this.listed = init.listed
    this.log = init.log
  }

  apply (relay: RelayFeed, item: FeedItem): void {
    const { pool } = this
    if (item.op === 'add') {
      const hash = item.meta.hash
      relay.counters.adds++
      this.checker?.listed(relay.peer, item.meta, this.relays.holders(hash))
      ;(relay.next ?? relay.view).add(hash)
      if (pool.has(hash)) {
        relay.counters.duplicates++
        return
      }
      if (this.removed.has(hash)) return
      // metadata only, as every light listing: bodies come on demand
      pool.add(item.meta).then((r) => {
        if (r.status === 'added') this.listed(item.meta, relay.peer)
      }, (err: Error) => { this.log?.('listing %s from %s failed - %e', hash, relay.peer, err) })
      return
    }
    relay.counters.removals++
    relay.view.delete(item.hash)
    relay.next?.delete(item.hash)
    if (FINAL_REASONS.has(item.reason) || !this.relays.heldBy(item.hash)) this.removeLocally(item.hash, item.reason)
  }

  /** A snapshot is complete: txs of the old view it no longer lists left that relay's pool. */
  endSnapshot (relay: RelayFeed): void {
    relay.counters.snapshots++
    const old = relay.view
    relay.view = relay.next ?? new Set()
    relay.next = undefined
    for (const hash of old) {
      if (!relay.view.has(hash) && !this.relays.heldBy(hash)) this.removeLocally(hash, 'removed')
    }
  }

  /** The relay is not to be believed: forget its view, and remove what only it listed. */
  dropView (relay: RelayFeed): void {
    const only = [...relay.view, ...(relay.next ?? [])].filter(h => !this.relays.heldBy(h, relay))
    relay.view = new Set()
    relay.next = undefined
    relay.cursor = undefined
    for (const hash of only) this.removeLocally(hash, 'invalid')
  }

  private removeLocally (hash: string, reason: RemovalReason): void {
    const { pool } = this
    this.removed.set(hash, true)
    this.checker?.forget(hash)
    this.relays.forget(hash)
    if (!pool.has(hash)) return
    // mined: the pool also remembers the nullifiers, so a late copy is refused
    if (reason === 'mined') pool.markMined({ hashes: [hash] })
    else pool.remove(hash, reason)
  }
}
