import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb'
import { DEFAULT_TX_LIMITS, type TxLimits, decodeMeta, encodeMeta, META_FIXED_BYTES, type TxMeta, StoreFullError, type PoolStore, type StoreBatch, type StoredTx } from '../../src/index.ts'

/**
 * The pool's store in a browser tab: IndexedDB, through `idb`.
 *
 * Schema (one database per network and tab slot, see ../tab-slot.ts):
 *
 *   txs     key: hash (hex)     { hash, meta: encodeMeta bytes, receivedAt,
 *                                 hasBody, bytes, expiresAt }
 *           index rank          (v1) unused since the pool alone evicts: rows
 *                               no longer carry `rank`, so the index empties
 *                               as records are rewritten; a v3 may drop it
 *           index expiresAt     (v2) to drop expired records at open
 *   bodies  key: hash (hex)     the tx's encoding, for the txs that have one
 *   meta    key: name           'usage' → { bytes, count }: kept exact in every
 *                               write transaction, so nothing ever scans to sum
 *
 * Metadata and bodies are separate stores so that accounting and deletes
 * touch ~150-byte rows, never 40 KB bodies.
 *
 * Contract (src/pool/store.ts): a `write` is one readwrite transaction with
 * `durability: 'strict'` (all of it lands, or none of it, and it is on disk
 * when the promise resolves); `entries` streams in pages of `pageSize`, one
 * short read transaction each.
 *
 * Space: the store keeps under a byte budget, min(`budgetBytes`,
 * `quotaFraction` × the origin's quota from `navigator.storage.estimate()`),
 * and never drops a record on its own: the pool reads `budgetBytes` and
 * `recordBytes` and evicts its worst txs to stay within them. A write that
 * would still exceed the budget rejects with StoreFullError. So does one the
 * browser refuses with QuotaExceededError (the transaction aborted, nothing
 * landed), after the store has landed the batch's deletes alone (Chromium
 * refuses any transaction that puts a value while the origin is near its
 * quota, but deletes go through) and retried the puts once; it then lowers its
 * budget to what it learned fits, so the pool evicts down to it and retries.
 */
export interface IdbPoolStoreInit {
  /** Database name. Default "lightpool-pool". */
  name?: string
  /** Most bytes the store keeps (bodies, metadata and per-record overhead). Default 256 MiB. */
  budgetBytes?: number
  /** Share of the origin's quota the store may use. Default 0.5. */
  quotaFraction?: number
  /** Ask the browser not to evict this origin's data under storage pressure. Default true. */
  persist?: boolean
  /** Records per read transaction while streaming `entries()`. Default 64. */
  pageSize?: number
  /** Decoding limits for stored metadata. Default: the envelope defaults. */
  limits?: TxLimits
}

export interface StorageInfo {
  /** Bytes and records this store accounts for. */
  bytes: number
  count: number
  /** The ceiling the store keeps under. */
  budgetBytes: number
  /** The origin's usage and quota as the browser reports them, if it does. */
  originUsage?: number
  originQuota?: number
  /** Whether the browser granted persistent storage. */
  persisted?: boolean
  /** QuotaExceededErrors the browser raised since open. */
  quotaErrors: number
}

interface TxRow {
  hash: string
  meta: Uint8Array
  receivedAt: number
  hasBody: boolean
  /** Accounted bytes of this record: metadata, body and a fixed overhead. */
  bytes: number
  expiresAt: number
}

interface Usage { bytes: number, count: number }

interface PoolDb extends DBSchema {
  txs: { key: string, value: TxRow, indexes: { rank: ArrayBuffer, expiresAt: number } }
  bodies: { key: string, value: Uint8Array }
  meta: { key: string, value: Usage }
}

type WriteTx = IDBPTransaction<PoolDb, Array<'txs' | 'bodies' | 'meta'>, 'readwrite'>

const SCHEMA_VERSION = 2
const DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024
/** Keys, index entries and structured-clone framing per record, roughly; keeps the budget honest for small records. */
const RECORD_OVERHEAD_BYTES = 256
const USAGE_KEY = 'usage'
/**
 * How much below what it held the budget drops at each QuotaExceededError in
 * a row: 10 % of usage per strike, so a few strikes reach any real quota
 * without throwing away most of the pool on the first.
 */
const QUOTA_MARGIN_FRACTION = 0.1

/**
 * Schema migrations, in order. `upgrade` runs every one newer than the
 * database's version inside the version-change transaction, so an upgrade
 * is atomic too: a tab closed mid-upgrade reopens at the old version.
 */
const MIGRATIONS: Array<{ version: number, apply: (db: IDBPDatabase<PoolDb>, tx: IDBPTransaction<PoolDb, Array<'txs' | 'bodies' | 'meta'>, 'versionchange'>) => void }> = [
  {
    // v1: records, bodies, exact usage, eviction order
    version: 1,
    apply: (db) => {
      const txs = db.createObjectStore('txs', { keyPath: 'hash' })
      txs.createIndex('rank', 'rank')
      db.createObjectStore('bodies')
      db.createObjectStore('meta')
    }
  },
  {
    // v2: expiry index, so expired records are dropped at open without reading the rest
    version: 2,
    apply: (_db, tx) => {
      tx.objectStore('txs').createIndex('expiresAt', 'expiresAt')
    }
  }
]

function isQuotaError (err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name
  return name === 'QuotaExceededError' || (err as { code?: number } | null)?.code === 22
}

export class IdbPoolStore implements PoolStore {
  readonly name: string
  private readonly db: IDBPDatabase<PoolDb>
  private readonly pageSize: number
  private readonly limits: TxLimits
  private readonly configuredBudget: number
  private budget: number
  private originQuota: number | undefined
  private originUsage: number | undefined
  private persisted: boolean | undefined
  private quotaErrors = 0
  /** QuotaExceededErrors since the last write that landed. */
  private quotaStrikes = 0
  private closed = false
  /** Set when another tab upgrades the schema: this connection was closed for it. */
  private superseded = false

  private constructor (db: IDBPDatabase<PoolDb>, init: IdbPoolStoreInit, name: string) {
    this.db = db
    this.name = name
    this.pageSize = Math.max(1, init.pageSize ?? 64)
    this.limits = init.limits ?? DEFAULT_TX_LIMITS
    this.configuredBudget = init.budgetBytes ?? DEFAULT_BUDGET_BYTES
    this.budget = this.configuredBudget
  }

  /** Opens (creating or upgrading) the database, asks for persistent storage, sizes the budget and drops expired records. */
  static async open (init: IdbPoolStoreInit = {}): Promise<IdbPoolStore> {
    const name = init.name ?? 'lightpool-pool'
    let store: IdbPoolStore | undefined
    const db = await openDB<PoolDb>(name, SCHEMA_VERSION, {
      upgrade (db, oldVersion, _newVersion, tx) {
        for (const m of MIGRATIONS) if (oldVersion < m.version) m.apply(db, tx)
      },
      blocking () {
        // another tab opens a newer schema: step aside rather than block it forever
        if (store !== undefined) store.superseded = true
        db.close()
      }
    })
    store = new IdbPoolStore(db, init, name)
    await store.sizeBudget(init.persist ?? true, init.quotaFraction ?? 0.5)
    // expired records would be dropped by the pool's restore anyway; this just saves reading them
    await store.dropExpired(Date.now()).catch(() => {})
    return store
  }

  private async sizeBudget (persist: boolean, fraction: number): Promise<void> {
    const storage = (globalThis as { navigator?: Navigator }).navigator?.storage
    if (storage === undefined) return
    try {
      if (persist && typeof storage.persist === 'function') this.persisted = await storage.persisted() || await storage.persist()
      const estimate = await storage.estimate()
      this.originQuota = estimate.quota
      this.originUsage = estimate.usage
      if (estimate.quota !== undefined && estimate.quota > 0) {
        this.budget = Math.min(this.configuredBudget, Math.floor(estimate.quota * fraction))
      }
    } catch {
      // a browser that refuses to say keeps the configured budget; QuotaExceededError still guards
    }
  }

  get budgetBytes (): number { return this.budget }

  /** What one record costs against the budget: its metadata row, its body, and a fixed overhead. */
  recordBytes (meta: TxMeta, hasBody: boolean): number {
    return RECORD_OVERHEAD_BYTES + META_FIXED_BYTES + 32 * meta.nullifiers.length + (hasBody ? meta.size : 0)
  }

  async write (batch: StoreBatch): Promise<void> {
    this.checkOpen()
    try {
      await this.apply(batch)
    } catch (err) {
      if (!isQuotaError(err)) throw err
      this.quotaErrors++
      // the transaction aborted: nothing of the batch landed. Its deletes alone go through on an origin
      // near its quota, and may make room for its puts.
      let refusal: unknown = err
      if (batch.delete.length > 0 && batch.put.length > 0) {
        await this.deleteOnly(batch.delete)
        try {
          await this.apply({ put: batch.put, delete: [] })
          this.quotaStrikes = 0
          return
        } catch (again) {
          if (!isQuotaError(again)) throw again
          this.quotaErrors++
          refusal = again
        }
      }
      // what the browser holds is less than we thought: keep under less from now on
      this.quotaStrikes++
      const usage = await this.usage()
      this.budget = Math.max(0, Math.min(this.budget, usage.bytes) - Math.ceil(usage.bytes * QUOTA_MARGIN_FRACTION * this.quotaStrikes))
      throw new StoreFullError(`the browser refused to store more (${(refusal as Error).name})`, this.budget, { cause: refusal })
    }
    this.quotaStrikes = 0
  }

  /** One atomic, durable transaction: deletes, puts and usage; refused whole if it would leave the store over its budget. */
  private async apply (batch: StoreBatch): Promise<void> {
    // encode first: a record that cannot be encoded fails the batch before any request
    const rows = batch.put.map(rec => ({ rec, row: this.toRow(rec) }))
    await inTransaction(this.db, async (tx) => {
      const txs = tx.objectStore('txs')
      const bodies = tx.objectStore('bodies')
      const usage = await readUsage(tx)
      const hashes = [...batch.delete, ...rows.map(r => r.row.hash)]
      const old = await Promise.all(hashes.map(async h => await txs.get(h)))
      const previous = new Map<string, TxRow>()
      hashes.forEach((h, i) => { const row = old[i]; if (row !== undefined) previous.set(h, row) })
      const pending: Array<Promise<unknown>> = []
      for (const hash of batch.delete) {
        const row = previous.get(hash)
        if (row === undefined) continue
        previous.delete(hash)
        usage.bytes -= row.bytes
        usage.count--
        pending.push(txs.delete(hash), bodies.delete(hash))
      }
      for (const { rec, row: next } of rows) {
        const hash = next.hash
        const row = previous.get(hash)
        if (row !== undefined) {
          usage.bytes -= row.bytes
          usage.count--
          previous.delete(hash)
        }
        usage.bytes += next.bytes
        usage.count++
        pending.push(txs.put(next))
        if (rec.body !== undefined) pending.push(bodies.put(rec.body, hash))
        else if (row?.hasBody === true) pending.push(bodies.delete(hash))
      }
      await Promise.all(pending)
      // deletes never fail for want of room: only a batch that grows the store is held to the budget
      if (rows.length > 0 && usage.bytes > this.budget) throw new StoreFullError(`a batch of ${rows.length} records would hold ${usage.bytes} bytes`, this.budget)
      await tx.objectStore('meta').put(usage, USAGE_KEY)
    })
  }

  /**
   * Deletes records in a transaction of deletes only: Chromium refuses *any*
   * transaction that puts a value while the origin is at its quota, so the
   * usage row is deleted with them and rewritten after, once there is room.
   * If that second step never happens, the missing row is recomputed from the rows.
   */
  private async deleteOnly (hashes: string[]): Promise<void> {
    const { n, usage } = await inTransaction(this.db, async (tx) => {
      const usage = await readUsage(tx)
      const rows = await Promise.all(hashes.map(async h => await tx.objectStore('txs').get(h)))
      let n = 0
      const pending: Array<Promise<unknown>> = []
      for (const row of rows) {
        if (row === undefined) continue
        usage.bytes -= row.bytes
        usage.count--
        n++
        pending.push(tx.objectStore('txs').delete(row.hash), tx.objectStore('bodies').delete(row.hash))
      }
      await Promise.all(pending)
      if (n > 0) await tx.objectStore('meta').delete(USAGE_KEY)
      return { n, usage }
    })
    if (n > 0) await this.putUsage(usage)
  }

  private async putUsage (usage: Usage): Promise<void> {
    try {
      await inTransaction(this.db, async (tx) => { await tx.objectStore('meta').put(usage, USAGE_KEY) })
    } catch {
      // still no room: the next write recomputes it
    }
  }

  private toRow (rec: StoredTx): TxRow {
    return {
      hash: rec.meta.hash,
      meta: encodeMeta(rec.meta),
      receivedAt: rec.receivedAt,
      hasBody: rec.body !== undefined,
      bytes: this.recordBytes(rec.meta, rec.body !== undefined),
      expiresAt: rec.meta.expiresAt
    }
  }

  async getBody (hash: string): Promise<Uint8Array | undefined> {
    this.checkOpen()
    return await this.db.get('bodies', hash)
  }

  /** Streams every record, one read transaction per page (bounded memory, no transaction held across yields). */
  async * entries (): AsyncIterable<StoredTx> {
    this.checkOpen()
    let after: string | undefined
    const corrupt: string[] = []
    while (true) {
      const tx = this.db.transaction(['txs', 'bodies'], 'readonly')
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true)
      const rows = await tx.objectStore('txs').getAll(range, this.pageSize)
      const bodies = await Promise.all(rows.map(async r => r.hasBody ? await tx.objectStore('bodies').get(r.hash) : undefined))
      await tx.done
      const page: StoredTx[] = []
      rows.forEach((row, i) => {
        try {
          const meta = decodeMeta(row.meta, this.limits)
          if (meta.hash !== row.hash) throw new Error(`record under ${row.hash} holds ${meta.hash}`)
          const body = bodies[i]
          page.push(body === undefined ? { meta, receivedAt: row.receivedAt } : { meta, receivedAt: row.receivedAt, body })
        } catch {
          corrupt.push(row.hash)
        }
      })
      for (const rec of page) yield rec
      if (rows.length < this.pageSize) break
      after = rows[rows.length - 1]!.hash
    }
    // a record that cannot be read would fail every reload: drop it
    if (corrupt.length > 0 && !this.closed) await this.write({ put: [], delete: corrupt })
  }

  /** Drops records whose expiry has passed, through the expiry index (reads only what it deletes). */
  async dropExpired (now: number): Promise<number> {
    const { n, usage } = await inTransaction(this.db, async (tx) => {
      const usage = await readUsage(tx)
      let n = 0
      let cursor = await tx.objectStore('txs').index('expiresAt').openCursor(IDBKeyRange.upperBound(now))
      while (cursor !== null) {
        usage.bytes -= cursor.value.bytes
        usage.count--
        n++
        await Promise.all([cursor.delete(), tx.objectStore('bodies').delete(cursor.value.hash)])
        cursor = await cursor.continue()
      }
      // deletes only (see deleteOnly): it must work even on an origin over its quota
      if (n > 0) await tx.objectStore('meta').delete(USAGE_KEY)
      return { n, usage }
    })
    if (n > 0) await this.putUsage(usage)
    return n
  }

  /** Exact bytes and records held (one read, no scan). */
  async usage (): Promise<Usage> {
    this.checkOpen()
    const row = await this.db.get('meta', USAGE_KEY)
    if (row !== undefined) return row
    const tx = this.db.transaction(['txs', 'meta'], 'readonly')
    const usage = await sumRows(tx.objectStore('txs'))
    await tx.done
    return usage
  }

  async info (): Promise<StorageInfo> {
    const usage = await this.usage()
    const out: StorageInfo = { ...usage, budgetBytes: this.budget, quotaErrors: this.quotaErrors }
    const storage = (globalThis as { navigator?: Navigator }).navigator?.storage
    try {
      const estimate = await storage?.estimate()
      if (estimate?.usage !== undefined) this.originUsage = estimate.usage
      if (estimate?.quota !== undefined) this.originQuota = estimate.quota
    } catch {
      // estimate() only informs: refused (private mode, an old browser), the last known figures stand
    }
    if (this.originUsage !== undefined) out.originUsage = this.originUsage
    if (this.originQuota !== undefined) out.originQuota = this.originQuota
    if (this.persisted !== undefined) out.persisted = this.persisted
    return out
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }

  private checkOpen (): void {
    if (this.closed) throw new Error(`pool store ${this.name} is closed`)
    if (this.superseded) throw new Error(`pool store ${this.name} was closed for a newer version opened in another tab: reload this one`)
  }
}

/**
 * Runs `fn` in one readwrite transaction (strict durability) and resolves
 * with its result once the transaction has committed. If `fn` throws, the
 * transaction is aborted: nothing it did lands.
 */
async function inTransaction<T> (db: IDBPDatabase<PoolDb>, fn: (tx: WriteTx) => Promise<T>): Promise<T> {
  const tx = db.transaction(['txs', 'bodies', 'meta'], 'readwrite', { durability: 'strict' })
  const work = fn(tx).catch((err: unknown) => {
    try { tx.abort() } catch {} // already committed or aborted: over either way, and `err` is the one to report
    throw err
  })
  // settle both before deciding: an aborted transaction rejects both, and the
  // transaction's own error (QuotaExceededError at commit) says the most
  const [result, done] = await Promise.allSettled([work, tx.done])
  if (done.status === 'rejected' && isQuotaError(done.reason)) throw done.reason
  if (result.status === 'rejected') throw result.reason
  if (done.status === 'rejected') throw done.reason
  return result.value
}

/** The usage row, or, if it is missing (first use, or a crash between an eviction's two steps), the sum over the metadata rows. */
async function readUsage (tx: WriteTx): Promise<Usage> {
  return (await tx.objectStore('meta').get(USAGE_KEY)) ?? await sumRows(tx.objectStore('txs'))
}

async function sumRows (txs: { openCursor: () => Promise<{ value: TxRow, continue: () => Promise<unknown> } | null> }): Promise<Usage> {
  const usage = { bytes: 0, count: 0 }
  let cursor = await txs.openCursor()
  while (cursor !== null) {
    usage.bytes += cursor.value.bytes
    usage.count++
    cursor = await cursor.continue() as typeof cursor
  }
  return usage
}
