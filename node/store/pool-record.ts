import { ByteReader, ByteWriter, DecodeError, decodeMeta, encodeMeta, META_FIXED_BYTES, fromHex, isHash, toHex, DEFAULT_TX_LIMITS, maxTxBytes, type TxLimits, type StoredTx } from '../../src/index.ts'

/**
 * How one tx is kept in the `pool` sub-database.
 *
 *   key:   the 32-byte tx hash
 *   value: u8 version (1) | u64 receivedAt | u32 length, meta (meta-codec.ts)
 *          | u8 hasBody (0 or 1) | if 1: u32 length, body
 *
 * Decoding is as strict as the wire formats: lengths are checked against the
 * tx limits before use, the body must be exactly `meta.size` bytes, the meta's
 * hash must be the key, and no trailing bytes. Anything else is a corrupt
 * record.
 */
const RECORD_VERSION = 1

export function recordKey (hash: string): Uint8Array {
  if (!isHash(hash)) throw new TypeError(`not a tx hash: ${String(hash)}`)
  return fromHex(hash)
}

export function encodeRecord (rec: StoredTx): Uint8Array {
  const meta = encodeMeta(rec.meta)
  const w = new ByteWriter(1 + 8 + 4 + meta.byteLength + 1 + 4 + (rec.body?.byteLength ?? 0))
    .u8(RECORD_VERSION).u64(rec.receivedAt).lengthPrefixed(meta)
  if (rec.body === undefined) return w.u8(0).finish()
  return w.u8(1).lengthPrefixed(rec.body).finish()
}

/** Throws DecodeError on anything but a well-formed record of the tx `key`. */
export function decodeRecord (key: Uint8Array, value: Uint8Array, limits: TxLimits = DEFAULT_TX_LIMITS): StoredTx {
  const r = new ByteReader(value)
  const version = r.u8('version')
  if (version !== RECORD_VERSION) throw new DecodeError('version', `unknown record version ${version}`)
  const receivedAt = r.u64Safe('receivedAt')
  const meta = decodeMeta(r.lengthPrefixed('meta', META_FIXED_BYTES + 32 * limits.maxNullifiers), limits)
  if (meta.hash !== toHex(key)) throw new DecodeError('hash', `record under ${toHex(key)} holds tx ${meta.hash}`)
  const hasBody = r.u8('hasBody')
  if (hasBody > 1) throw new DecodeError('hasBody', `flag ${hasBody} is neither 0 nor 1`)
  let body: Uint8Array | undefined
  if (hasBody === 1) {
    body = r.lengthPrefixed('body', maxTxBytes(limits))
    if (body.byteLength !== meta.size) throw new DecodeError('body', `${body.byteLength} bytes, but the meta says ${meta.size}`)
  }
  r.end('record')
  return body === undefined ? { meta, receivedAt } : { meta, receivedAt, body }
}
