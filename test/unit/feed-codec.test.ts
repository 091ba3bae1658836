import { decode as decodeVarint, encodingLength } from 'uint8-varint'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../src/codec/bytes.ts'
import {
  decodeClientFrame, decodeServerFrame, encodeAddItem, encodeControlFrame, encodeItemsFrame, encodeRemoveItem,
  FEED_ACK, FEED_ITEMS, FEED_REFUSED, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, maxItemsPerFrame, REMOVAL_REASONS
} from '../../src/net/feed/codec.ts'
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
    const frame = encodeItemsFrame([encodeAddItem(tx.meta), ...REMOVAL_REASONS.map(r => encodeRemoveItem(tx.hash, r))])
    const decoded = decodeServerFrame(unframe(frame), 100)
    expect(decoded).toEqual({
      type: FEED_ITEMS,
      items: [{ op: 'add', meta: tx.meta }, ...REMOVAL_REASONS.map(reason => ({ op: 'remove', hash: tx.hash, reason }))]
    })
    expect(decodeServerFrame(unframe(encodeControlFrame({ type: FEED_SNAPSHOT_END })), 1)).toEqual({ type: FEED_SNAPSHOT_END })
    expect(decodeServerFrame(unframe(encodeControlFrame({ type: FEED_SNAPSHOT_START, window: 65536 })), 1)).toEqual({ type: FEED_SNAPSHOT_START, window: 65536 })
    expect(decodeServerFrame(unframe(encodeControlFrame({ type: FEED_REFUSED, code: 'address-full' })), 1)).toEqual({ type: FEED_REFUSED, code: 'address-full' })
    expect(decodeClientFrame(unframe(encodeControlFrame({ type: FEED_ACK, bytes: 70_000 })))).toEqual({ type: FEED_ACK, bytes: 70_000 })
    expect(decodeClientFrame(unframe(encodeControlFrame({ type: FEED_SUBSCRIBE, flags: 0 })))).toEqual({ type: FEED_SUBSCRIBE, flags: 0 })
    // an announcement costs its metadata plus one byte in a frame
    expect(encodeAddItem(tx.meta).byteLength).toBe(1 + 53 + 32)
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
      if (i % 2 === 0) bytes[0] = 1
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
