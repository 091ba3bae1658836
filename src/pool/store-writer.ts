import type { PoolStore, StoredTx } from './store.ts'

/**
 * Coalesces the pool's store changes into batches. Every put or delete made
 * while a batch is being written joins the next one, so a burst of N
 * admissions costs a couple of store transactions, not N. Only one batch is in
 * flight at a time, which keeps the store's view ordered.
 *
 * Until its batch lands, a put body is served from here, so a tx that the pool
 * holds can always be read back.
 */
export class StoreWriter {
  private readonly store: PoolStore
  /** Next batch: hash → record to put, or null to delete. The last operation on a hash wins. */
  private next = new Map<string, StoredTx | null>()
  private nextDone = settled()
  /** The batch being written, readable until it lands. */
  private inFlight = new Map<string, StoredTx | null>()
  private running: Promise<void> | undefined

  constructor (store: PoolStore) {
    this.store = store
  }

  /** Resolves once `record` is durable; rejects if the batch it joined failed. */
  put (record: StoredTx): Promise<void> {
    this.next.set(record.meta.hash, record)
    return this.schedule()
  }

  /** Resolves once the deletion is durable. */
  delete (hash: string): Promise<void> {
    this.next.set(hash, null)
    return this.schedule()
  }

  /** Resolves when every change made so far has been attempted. */
  async flush (): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  async getBody (hash: string): Promise<Uint8Array | undefined> {
    if (this.next.has(hash)) return this.next.get(hash)?.body
    if (this.inFlight.has(hash)) return this.inFlight.get(hash)?.body
    return await this.store.getBody(hash)
  }

  private schedule (): Promise<void> {
    const promise = this.nextDone.promise
    this.running ??= this.drain()
    return promise
  }

  private async drain (): Promise<void> {
    // yield once so a synchronous burst of changes lands in one batch
    await Promise.resolve()
    while (this.next.size > 0) {
      const done = this.nextDone
      this.inFlight = this.next
      this.next = new Map()
      this.nextDone = settled()
      const put: StoredTx[] = []
      const del: string[] = []
      for (const [hash, rec] of this.inFlight) {
        if (rec === null) del.push(hash)
        else put.push(rec)
      }
      try {
        await this.store.write({ put, delete: del })
        done.resolve()
      } catch (err) {
        // the puts' owners get the error and undo; deletions ride along with the
        // next batch, now if one is waiting, else whenever the next change comes
        const othersWaiting = this.next.size > 0
        for (const hash of del) if (!this.next.has(hash)) this.next.set(hash, null)
        done.reject(err)
        if (!othersWaiting) {
          this.inFlight = new Map()
          break
        }
      }
      this.inFlight = new Map()
    }
    this.running = undefined
  }
}

/**
 * A deferred whose rejection counts as handled: fire-and-forget deletes must
 * not crash Node. A caller that awaits the promise still gets the rejection;
 * this handler only marks it handled.
 */
function settled (): PromiseWithResolvers<void> {
  const d = Promise.withResolvers<void>()
  d.promise.catch(() => {})
  return d
}
