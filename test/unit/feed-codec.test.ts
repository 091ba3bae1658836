import { decode as decodeVarint, encodingLength } from 'uint8-varint'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../src/codec/bytes.ts'
import {
  decodeClientFrame, decodeServerFrame, encodeAddItem, encodeControlFrame, encodeItemsFrame, encodeRemoveItem,
  FEED_ACK, FEED_ITEMS, FEED_REFUSED, FEED_RESUMED, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, ITEMS_HEADER_BYTES,
  MAX_CLIENT_FRAME_BYTES, maxItemsPerFrame, REMOVAL_REASONS
} from '../../src/net/feed/codec.ts'
import { WIRE_VERSION } from '../../src/net/messages.ts'
import { decodePushResult, encodePushResult } from '../../src/net/feed/push.ts'
import { makeTx } from '../helpers/txs.ts'

/** A frame without its varint length prefix, checking the prefix. */
function unframe (bytes: Uint8Array): Uint8Array {
  const length = decodeVarint(bytes)
  const body = bytes.subarray(encodingLength(length))
  expect(body.byteLength).toBe(length)
  return body
}

describe('feed codec', () => {
  it('round-trips items, snapshot marks, refusals and acks', async () => {
    const tx = await makeTx()
    const items = [encodeAddItem(tx.meta), ...REMOVAL_REASONS.map(r => encodeRemoveItem(tx.hash, r))]
    const decodedItems = [{ op: 'add', meta: tx.meta }, ...REMOVAL_REASONS.map(reason => ({ op: 'remove', hash: tx.hash, reason }))]
    // snapshot items carry no seq (0)
    expect(decodeServerFrame(unframe(encodeItemsFrame(items)), 100)).toEqual({ type: FEED_ITEMS, seq: 0, items: decodedItems })
    // live items carry their first item's seq
    expect(decodeServerFrame(unframe(encodeItemsFrame(items, 42)), 100)).toEqual({ type: FEED_ITEMS, seq: 42, items: decodedItems })
    expect(decodeServerFrame(unframe(encodeItemsFrame(items, Number.MAX_SAFE_INTEGER)), 100)).toMatchObject({ seq: Number.MAX_SAFE_INTEGER })
    expect(decodeServerFrame(unframe(encodeItemsFrame([])), 1)).toEqual({ type: FEED_ITEMS, seq: 0, items: [] })
    expect(unframe(encodeItemsFrame([])).byteLength).toBe(ITEMS_HEADER_BYTES)
    expect(decodeServerFrame(unframe(encodeControlFrame({ type: FEED_SNAPSHOT_END })), 1)).toEqual({ type: FEED_SNAPSHOT_END })
    expect(decodeServerFrame(unframe(encodeControlFrame({ type: FEED_REFUSED, code: 'address-full' })), 1)).toEqual({ type: FEED_REFUSED, code: 'address-full' })
    expect(decodeClientFrame(unframe(encodeControlFrame({ type: FEED_ACK, bytes: 70_000 })))).toEqual({ type: FEED_ACK, bytes: 70_000 })
    expect(decodeClientFrame(unframe(encodeControlFrame({ type: FEED_SUBSCRIBE })))).toEqual({ type: FEED_SUBSCRIBE })
    // an announcement costs its metadata plus one byte in a frame
    expect(encodeAddItem(tx.meta).byteLength).toBe(1 + 53 + 32)
  })

  it('round-trips the resume cursor: SNAPSHOT_START and RESUMED carry the epoch and seq, SUBSCRIBE may carry a cursor', () => {
    for (const epoch of [0n, 1n, 0x0123456789abcdefn, 2n ** 64n - 1n]) {
      for (const seq of [0, 1, 70_000, Number.MAX_SAFE_INTEGER]) {
        for (const type of [FEED_SNAPSHOT_START, FEED_RESUMED] as const) {
          const frame = { type, window: 65536, epoch, seq }
          expect(decodeServerFrame(unframe(encodeControlFrame(frame)), 1)).toEqual(frame)
        }
        const subscribe = { type: FEED_SUBSCRIBE, resume: { epoch, seq } } as const
        const body = unframe(encodeControlFrame(subscribe))
        expect(decodeClientFrame(body)).toEqual(subscribe)
        expect(body.byteLength).toBe(MAX_CLIENT_FRAME_BYTES)
      }
    }
    // a SUBSCRIBE without a cursor is its flags byte alone, 0
    expect([...unframe(encodeControlFrame({ type: FEED_SUBSCRIBE }))]).toEqual([WIRE_VERSION, FEED_SUBSCRIBE, 0])
  })

  it('decodes the cursor strictly: unknown flags, short or trailing cursors, seqs past 2^53-1 and seqs on keepalives are refused', () => {
    const cursor = unframe(encodeControlFrame({ type: FEED_SUBSCRIBE, resume: { epoch: 5n, seq: 9 } }))
    // every flag but RESUME (bit 0) is unknown, alone or beside it
    for (const flags of [2, 3, 4, 0x80, 0xff]) {
      expect(() => decodeClientFrame(Uint8Array.of(WIRE_VERSION, FEED_SUBSCRIBE, flags))).toThrow(/unknown flags/)
      expect(() => decodeClientFrame(Uint8Array.of(WIRE_VERSION, FEED_SUBSCRIBE, flags, ...cursor.subarray(3)))).toThrow(/unknown flags/)
    }
    // RESUME without its cursor, or with half of it
    expect(() => decodeClientFrame(cursor.subarray(0, 3))).toThrow(DecodeError)
    expect(() => decodeClientFrame(cursor.subarray(0, cursor.byteLength - 1))).toThrow(DecodeError)
    // a cursor without the flag is trailing bytes
    expect(() => decodeClientFrame(Uint8Array.of(WIRE_VERSION, FEED_SUBSCRIBE, 0, ...cursor.subarray(3)))).toThrow(/trailing/)
    expect(() => decodeClientFrame(Uint8Array.of(...cursor, 0))).toThrow(/trailing/)
    // a seq past 2^53-1
    const big = cursor.slice()
    big.fill(0xff, 11, 19)
    expect(() => decodeClientFrame(big)).toThrow(/2\^53/)
    const resumed = unframe(encodeControlFrame({ type: FEED_RESUMED, window: 1024, epoch: 1n, seq: 1 })).slice()
    resumed.fill(0xff, 14, 22)
    expect(() => decodeServerFrame(resumed, 1)).toThrow(/2\^53/)
    expect(() => decodeServerFrame(resumed.subarray(0, resumed.byteLength - 1), 1)).toThrow(DecodeError)
    // a keepalive (no items) carries no seq
    const keepalive = unframe(encodeItemsFrame([])).slice()
    keepalive[9] = 1
    expect(() => decodeServerFrame(keepalive, 1)).toThrow(/no items/)
    expect(() => encodeItemsFrame([], 1)).toThrow(RangeError)
  })

  it('caps an items frame before allocating for it, and refuses trailing bytes', async () => {
    const tx = await makeTx()
    const frame = unframe(encodeItemsFrame([encodeAddItem(tx.meta), encodeAddItem(tx.meta)]))
    expect(() => decodeServerFrame(frame, 1)).toThrow(DecodeError)
    expect(() => decodeServerFrame(Uint8Array.of(...frame, 0), 10)).toThrow(DecodeError)
    expect(maxItemsPerFrame(16 * 1024)).toBeGreaterThan(16 * 1024 / 95)
  })

  it('never throws anything but DecodeError on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 200)))
      if (i % 2 === 0) bytes[0] = WIRE_VERSION
      // every frame type, the cursor's ones too, and short frames where a seq or cursor is cut off
      const types = [FEED_ITEMS, FEED_SNAPSHOT_START, FEED_SNAPSHOT_END, FEED_REFUSED, FEED_RESUMED, FEED_SUBSCRIBE, FEED_ACK]
      if (i % 4 === 0 && bytes.byteLength > 1) bytes[1] = types[(i / 4) % types.length]!
      if (i % 8 === 0 && bytes.byteLength > 2 && bytes[1] === FEED_SUBSCRIBE) bytes[2] = 1
      for (const decode of [() => decodeServerFrame(bytes, 50), () => decodeClientFrame(bytes), () => decodePushResult(bytes)]) {
        try { decode() } catch (err) { expect(err).toBeInstanceOf(DecodeError) }
      }
    }
  })

  it('round-trips push answers', () => {
    const hash = 'ab'.repeat(32)
    expect(decodePushResult(encodePushResult({ status: 'added', hash }))).toEqual({ status: 'added', hash })
    const refused = { status: 'ignored', hash, rule: 'fee-below-floor', message: 'fee 10 below 50' } as const
    expect(decodePushResult(encodePushResult(refused))).toEqual(refused)
  })
})
