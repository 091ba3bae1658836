import type { Database as LmdbDatabase } from 'lmdb'

export interface RangeEntry { key: Uint8Array, value: Uint8Array }

export interface RangePagesOptions {
  /** First key (inclusive). Default: the beginning. */
  start?: Uint8Array
  /** Entries read per read transaction. Bounds memory: pageSize × largest value. */
  pageSize: number
  /**
   * Told about each stretch of the database that cannot be read (a damaged
   * page: LMDB fails with MDB_CORRUPTED or lmdb-js with "Invalid key size"),
   * with the last key read before it. The walk goes on past it. Default: nothing.
   */
  onUnreadable?: (after: Uint8Array | undefined, error: unknown) => void
}

/**
 * Walks a binary-keyed LMDB database in key order with range reads, one page
 * per short read transaction. Between pages no cursor or read transaction is
 * held, so the consumer may await, write, and delete what it was given while
 * walking, and a walk that lasts minutes (a pool reload re-verifying every
 * tx) does not pin old pages and grow the file. The next page starts after
 * the last key seen, so entries deleted or added meanwhile are handled by key.
 *
 * A damaged page does not end the walk (measured: random bytes over one leaf
 * page made every start of the node exit 1 in the pool's reload). What comes
 * before it is read one entry at a time; then the walk skips ahead by key,
 * past the shortest prefix of the last good key whose successor reads again,
 * so it loses the damaged page's entries and as few others as it can.
 */
export function * rangePages (db: LmdbDatabase<Uint8Array, Uint8Array>, options: RangePagesOptions): Generator<RangeEntry> {
  let start = options.start
  let exclusiveStart = false
  for (;;) {
    let page: RangeEntry[]
    let damaged = false
    try {
      page = readPage(db, start, exclusiveStart, options.pageSize)
    } catch {
      // read up to the damage one entry at a time
      page = []
      damaged = true
      for (let s = start, ex = exclusiveStart; page.length < options.pageSize;) {
        let one: RangeEntry[]
        try {
          one = readPage(db, s, ex, 1)
        } catch (err) {
          options.onUnreadable?.(page.at(-1)?.key ?? s, err)
          break
        }
        if (one.length === 0) { damaged = false; break }
        page.push(one[0]!)
        s = one[0]!.key
        ex = true
      }
      if (page.length === options.pageSize) damaged = false
    }
    yield * page
    const last = page.at(-1)?.key ?? start
    if (damaged) {
      const resume = skipPast(db, last)
      if (resume === undefined) return
      start = resume
      exclusiveStart = false
      continue
    }
    if (page.length < options.pageSize || last === undefined) return
    start = last
    exclusiveStart = true
  }
}

function readPage (db: LmdbDatabase<Uint8Array, Uint8Array>, start: Uint8Array | undefined, exclusiveStart: boolean, limit: number): RangeEntry[] {
  const page: RangeEntry[] = []
  // iterate to the end (or the limit) right away, so the cursor is closed before we yield
  for (const { key, value } of db.getRange({ ...(start === undefined ? {} : { start }), exclusiveStart, limit })) {
    page.push({ key: plain(key), value: plain(value) })
  }
  return page
}

/** The smallest key past `key`'s longest prefix from which a read works again; undefined if none does. */
function skipPast (db: LmdbDatabase<Uint8Array, Uint8Array>, key: Uint8Array | undefined): Uint8Array | undefined {
  const base = key ?? new Uint8Array([0])
  for (let keep = base.byteLength; keep > 0; keep--) {
    const next = successorOfPrefix(base, keep)
    if (next === undefined) continue
    try {
      readPage(db, next, false, 1)
      return next
    } catch {
      // still inside the damage: drop one more byte of the prefix
    }
  }
  return undefined
}

/** The first key after every key that starts with key[0, keep): that prefix, plus one, with carry. */
function successorOfPrefix (key: Uint8Array, keep: number): Uint8Array | undefined {
  const next = key.slice(0, keep)
  for (let i = keep - 1; i >= 0; i--) {
    if (next[i]! < 0xff) {
      next[i] = next[i]! + 1
      return next.slice(0, i + 1)
    }
  }
  return undefined
}

/** lmdb-js hands out Node Buffers (copies); view them as plain Uint8Arrays, as the rest of lightpool expects. */
export function plain (bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
