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
 * bytes), like the other formats in ../messages.ts.
 *
 * Server → subscriber:
 *   ITEMS          u16 count, then per item: u8 op | add: tx metadata (the
 *                  announcement's own encoding, tx/meta-codec.ts) | remove:
 *                  32 B hash, u8 reason. A frame of 0 items is a keepalive.
 *   SNAPSHOT_START u32 window: the adds that follow, up to SNAPSHOT_END, are
 *                  the server's whole pool; anything the subscriber had from it
 *                  and does not see again left the pool meanwhile. `window` is
 *                  the bytes the server sends unacknowledged at most.
 *   SNAPSHOT_END
 *   REFUSED        u8 code; the server closes the stream.
 * Subscriber → server:
 *   SUBSCRIBE      u8 flags (none defined: 0)
 *   ACK            u32 bytes of frames consumed since the last ACK (credit
 *                  flow control: the server keeps at most a window unacknowledged)
 */
export const FEED_ITEMS = 0
export const FEED_SNAPSHOT_START = 1
export const FEED_SNAPSHOT_END = 2
export const FEED_REFUSED = 3
export const FEED_SUBSCRIBE = 16
export const FEED_ACK = 17

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

export type ServerFrame =
  | { type: typeof FEED_ITEMS, items: FeedItem[] }
  | { type: typeof FEED_SNAPSHOT_START, window: number }
  | { type: typeof FEED_SNAPSHOT_END }
  | { type: typeof FEED_REFUSED, code: RefusalCode }

export type ClientFrame =
  | { type: typeof FEED_SUBSCRIBE, flags: number }
  | { type: typeof FEED_ACK, bytes: number }

/** Bytes of an ITEMS frame before its items. */
export const ITEMS_HEADER_BYTES = 4

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
 */
export function encodeItemsFrame (items: readonly Uint8Array[]): Uint8Array {
  let body = ITEMS_HEADER_BYTES
  for (const item of items) body += item.byteLength
  const prefix = encodingLength(body)
  const out = new Uint8Array(prefix + body)
  encodeVarint(body, out, 0)
  out[prefix] = WIRE_VERSION
  out[prefix + 1] = FEED_ITEMS
  out[prefix + 2] = items.length >> 8
  out[prefix + 3] = items.length & 0xff
  let at = prefix + ITEMS_HEADER_BYTES
  for (const item of items) {
    out.set(item, at)
    at += item.byteLength
  }
  return out
}

/** A control frame (snapshot marks, refusal) with its length prefix. */
export function encodeControlFrame (frame: Exclude<ServerFrame, { type: typeof FEED_ITEMS }> | ClientFrame): Uint8Array {
  const w = new ByteWriter(8).u8(WIRE_VERSION).u8(frame.type)
  if (frame.type === FEED_REFUSED) w.u8(REFUSAL_CODES.indexOf(frame.code))
  else if (frame.type === FEED_SNAPSHOT_START) w.u32(frame.window)
  else if (frame.type === FEED_SUBSCRIBE) w.u8(frame.flags)
  else if (frame.type === FEED_ACK) w.u32(frame.bytes)
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
    const count = r.count16('feed.count', maxItems)
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
    frame = { type, items }
  } else if (type === FEED_SNAPSHOT_START) {
    frame = { type, window: r.u32('feed.window') }
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
    if (flags !== 0) throw new DecodeError('feedClient.flags', `unknown flags ${flags}`)
    frame = { type, flags }
  } else if (type === FEED_ACK) {
    frame = { type, bytes: r.u32('feedClient.ack') }
  } else {
    throw new DecodeError('feedClient.type', `unknown subscriber frame ${type}`)
  }
  r.end('feedClient')
  return frame
}

/** The largest client frame: an ACK. */
export const MAX_CLIENT_FRAME_BYTES = 6

/** Items an ITEMS frame of `maxFrameBytes` can hold at most (the smallest item is a removal, 34 B). */
export function maxItemsPerFrame (maxFrameBytes: number): number {
  return Math.min(0xffff, Math.ceil((maxFrameBytes - ITEMS_HEADER_BYTES) / 34) + 1)
}
