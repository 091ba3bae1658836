import { BTree } from '../util/btree.ts'
import type { TxMeta } from '../tx/types.ts'
import { Emitter } from '../util/emitter.ts'
import { LruCache } from '../util/lru.ts'
import { ignored } from '../tx/refusals.ts'
import { checkPolicy } from './policy.ts'
import { DEFAULT_POOL_CONFIG, validateConfig, type PoolConfig } from './config.ts'
import type { AddResult, AdmissionCheck, PoolEntry, PoolEvents, PoolPage, PoolStats, RemovalReason } from './types.ts'
import { MemoryPoolStore, StoreFullError, type PoolStore, type StoredTx } from './store.ts'
import { StoreWriter } from './store-writer.ts'

export { DEFAULT_POOL_CONFIG, type PoolConfig } from './config.ts'

export type { AddResult, AdmissionCheck, PoolEntry, PoolEvents, PoolPage, PoolStats, RemovalReason } from './types.ts'

export interface PoolInit {
  config?: Partial<PoolConfig>
  store?: PoolStore
  now?: () => number
  onListenerError?: (err: unknown, event: PropertyKey) => void
}

/** Better first: higher fee, then the smaller hash (a deterministic tie-break every node agrees on). */
export function compareRank (a: { fee: bigint, hash: string }, b: { fee: bigint, hash: string }): number {
  if (a.fee !== b.fee) return a.fee > b.fee ? -1 : 1
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

function compareExpiry (a: PoolEntry, b: PoolEntry): number {
  return a.expiresAt - b.expiresAt || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
}

/**
 * The bounded pool of pending txs. See ./README.md for the whole picture.
 * Every operation is O(log n) in the pool's size (eviction: O(k log n) for k victims).
 */
export class TxPool {
  readonly config: Readonly<PoolConfig>
  readonly events: Emitter<PoolEvents>
  private readonly now: () => number
  private readonly writer: StoreWriter
  private readonly store: PoolStore
  private readonly byHash = new Map<string, PoolEntry>()
  private readonly byRank = new BTree<PoolEntry, undefined>(undefined, compareRank)
  private readonly byExpiry = new BTree<PoolEntry, undefined>(undefined, compareExpiry)
  private readonly byNullifier = new Map<string, PoolEntry>()
  private readonly minedNullifiers: LruCache<string, true>
  private totalBytes = 0
  /** What the entries cost against the store's budget, in its accounting (0 for a store without one). */
  private storeBytes = 0
  private withBody = 0
  private sweepTimer: ReturnType<typeof setInterval> | undefined

  constructor (init: PoolInit = {}) {
    const config = { ...DEFAULT_POOL_CONFIG, ...init.config }
    validateConfig(config)
    this.config = Object.freeze(config)
    this.now = init.now ?? Date.now
    this.store = init.store ?? new MemoryPoolStore()
    this.writer = new StoreWriter(this.store)
    this.events = new Emitter<PoolEvents>(init.onListenerError)
    this.minedNullifiers = new LruCache(Math.max(1, config.minedNullifierMemory))
  }

  get size (): number { return this.byHash.size }
  get bytes (): number { return this.totalBytes }

  has (hash: string): boolean { return this.byHash.has(hash) }
  get (hash: string): PoolEntry | undefined { return this.byHash.get(hash) }

  /** The pending tx holding `nullifier`, if any. */
  byNullifierOf (nullifier: string): PoolEntry | undefined { return this.byNullifier.get(nullifier) }

  /**
   * Would `meta` be admitted now, and at whose expense? Needs metadata only,
   * so the network layer calls it before downloading a body.
   */
  canAdmit (meta: TxMeta, withBody = true): AdmissionCheck {
    const refusal = checkPolicy(meta, this.config, this.now())
    if (refusal !== undefined) return { ok: false, ...refusal }
    if (this.byHash.has(meta.hash)) return { ok: false, ...ignored('duplicate', 'already pending') }

    const replaces: PoolEntry[] = []
    for (const n of meta.nullifiers) {
      if (this.minedNullifiers.has(n)) return { ok: false, ...ignored('nullifier-spent', `nullifier ${n} was spent by a mined tx`) }
      const holder = this.byNullifier.get(n)
      if (holder !== undefined && !replaces.includes(holder)) replaces.push(holder)
    }
    const bump = BigInt(100 + this.config.replacementBumpPercent)
    for (const old of replaces) {
      if (!(meta.fee > old.fee && meta.fee * 100n >= old.fee * bump)) {
        return { ok: false, ...ignored('replacement-underpriced', `fee ${meta.fee} does not outbid ${old.hash} (fee ${old.fee}) by ${this.config.replacementBumpPercent}%`) }
      }
    }

    const storeCap = this.storeBudget()
    if (meta.size > this.config.maxBytes || this.footprint(meta, withBody) > storeCap) return { ok: false, ...ignored('pool-full', 'larger than the whole pool') }
    let count = this.byHash.size + 1 - replaces.length
    let bytes = this.totalBytes + meta.size
    let stored = this.storeBytes + this.footprint(meta, withBody)
    for (const old of replaces) {
      bytes -= old.size
      stored -= this.footprint(old, old.hasBody)
    }
    const evicts: PoolEntry[] = []
    if (count > this.config.maxCount || bytes > this.config.maxBytes || stored > storeCap) {
      for (const [victim] of this.byRank.entriesReversed()) {
        if (replaces.includes(victim)) continue
        if (compareRank(meta, victim) >= 0) {
          return { ok: false, ...ignored('pool-full', `pool full and fee ${meta.fee} does not beat the worst pending (fee ${victim.fee})`) }
        }
        evicts.push(victim)
        count--
        bytes -= victim.size
        stored -= this.footprint(victim, victim.hasBody)
        if (count <= this.config.maxCount && bytes <= this.config.maxBytes && stored <= storeCap) break
      }
    }
    return { ok: true, replaces, evicts }
  }

  /**
   * Admits a tx whose body (if given) has been validated. Applies at once in
   * memory (events fire synchronously) and resolves when the store has it
   * durably; only then may the tx be acknowledged or announced.
   *
   * `persisted: true` is for reloading from the store: nothing is rewritten,
   * and a record the pool now refuses is deleted from the store.
   */
  async add (meta: TxMeta, body?: Uint8Array, opts: { receivedAt?: number, persisted?: boolean } = {}): Promise<AddResult> {
    const check = this.canAdmit(meta, body !== undefined)
    if (!check.ok) {
      if (opts.persisted === true && check.rule !== 'duplicate') void this.writer.delete(meta.hash)
      return { status: check.status, rule: check.rule, message: check.message }
    }
    const entry: PoolEntry = {
      hash: meta.hash,
      size: meta.size,
      fee: meta.fee,
      expiresAt: meta.expiresAt,
      nullifiers: meta.nullifiers,
      receivedAt: opts.receivedAt ?? this.now(),
      hasBody: body !== undefined
    }
    for (const old of check.replaces) this.removeEntry(old, 'replaced', entry.hash)
    for (const old of check.evicts) this.removeEntry(old, 'evicted', entry.hash)
    this.insertEntry(entry)
    this.events.emit('added', { tx: entry, replaced: check.replaces, evicted: check.evicts })

    if (opts.persisted !== true) {
      const record: StoredTx = { meta, receivedAt: entry.receivedAt }
      if (body !== undefined) record.body = body
      try {
        await this.persist(entry, record)
      } catch (err) {
        if (this.byHash.get(entry.hash) === entry) this.removeEntry(entry, 'store-failed')
        throw err
      }
      if (this.byHash.get(entry.hash) === entry) this.events.emit('stored', { tx: entry })
    }
    return { status: 'added', tx: entry, replaced: check.replaces, evicted: check.evicts }
  }

  /**
   * Stores the body of a pending tx admitted without one (light mode). The
   * caller has validated it against the entry. Resolves false if the tx is no
   * longer pending.
   */
  async attachBody (hash: string, body: Uint8Array): Promise<boolean> {
    const entry = this.byHash.get(hash)
    if (entry === undefined) return false
    if (!entry.hasBody) {
      const growth = this.footprint(entry, true) - this.footprint(entry, false)
      entry.hasBody = true
      this.withBody++
      this.storeBytes += growth
      try {
        // the body may not fit beside what the store holds: worse txs make room, or it stays unattached
        if (this.storeBytes > this.storeBudget() && !this.evictForStore(entry)) throw new StoreFullError(`no room for the body of ${hash}`, this.storeBudget())
        await this.persist(entry, { meta: entry, body, receivedAt: entry.receivedAt })
      } catch (err) {
        if (this.byHash.get(hash) === entry && entry.hasBody) {
          entry.hasBody = false
          this.withBody--
          this.storeBytes -= growth
        }
        if (err instanceof StoreFullError) return false
        throw err
      }
      this.events.emit('body', { tx: entry })
    }
    return true
  }

  /**
   * Writes `entry`'s record. A store out of room (StoreFullError) has lowered
   * its budget: the pool evicts txs worse than this one down to it and tries
   * again, a bounded number of times.
   */
  private async persist (entry: PoolEntry, record: StoredTx): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writer.put(record)
        return
      } catch (err) {
        const retry = err instanceof StoreFullError && attempt < STORE_FULL_RETRIES &&
          this.byHash.get(entry.hash) === entry && this.evictForStore(entry)
        if (!retry) throw err
      }
    }
  }

  /** Evicts txs worse than `keep`, worst first, until the entries fit the store's budget. False if they cannot. */
  private evictForStore (keep: PoolEntry): boolean {
    const cap = this.storeBudget()
    while (this.storeBytes > cap) {
      const victim = this.byRank.maxKey()
      if (victim === undefined || compareRank(victim, keep) <= 0) return false
      this.removeEntry(victim, 'evicted', keep.hash)
    }
    return true
  }

  private storeBudget (): number {
    return this.store.recordBytes === undefined ? Infinity : this.store.budgetBytes ?? Infinity
  }

  private footprint (meta: TxMeta, hasBody: boolean): number {
    return this.store.recordBytes?.(meta, hasBody) ?? 0
  }

  /** The body of a pending tx, if this node holds it. */
  async getBody (hash: string): Promise<Uint8Array | undefined> {
    const entry = this.byHash.get(hash)
    if (entry?.hasBody !== true) return undefined
    return await this.writer.getBody(hash)
  }

  remove (hash: string, reason: RemovalReason = 'removed'): PoolEntry | undefined {
    const entry = this.byHash.get(hash)
    if (entry !== undefined) this.removeEntry(entry, reason)
    return entry
  }

  /**
   * Txs included in a block: removes them by hash, and every pending tx that
   * shares a nullifier with them or with `nullifiers` (it can no longer be
   * included). The nullifiers are remembered to refuse late arrivals.
   */
  markMined (mined: { hashes?: Iterable<string>, nullifiers?: Iterable<string> }): PoolEntry[] {
    const removed: PoolEntry[] = []
    const spent = new Set<string>(mined.nullifiers ?? [])
    for (const hash of mined.hashes ?? []) {
      const entry = this.byHash.get(hash)
      if (entry === undefined) continue
      for (const n of entry.nullifiers) spent.add(n)
      this.removeEntry(entry, 'mined')
      removed.push(entry)
    }
    for (const n of spent) {
      this.minedNullifiers.set(n, true)
      const holder = this.byNullifier.get(n)
      if (holder !== undefined) {
        this.removeEntry(holder, 'conflict')
        removed.push(holder)
      }
    }
    return removed
  }

  /**
   * Reloads the pool from its store after a restart, streaming (one window of
   * records in memory at a time). `revalidate` re-derives each record's
   * metadata from its body and checks it; a record it refuses, or that the
   * pool no longer admits (expired, caps lowered), is deleted from the store.
   */
  async restore (revalidate: (record: StoredTx) => Promise<TxMeta | undefined>, window = 16): Promise<{ restored: number, dropped: number }> {
    let restored = 0
    let dropped = 0
    const inFlight = new Set<Promise<void>>()
    const one = async (record: StoredTx): Promise<void> => {
      // a revalidation that throws (a body that no longer decodes) drops the record, as a refusal does
      const meta = await revalidate(record).catch(() => undefined)
      if (meta === undefined) {
        dropped++
        void this.writer.delete(record.meta.hash)
        return
      }
      const result = await this.add(meta, record.body, { receivedAt: record.receivedAt, persisted: true })
      if (result.status === 'added') restored++
      else dropped++
    }
    for await (const record of this.store.entries()) {
      const p = one(record).finally(() => inFlight.delete(p))
      inFlight.add(p)
      if (inFlight.size >= window) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
    await this.flush()
    return { restored, dropped }
  }

  /** Removes every tx whose expiry has passed. */
  sweepExpired (): PoolEntry[] {
    const now = this.now()
    const expired: PoolEntry[] = []
    for (const [entry] of this.byExpiry.entries()) {
      if (entry.expiresAt > now) break
      expired.push(entry)
    }
    for (const entry of expired) this.removeEntry(entry, 'expired')
    return expired
  }

  /** Pending txs, best first. Do not mutate the pool while iterating. */
  * best (): IterableIterator<PoolEntry> {
    for (const [entry] of this.byRank.entries()) yield entry
  }

  /** The tx a newcomer must beat when the pool is full. */
  worst (): PoolEntry | undefined {
    return this.byRank.maxKey()
  }

  /**
   * A page of pending txs, best first. The cursor names a rank position, not
   * a tx, so paging goes on correctly when the tx it stopped at has left.
   */
  page (opts: { cursor?: string, limit: number }): PoolPage {
    const limit = Math.max(0, Math.floor(opts.limit))
    const after = opts.cursor === undefined ? undefined : parseCursor(opts.cursor)
    const txs: PoolEntry[] = []
    let more = false
    for (const [entry] of this.byRank.entries(after as PoolEntry | undefined)) {
      if (after !== undefined && compareRank(entry, after) <= 0) continue
      if (txs.length === limit) {
        more = true
        break
      }
      txs.push(entry)
    }
    const last = txs.at(-1)
    return more && last !== undefined ? { txs, next: `${last.fee}:${last.hash}` } : { txs }
  }

  feeFloor (): bigint {
    const worst = this.worst()
    const full = this.byHash.size >= this.config.maxCount ||
      (worst !== undefined && this.totalBytes + worst.size > this.config.maxBytes)
    if (!full || worst === undefined) return this.config.minFee
    return worst.fee + 1n > this.config.minFee ? worst.fee + 1n : this.config.minFee
  }

  stats (): PoolStats {
    return {
      count: this.byHash.size,
      bytes: this.totalBytes,
      withBody: this.withBody,
      maxCount: this.config.maxCount,
      maxBytes: this.config.maxBytes,
      minFee: this.config.minFee,
      feeFloor: this.feeFloor()
    }
  }

  /** Starts the periodic expiry sweep. */
  start (): void {
    if (this.sweepTimer !== undefined) return
    this.sweepTimer = setInterval(() => { this.sweepExpired() }, this.config.sweepIntervalMs)
    ;(this.sweepTimer as { unref?: () => void }).unref?.()
  }

  /** Stops the sweep and waits until every change is written. Does not close the store. */
  async stop (): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    await this.flush()
  }

  /** Waits until every change made so far has reached the store. */
  async flush (): Promise<void> {
    await this.writer.flush()
  }

  private insertEntry (entry: PoolEntry): void {
    this.byHash.set(entry.hash, entry)
    this.byRank.set(entry, undefined)
    this.byExpiry.set(entry, undefined)
    for (const n of entry.nullifiers) this.byNullifier.set(n, entry)
    this.totalBytes += entry.size
    this.storeBytes += this.footprint(entry, entry.hasBody)
    if (entry.hasBody) this.withBody++
  }

  private removeEntry (entry: PoolEntry, reason: RemovalReason, by?: string): void {
    this.byHash.delete(entry.hash)
    this.byRank.delete(entry)
    this.byExpiry.delete(entry)
    for (const n of entry.nullifiers) {
      if (this.byNullifier.get(n) === entry) this.byNullifier.delete(n)
    }
    this.totalBytes -= entry.size
    this.storeBytes -= this.footprint(entry, entry.hasBody)
    if (entry.hasBody) this.withBody--
    void this.writer.delete(entry.hash)
    this.events.emit('removed', by === undefined ? { tx: entry, reason } : { tx: entry, reason, by })
  }
}

/**
 * Times a write refused for want of room is retried after evicting down to
 * the store's lowered budget. Each refusal lowers the budget further (the
 * IndexedDB store takes 10 % more off each time), so 4 reach any real quota.
 */
const STORE_FULL_RETRIES = 4

function parseCursor (cursor: string): { fee: bigint, hash: string } {
  const m = /^(\d{1,20}):([0-9a-f]{64})$/.exec(cursor)
  if (m === null) throw new RangeError('invalid page cursor')
  return { fee: BigInt(m[1]!), hash: m[2]! }
}
