import { encode as encodeVarint, encodingLength } from 'uint8-varint'
import { ByteReader, ByteWriter, DecodeError } from '../../codec/bytes.ts'
import type { RemovalReason } from '../../pool/pool.ts'
import { fromHex, toHex } from '../../tx/hex.ts'
import { DEFAULT_TX_LIMITS, type TxLimits } from '../../tx/limits.ts'
import { META_FIXED_BYTES, readMeta, writeMeta } from '../../tx/meta-codec.ts'
import type { TxMeta } from '../../tx/types.ts'
import { WIRE_VERSION } from '../messages.ts'

/**
 * Wire format of the feed protocol (`/lightpool/<network>/feed/1`). Every
 * message is a varint-length-prefixed frame starting with the wire version
 * and a type byte; all decode strictly (caps before allocation, no trailing
 * bytes, unknown flags refused), like the other formats in ../messages.ts.
 *
 * Nothing of the feed is released yet, so the resumable cursor (epoch, seq,
 * RESUMED) changed this format without a new protocol version: it stays
 * `feed/1`. Once released, a change like it needs `feed/2`.
 *
 * Every live item (an add or a removal the server feeds as it happens) gets a
 * sequence number, `seq`, 1, 2, 3… in feed order, under the server's `epoch`
 * (8 random bytes chosen at its start: a restarted server counts again under
 * another epoch). Snapshot items have none.
 *
 * Server → subscriber:
 *   ITEMS          u64 seq (at most 2^53-1: 28 000 years at 10 000 items a
 *                  second), u16 count, then per item: u8 op | add: tx metadata
 *                  (the announcement's own encoding, tx/meta-codec.ts) |
 *                  remove: 32 B hash, u8 reason. `seq` is the first item's:
 *                  the items are seq, seq+1, … with no gap from the frame
 *                  before. 0: the items are a snapshot's, which carry none.
 *                  A frame of 0 items (seq 0) is a keepalive.
 *   SNAPSHOT_START u32 window, u64 epoch, u64 seq: the adds that follow, up
 *                  to SNAPSHOT_END, are the server's whole pool; anything the
 *                  subscriber had from it and does not see again left the pool
 *                  meanwhile. The snapshot covers the live items up to `seq`:
 *                  the live items after it follow SNAPSHOT_END, from seq+1.
 *                  `window` is the bytes the server sends unacknowledged at most.
 *   SNAPSHOT_END
 *   REFUSED        u8 code; the server closes the stream.
 *   RESUMED        u32 window, u64 epoch, u64 seq: the answer to a SUBSCRIBE
 *                  with a cursor the server can serve (same epoch, its journal
 *                  of recent live items still holds seq+1): no snapshot, the
 *                  live items from seq+1 follow. Otherwise the answer is a
 *                  snapshot, as to a SUBSCRIBE without a cursor.
 * Subscriber → server:
 *   SUBSCRIBE      u8 flags; bit 0 (RESUME): u64 epoch, u64 seq follow, the
 *                  last live item the subscriber applied from this server. No
 *                  other flag is defined: a frame with one is refused.
 *   ACK            u32 bytes of frames consumed since the last ACK (credit
 *                  flow control: the server keeps at most a window unacknowledged)
 */
export const FEED_ITEMS = 0
export const FEED_SNAPSHOT_START = 1
export const FEED_SNAPSHOT_END = 2
export const FEED_REFUSED = 3
export const FEED_RESUMED = 4
export const FEED_SUBSCRIBE = 16
export const FEED_ACK = 17

/** SUBSCRIBE flags: a resume cursor follows. */
const FLAG_RESUME = 1

const OP_ADD = 0
const OP_REMOVE = 1

/** Removals after which a tx cannot be pending anywhere (the client applies them at once; the server ends snapshots with recent ones). */
export const FINAL_REASONS: ReadonlySet<RemovalReason> = new Set(['mined', 'conflict', 'expired', 'invalid'])

/** Removal reasons on the wire, by index: append only. */
export const REMOVAL_REASONS: readonly RemovalReason[] = ['replaced', 'evicted', 'expired', 'mined', 'conflict', 'invalid', 'store-failed', 'removed']

export type RefusalCode = 'subscribers-full' | 'address-full' | 'not-serving'
const REFUSAL_CODES: readonly RefusalCode[] = ['subscribers-full', 'address-full', 'not-serving']

export type FeedItem =
  | { op: 'add', meta: TxMeta }
  | { op: 'remove', hash: string, reason: RemovalReason }

/** Where a subscriber is in a server's feed: the last live item it applied (`seq`) under the server's `epoch`. */
export interface FeedCursor {
  epoch: bigint
  seq: number
}

export type ServerFrame =
  /** `seq`: the first item's sequence number; 0 for snapshot items and keepalives */
  | { type: typeof FEED_ITEMS, seq: number, items: FeedItem[] }
  | { type: typeof FEED_SNAPSHOT_START, window: number, epoch: bigint, seq: number }
  | { type: typeof FEED_SNAPSHOT_END }
  | { type: typeof FEED_REFUSED, code: RefusalCode }
  | { type: typeof FEED_RESUMED, window: number, epoch: bigint, seq: number }

export type ClientFrame =
  | { type: typeof FEED_SUBSCRIBE, resume?: FeedCursor }
  | { type: typeof FEED_ACK, bytes: number }

/** Bytes of an ITEMS frame before its items: version, type, u64 seq, u16 count. */
export const ITEMS_HEADER_BYTES = 12

/** One item, encoded once and shared by every subscriber's frame. */
export function encodeAddItem (meta: TxMeta): Uint8Array {
  return writeMeta(new ByteWriter(1 + META_FIXED_BYTES + 32 * meta.nullifiers.length).u8(OP_ADD), meta).finish()
}

export function encodeRemoveItem (hash: string, reason: RemovalReason): Uint8Array {
  const code = REMOVAL_REASONS.indexOf(reason)
  return new ByteWriter(34).u8(OP_REMOVE).bytes(fromHex(hash)).u8(code < 0 ? REMOVAL_REASONS.indexOf('removed') : code).finish()
}

/**
 * An ITEMS frame of pre-encoded items, with its length prefix: the bytes to
 * hand to `stream.send`, one allocation however many subscribers get it.
 * `seq`: the first item's sequence number, for live items; none (0) for
 * snapshot items and keepalives.
 */
export function encodeItemsFrame (items: readonly Uint8Array[], seq = 0): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0 || (items.length === 0 && seq !== 0)) throw new RangeError(`bad feed seq ${seq} for ${items.length} items`)
  let body = ITEMS_HEADER_BYTES
  for (const item of items) body += item.byteLength
  const prefix = encodingLength(body)
  const out = new Uint8Array(prefix + body)
  encodeVarint(body, out, 0)
  out[prefix] = WIRE_VERSION
  out[prefix + 1] = FEED_ITEMS
  new DataView(out.buffer, out.byteOffset + prefix + 2, 8).setBigUint64(0, BigInt(seq))
  out[prefix + 10] = items.length >> 8
  out[prefix + 11] = items.length & 0xff
  let at = prefix + ITEMS_HEADER_BYTES
  for (const item of items) {
    out.set(item, at)
    at += item.byteLength
  }
  return out
}

/** A control frame (snapshot marks, resume, refusal, subscribe, ack) with its length prefix. */
export function encodeControlFrame (frame: Exclude<ServerFrame, { type: typeof FEED_ITEMS }> | ClientFrame): Uint8Array {
  const w = new ByteWriter(24).u8(WIRE_VERSION).u8(frame.type)
  if (frame.type === FEED_REFUSED) w.u8(REFUSAL_CODES.indexOf(frame.code))
  else if (frame.type === FEED_SNAPSHOT_START || frame.type === FEED_RESUMED) w.u32(frame.window).u64(frame.epoch).u64(frame.seq)
  else if (frame.type === FEED_SUBSCRIBE) {
    if (frame.resume === undefined) w.u8(0)
    else w.u8(FLAG_RESUME).u64(frame.resume.epoch).u64(frame.resume.seq)
  } else if (frame.type === FEED_ACK) w.u32(frame.bytes)
  return withLengthPrefix(w.finish())
}

function withLengthPrefix (body: Uint8Array): Uint8Array {
  const prefix = encodingLength(body.byteLength)
  const out = new Uint8Array(prefix + body.byteLength)
  encodeVarint(body.byteLength, out, 0)
  out.set(body, prefix)
  return out
}

function header (r: ByteReader, what: string): number {
  const v = r.u8(`${what}.version`)
  if (v !== WIRE_VERSION) throw new DecodeError(`${what}.version`, `unsupported version ${v}`)
  return r.u8(`${what}.type`)
}

/** A frame from the server, without its length prefix. `maxItems` caps an ITEMS frame before anything is allocated for it. */
export function decodeServerFrame (bytes: Uint8Array, maxItems: number, limits: TxLimits = DEFAULT_TX_LIMITS): ServerFrame {
  const r = new ByteReader(bytes)
  const type = header(r, 'feed')
  let frame: ServerFrame
  if (type === FEED_ITEMS) {
    const seq = r.u64Safe('feed.seq')
    const count = r.count16('feed.count', maxItems)
    if (count === 0 && seq !== 0) throw new DecodeError('feed.seq', `seq ${seq} on a frame of no items`)
    const items: FeedItem[] = []
    for (let i = 0; i < count; i++) {
      const op = r.u8('feed.op')
      if (op === OP_ADD) {
        items.push({ op: 'add', meta: readMeta(r, limits) })
      } else if (op === OP_REMOVE) {
        const hash = toHex(r.bytes(32, 'feed.hash'))
        const code = r.u8('feed.reason')
        const reason = REMOVAL_REASONS[code]
        if (reason === undefined) throw new DecodeError('feed.reason', `unknown reason ${code}`)
        items.push({ op: 'remove', hash, reason })
      } else {
        throw new DecodeError('feed.op', `unknown op ${op}`)
      }
    }
    frame = { type, seq, items }
  } else if (type === FEED_SNAPSHOT_START || type === FEED_RESUMED) {
    frame = { type, window: r.u32('feed.window'), epoch: r.u64('feed.epoch'), seq: r.u64Safe('feed.seq') }
  } else if (type === FEED_SNAPSHOT_END) {
    frame = { type }
  } else if (type === FEED_REFUSED) {
    const code = REFUSAL_CODES[r.u8('feed.refusal')]
    if (code === undefined) throw new DecodeError('feed.refusal', 'unknown code')
    frame = { type, code }
  } else {
    throw new DecodeError('feed.type', `unknown server frame ${type}`)
  }
  r.end('feed')
  return frame
}

/** A frame from a subscriber, without its length prefix. */
export function decodeClientFrame (bytes: Uint8Array): ClientFrame {
  const r = new ByteReader(bytes)
  const type = header(r, 'feedClient')
  let frame: ClientFrame
  if (type === FEED_SUBSCRIBE) {
    const flags = r.u8('feedClient.flags')
    if ((flags & ~FLAG_RESUME) !== 0) throw new DecodeError('feedClient.flags', `unknown flags ${flags}`)
    frame = (flags & FLAG_RESUME) === 0 ? { type } : { type, resume: { epoch: r.u64('feedClient.epoch'), seq: r.u64Safe('feedClient.seq') } }
  } else if (type === FEED_ACK) {
    frame = { type, bytes: r.u32('feedClient.ack') }
  } else {
    throw new DecodeError('feedClient.type', `unknown subscriber frame ${type}`)
  }
  r.end('feedClient')
  return frame
}

/** The largest client frame: a SUBSCRIBE with a cursor. */
export const MAX_CLIENT_FRAME_BYTES = 19

/** Items an ITEMS frame of `maxFrameBytes` can hold at most (the smallest item is a removal, 34 B). */
export function maxItemsPerFrame (maxFrameBytes: number): number {
  return Math.min(0xffff, Math.ceil((maxFrameBytes - ITEMS_HEADER_BYTES) / 34) + 1)
}
