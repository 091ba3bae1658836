import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteWriter, DecodeError, decodeTx, appendSignature, encodeUnsigned } from '../../src/index.ts'
import { decodeMeta, encodeMeta } from '../../src/tx/meta-codec.ts'
import {
  decodeFetchItem, decodeFetchRequest, decodeSyncPage, decodeSyncRequest, decodeTxAnnouncement,
  encodeFetchItem, encodeFetchRequest, encodeSyncPage, encodeSyncRequest, encodeTxAnnouncement,
  FETCH_FOUND, KIND_TX
} from '../../src/net/messages.ts'
import { decodePeerList, encodePeerList } from '../../src/net/peer-keeper.ts'
import { decodeProof, decodeProofAnnouncement, encodeProofAnnouncement } from '../../src/proof/proof.ts'
import type { TxMeta } from '../../src/tx/types.ts'
import { recordFigure, STRESS } from '../helpers/figures.ts'

/**
 * Every decoder of bytes that come from outside (a peer, a store, a file)
 * under random and mutated input: it returns a value or throws a DecodeError
 * naming the field — never another exception, never a hang, and never an
 * allocation sized by an unchecked length field.
 */
const RUNS = STRESS ? 20_000 : 1_500
const LIMITS = { maxPayloadBytes: 4096, maxNullifiers: 8 }

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => Buffer.from(b).toString('hex'))
const metaArb: fc.Arbitrary<TxMeta> = fc.record({
  hash,
  size: fc.integer({ min: 200 + 32 * 8, max: 4000 }),
  fee: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  expiresAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nullifiers: fc.uniqueArray(hash, { maxLength: 8 })
})

/** Valid encodings, then damaged: truncated, extended, bytes overwritten (including length fields set to huge values). */
function mutated (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 0xff, 0x7f, 0x80, 1)), { maxLength: 6 }), fc.option(fc.nat()), fc.option(fc.uint8Array({ maxLength: 40 })))
    .map(([bytes, writes, cut, extra]) => {
      let out = bytes.slice()
      for (const [at, v] of writes) if (out.length > 0) out[at % out.length] = v
      if (cut !== null && out.length > 0) out = out.subarray(0, cut % out.length)
      if (extra !== null) {
        const longer = new Uint8Array(out.length + extra.length)
        longer.set(out)
        longer.set(extra, out.length)
        out = longer
      }
      return out
    })
}

const inputs = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated(valid), valid)

interface Target { name: string, valid: fc.Arbitrary<Uint8Array>, decode: (b: Uint8Array) => unknown }

const targets: Target[] = [
  {
    name: 'tx envelope',
    valid: fc.record({ fee: fc.bigInt({ min: 0n, max: 1000n }), nullifiers: fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 3, selector: b => Buffer.from(b).toString('hex') }), payload: fc.uint8Array({ maxLength: 300 }) })
      .map(({ fee, nullifiers, payload }) => appendSignature(encodeUnsigned({ fee, expiresAt: 1, nullifiers, nullifierSeeds: nullifiers, sender: new Uint8Array(32) }, payload), new Uint8Array(64))),
    decode: (b) => decodeTx(b, LIMITS)
  },
  { name: 'tx metadata (stores, sync)', valid: metaArb.map(encodeMeta), decode: (b) => decodeMeta(b, LIMITS) },
  { name: 'tx announcement (gossip)', valid: metaArb.map(encodeTxAnnouncement), decode: (b) => decodeTxAnnouncement(b, LIMITS) },
  { name: 'fetch request', valid: fc.array(hash, { minLength: 1, maxLength: 10 }).map(hashes => encodeFetchRequest({ kind: KIND_TX, hashes })), decode: (b) => decodeFetchRequest(b, 64) },
  { name: 'fetch response frame', valid: fc.uint8Array({ maxLength: 200 }).map(body => encodeFetchItem({ status: FETCH_FOUND, body }).subarray()), decode: (b) => decodeFetchItem(b, 100) },
  { name: 'sync request', valid: fc.record({ limit: fc.integer({ min: 0, max: 65535 }), cursor: fc.option(fc.string({ maxLength: 90 }), { nil: undefined }) }).map(r => encodeSyncRequest(r.cursor === undefined ? { limit: r.limit } : { limit: r.limit, cursor: r.cursor })), decode: decodeSyncRequest },
  { name: 'sync page', valid: fc.array(fc.record({ meta: metaArb, hasBody: fc.boolean() }), { maxLength: 6 }).map(entries => encodeSyncPage({ entries })), decode: (b) => decodeSyncPage(b, 8, LIMITS) },
  { name: 'peer exchange list', valid: fc.array(fc.record({ id: fc.string({ maxLength: 60 }), addrs: fc.array(fc.string({ maxLength: 80 }), { maxLength: 4 }) }), { maxLength: 5 }).map(encodePeerList), decode: (b) => decodePeerList(b, 16) },
  { name: 'proof announcement', valid: fc.record({ hash, size: fc.integer({ min: 109, max: 5000 }), blockNumber: fc.nat() }).map(encodeProofAnnouncement), decode: (b) => decodeProofAnnouncement(b, 4096) },
  {
    name: 'proof envelope',
    valid: fc.record({ block: fc.nat(), proof: fc.uint8Array({ maxLength: 300 }) })
      .map(({ block, proof }) => new ByteWriter().u8(1).u64(block).bytes(new Uint8Array(32)).lengthPrefixed(proof).bytes(new Uint8Array(64)).finish()),
    decode: (b) => decodeProof(b, 4096)
  }
]

describe('decoders under fuzzing', () => {
  for (const target of targets) {
    it(`${target.name}: a value or a DecodeError, nothing else`, () => {
      let cases = 0
      let errors = 0
      let slowest = 0
      fc.assert(fc.property(inputs(target.valid), (bytes) => {
        cases++
        const t = performance.now()
        try {
          target.decode(bytes)
        } catch (err) {
          errors++
          if (!(err instanceof DecodeError)) throw new Error(`${target.name} threw ${(err as Error)?.name}: ${(err as Error)?.message}`)
          expect(err.field.length).toBeGreaterThan(0)
        }
        slowest = Math.max(slowest, performance.now() - t)
      }), { numRuns: RUNS })
      recordFigure('fuzzing', target.name, { cases, decode_errors: errors, slowest_ms: Math.round(slowest * 100) / 100 })
    })
  }

  it('lengths and counts are checked against caps before anything is allocated', () => {
    // four-gigabyte payload, 255 nullifiers, 65535 hashes: refused by the cap, instantly
    const tx = appendSignature(encodeUnsigned({ fee: 1n, expiresAt: 1, nullifiers: [], nullifierSeeds: [], sender: new Uint8Array(32) }, new Uint8Array(0)), new Uint8Array(64))
    new DataView(tx.buffer).setUint32(50, 0xffffffff)
    expect(() => decodeTx(tx, LIMITS)).toThrow(/cap/)
    const req = encodeFetchRequest({ kind: KIND_TX, hashes: ['00'.repeat(32)] })
    new DataView(req.buffer).setUint16(2, 0xffff)
    expect(() => decodeFetchRequest(req, 64)).toThrow(/cap/)
    const page = encodeSyncPage({ entries: [] })
    new DataView(page.buffer).setUint16(1, 0xffff)
    expect(() => decodeSyncPage(page, 8, LIMITS)).toThrow(/cap/)
    const proof = new Uint8Array(200)
    proof[0] = 1
    new DataView(proof.buffer).setUint32(41, 0xfffffff0)
    expect(() => decodeProof(proof, 4096)).toThrow(/cap/)
  })
})
