import type { TxMeta } from '../tx/types.ts'

/** One tx as the pool persists it: its metadata, and its body when this node holds it. */
export interface StoredTx {
  meta: TxMeta
  /** The tx's encoding. Absent for a light node's announced-only txs. */
  body?: Uint8Array
  /** Unix ms when this node first admitted it. */
  receivedAt: number
}

/** One atomic change: all of it lands, or none of it. */
export interface StoreBatch {
  put: StoredTx[]
  delete: string[]
}

/**
 * Where the pool keeps bodies (and metadata, to reload after a restart).
 * Implementations: memory (here), IndexedDB (web/), LMDB on disk (node/).
 *
 * Contract:
 * - `write` is atomic and durable: once its promise resolves, the batch
 *   survives a crash or a closed tab. The pool acknowledges a tx only then.
 * - It is called with one batch at a time (the pool's writer serializes them),
 *   so an implementation need not order concurrent writes.
 * - `entries` streams; a store with a million records must reload in bounded memory.
 * - A failed write rejects and leaves the store as it was before the batch
 *   (a store may land a batch's deletes alone when its room ran out: the
 *   pool has already let go of what they delete).
 * - A store knows nothing of policy: it never drops a record on its own. A
 *   store with limited room says how much (`budgetBytes`, in its own
 *   accounting, `recordBytes`), and the pool keeps within it by evicting its
 *   worst txs; a write that still does not fit rejects with StoreFullError,
 *   and the store's `budgetBytes` then says what does fit.
 * - A write that fails for the store's own reasons (a full disk, a damaged
 *   file), not the batch's, rejects with StoreWriteError, so a caller can tell
 *   "the node cannot store now" from a bug: the tx is refused, the node keeps
 *   serving.
 */
export interface PoolStore {
  write: (batch: StoreBatch) => Promise<void>
  getBody: (hash: string) => Promise<Uint8Array | undefined>
  entries: () => AsyncIterable<StoredTx>
  close: () => Promise<void>
  /** Most bytes the store can keep, as `recordBytes` counts them. Absent: as many as the pool's own caps allow. */
  readonly budgetBytes?: number
  /** What one record costs against `budgetBytes`. Present whenever `budgetBytes` is. */
  recordBytes?: (meta: TxMeta, hasBody: boolean) => number
}

/**
 * A write refused for want of room (a browser's quota, a budget): the store
 * is as it was before the batch. `budgetBytes` is what the store now knows it
 * can hold; the pool evicts down to it and tries again.
 */
export class StoreFullError extends Error {
  readonly budgetBytes: number

  constructor (problem: string, budgetBytes: number, options?: ErrorOptions) {
    super(`${problem}; the store now keeps under ${budgetBytes} bytes, and the pool evicts its worst txs down to that`, options)
    this.name = 'StoreFullError'
    this.budgetBytes = budgetBytes
  }
}

/** A write the store could not commit for its own reasons (full disk, I/O error, damaged file): nothing of the batch landed. */
export class StoreWriteError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StoreWriteError'
  }
}

/** A store in memory: for tests, and for a node that keeps nothing across restarts. */
export class MemoryPoolStore implements PoolStore {
  private readonly records = new Map<string, StoredTx>()

  get size (): number { return this.records.size }

  async write (batch: StoreBatch): Promise<void> {
    for (const hash of batch.delete) this.records.delete(hash)
    for (const rec of batch.put) this.records.set(rec.meta.hash, rec)
  }

  async getBody (hash: string): Promise<Uint8Array | undefined> {
    return this.records.get(hash)?.body
  }

  async * entries (): AsyncIterable<StoredTx> {
    yield * [...this.records.values()]
  }

  async close (): Promise<void> {}
}
