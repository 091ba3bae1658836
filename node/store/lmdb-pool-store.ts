import { type PoolStore, type StoreBatch, type StoredTx, isHash, toHex, DEFAULT_TX_LIMITS, type TxLimits } from '../../src/index.ts'
import type { Database } from './database.ts'
import { decodeRecord, encodeRecord, recordKey } from './pool-record.ts'
import { writeAtomically } from './atomic-write.ts'
import { plain, rangePages } from './range-pages.ts'

export interface LmdbPoolStoreInit {
  /**
   * The envelope limits the node runs with; a stored meta beyond them is
   * corrupt. Default DEFAULT_TX_LIMITS. Pass the node's own, or records of a
   * node with raised limits would be dropped at the next start.
   */
  limits?: TxLimits
  /** Told about each record that fails to decode (it is then skipped and deleted). Default: nothing. */
  onCorrupt?: (hash: string, error: unknown) => void
  /**
   * Told about each damaged stretch of the file that cannot be read at all (its
   * records are skipped, the reload goes on), with the hash of the last record
   * read before it. Default: nothing.
   */
  onUnreadable?: (after: string | undefined, error: unknown) => void
  /** Records read per LMDB range read in `entries()`. Memory is about this × the largest tx. Default 64. */
  pageSize?: number
}

/**
 * The pool's PoolStore on disk, in the `pool` sub-database of a Database.
 * Records are described in ./pool-record.ts; durability comes from the
 * environment settings in ./database.ts. `close()` ends this store only:
 * the Database, shared with libp2p's datastore, is closed by its owner.
 */
export class LmdbPoolStore implements PoolStore {
  private readonly database: Database
  private readonly limits: TxLimits
  private readonly onCorrupt: (hash: string, error: unknown) => void
  private readonly onUnreadable: (after: string | undefined, error: unknown) => void
  private readonly pageSize: number
  private closed = false

  constructor (database: Database, init: LmdbPoolStoreInit = {}) {
    this.database = database
    this.limits = init.limits ?? DEFAULT_TX_LIMITS
    this.onCorrupt = init.onCorrupt ?? (() => {})
    this.onUnreadable = init.onUnreadable ?? (() => {})
    this.pageSize = init.pageSize ?? 64
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new RangeError('pageSize must be a positive integer')
  }

  /** Atomic and durable: one LMDB transaction; resolves once it is committed and flushed to disk. */
  async write (batch: StoreBatch): Promise<void> {
    this.assertOpen()
    // encode everything first: a bad record rejects the batch before anything is written
    const puts = batch.put.map(rec => [recordKey(rec.meta.hash), encodeRecord(rec)] as const)
    // a delete of something that cannot be a hash has nothing to delete; refusing it
    // would fail this batch and, through the StoreWriter's retry, every later one
    const deletes = batch.delete.filter(isHash).map(recordKey)
    if (puts.length === 0 && deletes.length === 0) return
    const db = this.database.pool
    // deletes first, as MemoryPoolStore does: a hash both deleted and put ends up put
    const ops = [...deletes.map(key => ({ key })), ...puts.map(([key, value]) => ({ key, value }))]
    // deletes alone are let through on a nearly full disk: they are how the pool makes room
    await this.database.writes.run('pool write', async () => { await writeAtomically(db, ops) }, { grows: puts.length > 0 })
  }

  async getBody (hash: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    if (!isHash(hash)) return undefined
    const key = recordKey(hash)
    const value = this.database.pool.get(key)
    if (value === undefined) return undefined
    try {
      return decodeRecord(key, plain(value), this.limits).body
    } catch (err) {
      // not deleted here: the pool still holds this tx's entry and decides its fate
      this.onCorrupt(hash, err)
      return undefined
    }
  }

  /**
   * Every record in hash order, read a page at a time (see ./range-pages.ts).
   * A record that does not decode is reported, deleted and skipped; a stretch
   * that cannot be read at all is reported and skipped.
   */
  async * entries (): AsyncIterable<StoredTx> {
    this.assertOpen()
    const onUnreadable = (after: Uint8Array | undefined, err: unknown): void => { this.onUnreadable(after === undefined ? undefined : toHex(after), err) }
    for (const { key, value } of rangePages(this.database.pool, { pageSize: this.pageSize, onUnreadable })) {
      let record: StoredTx
      try {
        record = decodeRecord(key, value, this.limits)
      } catch (err) {
        this.onCorrupt(toHex(key), err)
        // if even the delete fails (a full disk), the record is still skipped, and met again at the next start
        await this.database.writes.run('deleting a corrupt pool record', async () => await this.database.pool.remove(key)).catch(() => {})
        continue
      }
      yield record
      if (this.closed) return
    }
  }

  /** Waits for this store's writes to be flushed; later calls reject. Does not close the Database. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    // a failed last write was already reported to its caller and counted by the WriteGuard
    if (!this.database.closed) await Promise.resolve(this.database.pool.flushed).catch(() => {})
  }

  private assertOpen (): void {
    if (this.closed) throw new Error('LmdbPoolStore is closed')
    if (this.database.closed) throw new Error(`the database in ${this.database.path} is closed`)
  }
}
