import { BTree } from '../util/btree.ts'
import { DEFAULT_TX_LIMITS, maxTxBytes } from '../tx/limits.ts'
import type { TxMeta } from '../tx/types.ts'
import { Emitter } from '../util/emitter.ts'
import { LruCache } from '../util/lru.ts'
import { ignored, type Refusal } from '../validation/rules.ts'
import { checkPolicy, type AdmissionPolicy } from './policy.ts'
import { MemoryPoolStore, type PoolStore, type StoredTx } from './store.ts'
import { StoreWriter } from './store-writer.ts'

export interface PoolConfig extends AdmissionPolicy {
  /** Most pending txs. Default 10 000. */
  maxCount: number
  /** Most bytes of pending txs (sum of encoded sizes). Default 512 MiB. */
  maxBytes: number
  /**
   * A tx that shares a nullifier with pending ones replaces them only if its fee
   * is at least this many percent above each of theirs (and strictly higher).
   * Without a bump, two txs could replace each other forever for free. Default 10.
   */
  replacementBumpPercent: number
  /** How many nullifiers of mined txs to remember, to refuse late txs that spend them. Default 10 000. */
  minedNullifierMemory: number
  /** How often `start()`ed pools sweep expired txs. Default 1 s. */
  sweepIntervalMs: number
}

export const DEFAULT_POOL_CONFIG: Readonly<PoolConfig> = Object.freeze({
  maxCount: 10_000,
  maxBytes: 512 * 1024 * 1024,
  replacementBumpPercent: 10,
  minedNullifierMemory: 10_000,
  sweepIntervalMs: 1_000,
  minFee: 1n,
  minTimeToLiveMs: 2_000,
  maxExpiryAheadMs: 24 * 60 * 60 * 1000,
  maxTxBytes: maxTxBytes(DEFAULT_TX_LIMITS)
})

/** A pending tx as the pool holds it. Treat as read-only. */
export interface PoolEntry extends TxMeta {
  /** Unix ms when this node admitted it. */
  readonly receivedAt: number
  /** Whether this node holds the body (always, on a full node; on demand, on a light one). */
  hasBody: boolean
}

export type RemovalReason =
  /** a tx with a shared nullifier outbid it */
  | 'replaced'
  /** the pool was full and a better tx needed the room */
  | 'evicted'
  | 'expired'
  /** included in a block */
  | 'mined'
  /** shares a nullifier with a mined tx */
  | 'conflict'
  /** its body turned out invalid (light nodes admit on announcement) */
  | 'invalid'
  /** the store could not persist it, so it was never acknowledged */
  | 'store-failed'
  /** removed by its owner */
  | 'removed'

export interface PoolEvents {
  added: { tx: PoolEntry, replaced: PoolEntry[], evicted: PoolEntry[] }
  removed: { tx: PoolEntry, reason: RemovalReason, by?: string }
  /** a light node obtained the body of a pending tx */
  body: { tx: PoolEntry }
  /**
   * an added tx is now durable in the store (and still pending): from here on
   * it may be announced, which is what the light feed waits for
   */
  stored: { tx: PoolEntry }
}

export type AdmissionCheck =
  | { ok: true, replaces: PoolEntry[], evicts: PoolEntry[] }
  | ({ ok: false } & Refusal)

export type AddResult =
  | { status: 'added', tx: PoolEntry, replaced: PoolEntry[], evicted: PoolEntry[] }
  | Refusal

export interface PoolStats {
  count: number
  bytes: number
  withBody: number
  maxCount: number
  maxBytes: number
  minFee: bigint
  /** The fee a new tx needs now: the configured floor, or above the worst pending tx when full. */
  feeFloor: bigint
}

export interface PoolPage {
  txs: PoolEntry[]
  /** Pass back as `cursor` for the next page; absent on the last page. */
  next?: string
}

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
  canAdmit (meta: TxMeta): AdmissionCheck {
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

    if (meta.size > this.config.maxBytes) return { ok: false, ...ignored('pool-full', 'larger than the whole pool') }
    let count = this.byHash.size + 1 - replaces.length
    let bytes = this.totalBytes + meta.size
    for (const old of replaces) bytes -= old.size
    const evicts: PoolEntry[] = []
    if (count > this.config.maxCount || bytes > this.config.maxBytes) {
      for (const [victim] of this.byRank.entriesReversed()) {
        if (replaces.includes(victim)) continue
        if (compareRank(meta, victim) >= 0) {
          return { ok: false, ...ignored('pool-full', `pool full and fee ${meta.fee} does not beat the worst pending (fee ${victim.fee})`) }
        }
        evicts.push(victim)
        count--
        bytes -= victim.size
        if (count <= this.config.maxCount && bytes <= this.config.maxBytes) break
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
    const check = this.canAdmit(meta)
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
        await this.writer.put(record)
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
      entry.hasBody = true
      this.withBody++
      await this.writer.put({ meta: entry, body, receivedAt: entry.receivedAt })
      this.events.emit('body', { tx: entry })
    }
    return true
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
    if (entry.hasBody) this.withBody--
    void this.writer.delete(entry.hash)
    this.events.emit('removed', by === undefined ? { tx: entry, reason } : { tx: entry, reason, by })
  }
}

function parseCursor (cursor: string): { fee: bigint, hash: string } {
  const m = /^(\d{1,20}):([0-9a-f]{64})$/.exec(cursor)
  if (m === null) throw new RangeError('invalid page cursor')
  return { fee: BigInt(m[1]!), hash: m[2]! }
}

function validateConfig (c: PoolConfig): void {
  const positiveInts: Array<keyof PoolConfig> = ['maxCount', 'maxBytes', 'sweepIntervalMs', 'maxTxBytes', 'minedNullifierMemory']
  for (const key of positiveInts) {
    const v = c[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`pool config ${key} must be a positive integer, got ${String(v)}`)
  }
  for (const key of ['minTimeToLiveMs', 'maxExpiryAheadMs', 'replacementBumpPercent'] as const) {
    if (!Number.isSafeInteger(c[key]) || c[key] < 0) throw new RangeError(`pool config ${key} must be a non-negative integer, got ${c[key]}`)
  }
  if (typeof c.minFee !== 'bigint' || c.minFee < 0n) throw new RangeError('pool config minFee must be a non-negative bigint')
}
