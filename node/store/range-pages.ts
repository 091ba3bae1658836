import type { Database as LmdbDatabase } from 'lmdb'

export interface RangeEntry { key: Uint8Array, value: Uint8Array }

export interface RangePagesOptions {
  /** First key (inclusive). Default: the beginning. */
  start?: Uint8Array
  /** Entries read per read transaction. Bounds memory: pageSize × largest value. */
  pageSize: number
}

/**
 * Walks a binary-keyed LMDB database in key order with range reads, one page
 * per short read transaction. Between pages no cursor or read transaction is
 * held, so the consumer may await, write, and delete what it was given while
 * walking, and a walk that lasts minutes (a pool reload re-verifying every
 * tx) does not pin old pages and grow the file. The next page starts after
 * the last key seen, so entries deleted or added meanwhile are handled by key.
 */
export function * rangePages (db: LmdbDatabase<Uint8Array, Uint8Array>, options: RangePagesOptions): Generator<RangeEntry> {
  let start = options.start
  let exclusiveStart = false
  for (;;) {
    const page: RangeEntry[] = []
    // iterate to the end (or the limit) right away, so the cursor is closed before we yield
    for (const { key, value } of db.getRange({ ...(start === undefined ? {} : { start }), exclusiveStart, limit: options.pageSize })) {
      page.push({ key: plain(key), value: plain(value) })
    }
    yield * page
    const last = page.at(-1)
    if (page.length < options.pageSize || last === undefined) return
    start = last.key
    exclusiveStart = true
  }
}

/** lmdb-js hands out Node Buffers (copies); view them as plain Uint8Arrays, as the rest of lightpool expects. */
export function plain (bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
