import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  appendSignature, DecodeError, decodeTx, DEFAULT_TX_LIMITS, encodeUnsigned, maxTxBytes, NULLIFIER_ENTRY_BYTES, TX_FIXED_BYTES, txHash
} from '../../src/index.ts'
import { makeTx } from '../helpers/txs.ts'

const limits = { maxPayloadBytes: 4096, maxNullifiers: 8 }

const headerArb = fc.record({
  fee: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  expiresAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nullifiers: fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
    maxLength: limits.maxNullifiers,
    selector: (n) => Buffer.from(n).toString('hex')
  }),
  sender: fc.uint8Array({ minLength: 32, maxLength: 32 })
}).chain(h => fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: h.nullifiers.length, maxLength: h.nullifiers.length })
  .map(nullifierSeeds => ({ ...h, nullifierSeeds })))
const envelopeArb = fc.record({
  header: headerArb,
  payload: fc.uint8Array({ maxLength: limits.maxPayloadBytes }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 })
})

describe('tx envelope', () => {
  it('decode(encode(x)) = x', () => {
    fc.assert(fc.property(envelopeArb, ({ header, payload, signature }) => {
      const bytes = appendSignature(encodeUnsigned(header, payload), signature)
      const tx = decodeTx(bytes, limits)
      expect(tx.header.fee).toBe(header.fee)
      expect(tx.header.expiresAt).toBe(header.expiresAt)
      expect(tx.header.nullifiers).toEqual(header.nullifiers)
      expect(tx.header.nullifierSeeds).toEqual(header.nullifierSeeds)
      expect(tx.header.sender).toEqual(header.sender)
      expect(tx.payload).toEqual(payload)
      expect(tx.signature).toEqual(signature)
      expect(bytes.byteLength).toBe(TX_FIXED_BYTES + NULLIFIER_ENTRY_BYTES * header.nullifiers.length + payload.byteLength)
    }), { numRuns: 300 })
  })

  it('rejects every truncation with a DecodeError', () => {
    fc.assert(fc.property(envelopeArb, ({ header, payload, signature }) => {
      const bytes = appendSignature(encodeUnsigned(header, payload), signature)
      for (let cut = 0; cut < bytes.byteLength; cut += Math.max(1, Math.floor(bytes.byteLength / 40))) {
        expect(() => decodeTx(bytes.subarray(0, cut), limits)).toThrow(DecodeError)
      }
    }), { numRuns: 100 })
  })

  it('rejects trailing bytes', async () => {
    const { bytes } = await makeTx()
    const longer = new Uint8Array(bytes.byteLength + 1)
    longer.set(bytes)
    expect(() => decodeTx(longer)).toThrow(/trailing/)
  })

  it('never throws anything but DecodeError on corrupted or random bytes', () => {
    fc.assert(fc.property(envelopeArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), ({ header, payload, signature }, flips) => {
      const bytes = appendSignature(encodeUnsigned(header, payload), signature)
      for (const [at, value] of flips) bytes[at % bytes.byteLength] = value
      try {
        decodeTx(bytes, limits)
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError)
      }
    }), { numRuns: 500 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try { decodeTx(bytes, limits) } catch (err) { expect(err).toBeInstanceOf(DecodeError) }
    }), { numRuns: 1000 })
  })

  it('checks counts and lengths against the caps before reading them', () => {
    const header = { fee: 1n, expiresAt: 1, nullifiers: [], nullifierSeeds: [], sender: new Uint8Array(32) }
    const bytes = appendSignature(encodeUnsigned(header, new Uint8Array(10)), new Uint8Array(64))
    // claim a 4 GiB payload: refused by the cap, not by running out of bytes
    const view = new DataView(bytes.buffer)
    view.setUint32(TX_FIXED_BYTES - 64 - 4, 0xffffffff)
    expect(() => decodeTx(bytes, limits)).toThrow(/exceeds the cap 4096/)
    // claim 200 nullifiers
    const many = appendSignature(encodeUnsigned(header, new Uint8Array(0)), new Uint8Array(64))
    many[17] = 200
    expect(() => decodeTx(many, limits)).toThrow(/nullifierCount: 200 exceeds the cap 8/)
  })

  it('rejects duplicate nullifiers, unknown versions and oversized timestamps', () => {
    const n = new Uint8Array(32).fill(1)
    const dup = appendSignature(encodeUnsigned({ fee: 1n, expiresAt: 1, nullifiers: [n, n], nullifierSeeds: [n, n], sender: new Uint8Array(32) }, new Uint8Array(0)), new Uint8Array(64))
    expect(() => decodeTx(dup)).toThrow(/duplicate nullifier/)
    // version 1 carried no nullifier seeds: its nullifiers were bound to nobody
    const v1 = dup.slice()
    v1[0] = 1
    expect(() => decodeTx(v1)).toThrow(/unsupported version 1/)
    const v3 = dup.slice()
    v3[0] = 3
    expect(() => decodeTx(v3)).toThrow(/unsupported version 3/)
    const ts = appendSignature(encodeUnsigned({ fee: 1n, expiresAt: 1, nullifiers: [], nullifierSeeds: [], sender: new Uint8Array(32) }, new Uint8Array(0)), new Uint8Array(64))
    new DataView(ts.buffer).setBigUint64(9, 1n << 60n)
    expect(() => decodeTx(ts)).toThrow(/expiresAt/)
  })

  it('refuses to encode what it could not decode', () => {
    const sender = new Uint8Array(32)
    expect(() => encodeUnsigned({ fee: -1n, expiresAt: 1, nullifiers: [], nullifierSeeds: [], sender }, new Uint8Array(0))).toThrow(RangeError)
    expect(() => encodeUnsigned({ fee: 1n, expiresAt: 1.5, nullifiers: [], nullifierSeeds: [], sender }, new Uint8Array(0))).toThrow(RangeError)
    expect(() => encodeUnsigned({ fee: 1n, expiresAt: 1, nullifiers: [new Uint8Array(31)], nullifierSeeds: [new Uint8Array(32)], sender }, new Uint8Array(0))).toThrow(RangeError)
  })

  it('ids are SHA-256 of the encoding', async () => {
    const built = await makeTx({ payloadBytes: 40_000 })
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', built.bytes as Uint8Array<ArrayBuffer>))
    expect(built.hash).toBe(Buffer.from(digest).toString('hex'))
    expect(await txHash(built.bytes)).toBe(built.hash)
    expect(built.meta.size).toBe(built.bytes.byteLength)
    expect(maxTxBytes(DEFAULT_TX_LIMITS)).toBeGreaterThan(40_000)
  })
})
