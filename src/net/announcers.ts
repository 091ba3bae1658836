import { LruCache } from '../util/lru.ts'

/**
 * Fewest hashes whose announcers are remembered, whatever the pool's count
 * cap: a small pool still needs to know who can serve the bodies it lists.
 */
const MIN_ANNOUNCER_HASHES = 1024

/**
 * Who announced (or listed with a body) each hash this node lacks the body of:
 * a light node's sources for an on-demand fetch, and the peers to blame when
 * the body turns out not to exist. The per-hash cap is the fetcher's
 * `maxSourcesPerHash`, so both keep the same peers.
 */
export class AnnouncerBook {
  private readonly byHash: LruCache<string, string[]>
  private readonly perHash: number

  constructor (hashes: number, perHash: number) {
    this.byHash = new LruCache(Math.max(MIN_ANNOUNCER_HASHES, hashes))
    this.perHash = perHash
  }

  /** Remembers `peer` as an announcer of `hash`; the oldest goes past the per-hash cap. */
  add (hash: string, peer: string): void {
    const list = this.byHash.get(hash) ?? []
    if (list.includes(peer)) return
    list.push(peer)
    if (list.length > this.perHash) list.shift()
    this.byHash.set(hash, list)
  }

  get (hash: string): readonly string[] {
    return this.byHash.get(hash) ?? []
  }
}
