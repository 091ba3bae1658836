import { describe, expect, it } from 'vitest'
import {
  appendSignature, deriveNullifier, Ed25519Signer, encodeUnsigned, signingMessage, toHex, TxIntake, TxPool, TxValidator, type BuiltTx
} from '../../src/index.ts'
import { makeTx, randomSeed } from '../helpers/txs.ts'

/**
 * Anyone can read a pending tx's nullifiers and their seeds. Before nullifiers
 * were bound to their owner, a tx of another key carrying the same nullifier
 * and 10 % more fee evicted the owner's tx; now such a copy is refused by the
 * default verifier, and the owner alone can replace its tx.
 */
function setup () {
  const pool = new TxPool()
  const intake = new TxIntake({ pool, validator: new TxValidator() })
  const submit = async (bytes: Uint8Array) => await intake.submit(bytes, { source: 'local' })
  return { pool, submit }
}

/** What an attacker can build: its own key and signature, the victim's nullifiers and seeds copied verbatim. */
async function copyWithOwnKey (victim: BuiltTx, fee: bigint, attacker: Ed25519Signer): Promise<Uint8Array> {
  const { nullifiers, nullifierSeeds, expiresAt } = victim.tx.header
  const unsigned = encodeUnsigned({ fee, expiresAt, nullifiers, nullifierSeeds, sender: attacker.publicKey }, new Uint8Array(64))
  return appendSignature(unsigned, await attacker.sign(await signingMessage(unsigned)))
}

describe('nullifiers bound to their owner', () => {
  it('derives each nullifier from the sender key and its seed', async () => {
    const seed = randomSeed()
    const owner = Ed25519Signer.generate()
    const built = await makeTx({ signer: owner, nullifierSeeds: [seed] })
    expect(built.meta.nullifiers).toEqual([toHex(await deriveNullifier(owner.publicKey, seed))])
    // another key with the same seed spends a different nullifier
    const other = await makeTx({ signer: Ed25519Signer.generate(), nullifierSeeds: [seed] })
    expect(other.meta.nullifiers[0]).not.toBe(built.meta.nullifiers[0])
  })

  it('lets the owner replace its own tx with +10 %', async () => {
    const { submit } = setup()
    const owner = Ed25519Signer.generate()
    const seed = randomSeed()
    const first = await makeTx({ signer: owner, fee: 100n, nullifierSeeds: [seed] })
    expect((await submit(first.bytes)).status).toBe('added')
    const bump = await makeTx({ signer: owner, fee: 110n, nullifierSeeds: [seed] })
    const r = await submit(bump.bytes)
    expect(r).toMatchObject({ status: 'added' })
    expect(r.status === 'added' && r.replaced.map(e => e.hash)).toEqual([first.hash])
  })

  it('refuses a copy of the nullifier by another key, with a typed rule, and keeps the owner\'s tx', async () => {
    const { pool, submit } = setup()
    const victim = await makeTx({ fee: 100n })
    expect((await submit(victim.bytes)).status).toBe('added')
    const copy = await copyWithOwnKey(victim, 110n, Ed25519Signer.generate())
    expect(await submit(copy)).toMatchObject({ status: 'rejected', rule: 'nullifier-not-owned' })
    expect(pool.get(victim.hash)).toBeDefined()
    // however much it bids
    expect(await submit(await copyWithOwnKey(victim, 1_000_000n, Ed25519Signer.generate()))).toMatchObject({ rule: 'nullifier-not-owned' })
    expect(pool.size).toBe(1)
  })

  it('checks every nullifier of a tx, not only the first', async () => {
    const { pool, submit } = setup()
    const owner = Ed25519Signer.generate()
    const victim = await makeTx({ fee: 100n })
    const mine = await makeTx({ signer: owner, nullifierSeeds: [randomSeed()] })
    // the attacker's own, correctly bound nullifier first, then the victim's
    const nullifiers = [mine.tx.header.nullifiers[0]!, victim.tx.header.nullifiers[0]!]
    const nullifierSeeds = [mine.tx.header.nullifierSeeds[0]!, victim.tx.header.nullifierSeeds[0]!]
    const unsigned = encodeUnsigned({ fee: 500n, expiresAt: victim.tx.header.expiresAt, nullifiers, nullifierSeeds, sender: owner.publicKey }, new Uint8Array(8))
    const mixed = appendSignature(unsigned, await owner.sign(await signingMessage(unsigned)))
    await submit(victim.bytes)
    expect(await submit(mixed)).toMatchObject({ status: 'rejected', rule: 'nullifier-not-owned' })
    expect(pool.get(victim.hash)).toBeDefined()
  })
})
