/**
 * The feed server's journal: the most recent live items with their sequence
 * numbers, shared by every subscriber, bounded by bytes. A subscriber that
 * comes back after a short absence is sent the items after the last one it
 * applied from here, instead of a snapshot of the whole pool (server.ts).
 *
 * Items are copied into chunks (an item's own Uint8Array costs ~200 B of V8
 * heap beside its ~86 B, more than the item), each item costing one offset
 * (8 B) on top of its bytes; the oldest chunk goes as a whole once the
 * chunks and offsets pass `maxBytes`. So `maxBytes` bounds what the journal
 * holds, allocated space included.
 */
export class FeedJournal {
  private readonly maxBytes: number
  private readonly chunkBytes: number
  /** oldest first; every chunk's items are contiguous seqs, and so are the chunks' */
  private chunks: Chunk[] = []
  private heldBytes = 0
  private lastSeq = 0

  constructor (maxBytes: number) {
    this.maxBytes = Math.max(0, maxBytes)
    // ≥ 8 chunks in the budget, so dropping the oldest loses at most an eighth of it
    this.chunkBytes = Math.max(64, Math.min(MAX_CHUNK_BYTES, Math.floor(this.maxBytes / 8)))
  }

  /** The seq of the newest item appended (0: none yet). */
  get last (): number { return this.lastSeq }

  /** The seq of the oldest item held; `last + 1` when none is. */
  get first (): number { return this.chunks[0]?.firstSeq ?? this.lastSeq + 1 }

  /** Bytes held: chunks (allocated, not only filled) and offsets. At most `maxBytes`. */
  get bytes (): number { return this.heldBytes }

  /** Appends the item numbered `seq`, which must be `last + 1`, and lets go of the oldest chunks past the cap. */
  append (seq: number, item: Uint8Array): void {
    if (seq !== this.lastSeq + 1) throw new RangeError(`journal: seq ${seq} after ${this.lastSeq}`)
    this.lastSeq = seq
    if (item.byteLength + OFFSET_BYTES > this.maxBytes) {
      // it cannot be held, and the journal holds no gap: nothing before it can be served either
      this.chunks = []
      this.heldBytes = 0
      return
    }
    let chunk = this.chunks[this.chunks.length - 1]
    if (chunk === undefined || chunk.fill + item.byteLength > chunk.bytes.byteLength) {
      chunk = { bytes: new Uint8Array(Math.max(this.chunkBytes, item.byteLength)), fill: 0, firstSeq: seq, offsets: [] }
      this.chunks.push(chunk)
      this.heldBytes += chunk.bytes.byteLength
    }
    chunk.bytes.set(item, chunk.fill)
    chunk.offsets.push(chunk.fill)
    chunk.fill += item.byteLength
    this.heldBytes += OFFSET_BYTES
    while (this.heldBytes > this.maxBytes) {
      const old = this.chunks.shift()!
      this.heldBytes -= old.bytes.byteLength + OFFSET_BYTES * old.offsets.length
    }
  }

  /** Can the items from `from` to `last` be sent (`from = last + 1`: there are none to send)? */
  holds (from: number): boolean {
    return Number.isSafeInteger(from) && from >= this.first && from <= this.lastSeq + 1
  }

  /** Wire bytes of the held items from `from` to `to` (inclusive). */
  bytesBetween (from: number, to: number): number {
    if (to < from) return 0
    let bytes = 0
    for (const chunk of this.chunks) {
      const last = chunk.firstSeq + chunk.offsets.length - 1
      if (last < from || chunk.firstSeq > to) continue
      const i = Math.max(from, chunk.firstSeq) - chunk.firstSeq
      const j = Math.min(to, last) - chunk.firstSeq
      bytes += end(chunk, j) - chunk.offsets[i]!
    }
    return bytes
  }

  /**
   * The items from `from` (held) on, not past `to`: at least one, then as
   * many as fit `maxBytes`. Views into the journal's chunks, which are
   * never written over (only appended to, then dropped whole).
   */
  take (from: number, to: number, maxBytes: number): Uint8Array[] {
    if (!this.holds(from)) throw new RangeError(`journal: seq ${from} not held (${this.first}..${this.lastSeq})`)
    const out: Uint8Array[] = []
    let bytes = 0
    let seq = from
    for (const chunk of this.chunks) {
      const last = chunk.firstSeq + chunk.offsets.length - 1
      if (last < seq) continue
      for (let i = seq - chunk.firstSeq; i < chunk.offsets.length && seq <= to; i++, seq++) {
        const start = chunk.offsets[i]!
        const stop = end(chunk, i)
        if (out.length > 0 && bytes + stop - start > maxBytes) return out
        out.push(chunk.bytes.subarray(start, stop))
        bytes += stop - start
      }
      if (seq > to) break
    }
    return out
  }
}

interface Chunk {
  bytes: Uint8Array
  fill: number
  firstSeq: number
  /** where each item starts; it ends where the next starts, or at `fill` */
  offsets: number[]
}

function end (chunk: Chunk, i: number): number {
  return i + 1 < chunk.offsets.length ? chunk.offsets[i + 1]! : chunk.fill
}

/** A chunk holds ~750 announcements; 64 of them fill the default 4 MiB. */
const MAX_CHUNK_BYTES = 64 * 1024
/** Per item beyond its bytes: its offset, a number in a packed array. */
const OFFSET_BYTES = 8
