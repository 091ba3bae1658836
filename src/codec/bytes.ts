/**
 * Bounds-checked binary reading and writing, shared by every wire format in
 * lightpool (tx envelope, announcements, fetch and sync messages).
 *
 * All integers are big-endian. A reader never allocates based on a length it
 * has not checked against an explicit cap first, and `end()` refuses trailing
 * bytes, so every format decodes strictly: one encoding per value.
 */

/** A value could not be decoded. `field` names what was being read. */
export class DecodeError extends Error {
  readonly field: string
  constructor (field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'DecodeError'
    this.field = field
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export class ByteReader {
  private readonly input: Uint8Array
  private readonly view: DataView
  private offset = 0

  constructor (bytes: Uint8Array) {
    this.input = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get position (): number { return this.offset }
  get remaining (): number { return this.input.byteLength - this.offset }

  private need (n: number, field: string): void {
    if (n > this.remaining) {
      throw new DecodeError(field, `truncated: needs ${n} bytes, ${this.remaining} left`)
    }
  }

  u8 (field: string): number {
    this.need(1, field)
    return this.view.getUint8(this.offset++)
  }

  u16 (field: string): number {
    this.need(2, field)
    const v = this.view.getUint16(this.offset)
    this.offset += 2
    return v
  }

  u32 (field: string): number {
    this.need(4, field)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }

  u64 (field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.offset)
    this.offset += 8
    return v
  }

  /** A u64 that must fit a JS number exactly (timestamps, sizes). */
  u64Safe (field: string): number {
    const v = this.u64(field)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(field, 'exceeds 2^53-1')
    return Number(v)
  }

  /** A count read as u16 and checked against `max` before anything is allocated for it. */
  count16 (field: string, max: number): number {
    const n = this.u16(field)
    if (n > max) throw new DecodeError(field, `count ${n} exceeds the cap ${max}`)
    return n
  }

  /** A count read as u32 and checked against `max`. */
  count32 (field: string, max: number): number {
    const n = this.u32(field)
    if (n > max) throw new DecodeError(field, `${n} exceeds the cap ${max}`)
    return n
  }

  /** `n` bytes as a view into the input (no copy). */
  bytes (n: number, field: string): Uint8Array {
    this.need(n, field)
    const v = this.input.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  /** `n` bytes of UTF-8 text; invalid UTF-8 is a DecodeError, not a TypeError. */
  utf8 (n: number, field: string): string {
    const bytes = this.bytes(n, field)
    try {
      return utf8Decoder.decode(bytes)
    } catch {
      throw new DecodeError(field, 'not valid UTF-8')
    }
  }

  /** A u32 length prefix checked against `max`, then that many bytes. */
  lengthPrefixed (field: string, max: number): Uint8Array {
    return this.bytes(this.count32(field, max), field)
  }

  /** Refuses trailing bytes: every format has exactly one encoding. */
  end (what: string): void {
    if (this.remaining !== 0) throw new DecodeError(what, `${this.remaining} trailing bytes`)
  }
}

export class ByteWriter {
  private buf: Uint8Array
  private view: DataView
  private offset = 0

  constructor (initialSize = 256) {
    this.buf = new Uint8Array(initialSize)
    this.view = new DataView(this.buf.buffer)
  }

  private ensure (n: number): void {
    if (this.offset + n <= this.buf.byteLength) return
    let size = this.buf.byteLength * 2
    while (size < this.offset + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.offset))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8 (v: number): this {
    this.ensure(1)
    this.view.setUint8(this.offset++, v)
    return this
  }

  u16 (v: number): this {
    this.ensure(2)
    this.view.setUint16(this.offset, v)
    this.offset += 2
    return this
  }

  u32 (v: number): this {
    this.ensure(4)
    this.view.setUint32(this.offset, v)
    this.offset += 4
    return this
  }

  u64 (v: bigint | number): this {
    this.ensure(8)
    this.view.setBigUint64(this.offset, BigInt(v))
    this.offset += 8
    return this
  }

  bytes (v: Uint8Array): this {
    this.ensure(v.byteLength)
    this.buf.set(v, this.offset)
    this.offset += v.byteLength
    return this
  }

  lengthPrefixed (v: Uint8Array): this {
    return this.u32(v.byteLength).bytes(v)
  }

  finish (): Uint8Array {
    return this.buf.slice(0, this.offset)
  }
}
