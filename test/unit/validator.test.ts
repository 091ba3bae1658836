import { describe, expect, it } from 'vitest'
import { buildTx, Ed25519Signer, TxIntake, TxPool, TxValidator, type Tx, type TxVerifier } from '../../src/index.ts'
import { SignatureVerifier, type TxInvalid } from '../../src/tx/verifier.ts'
import { makeTx, randomSeed } from '../helpers/txs.ts'

class CountingVerifier implements TxVerifier {
  calls = 0
  private readonly inner = new SignatureVerifier()
  async verify (tx: Tx): Promise<TxInvalid | undefined> {
    this.calls++
    return await this.inner.verify(tx)
  }
}

function setup (config = {}) {
  const pool = new TxPool({ config })
  const verifier = new CountingVerifier()
  const validator = new TxValidator({ verifier })
  const intake = new TxIntake({ pool, validator })
  return { pool, verifier, validator, intake }
}

describe('TxValidator', () => {
  it('accepts a valid tx and the pool admits it durably', async () => {
    const { pool, intake } = setup()
    const built = await makeTx({ payloadBytes: 40_000 })
    const result = await intake.submit(built.bytes, { source: 'local' })
    expect(result.status).toBe('added')
    expect(pool.has(built.hash)).toBe(true)
    expect(await pool.getBody(built.hash)).toEqual(built.bytes)
  })

  it('rejects malformed bytes naming the field', async () => {
    const { validator } = setup()
    const built = await makeTx()
    // header (18 B) and one nullifier with its seed (64 B), then 10 of the sender's 32 bytes
    const v = await validator.validate(built.bytes.subarray(0, 18 + 64 + 10))
    expect(v).toMatchObject({ status: 'rejected', rule: 'malformed' })
    expect(v.status !== 'accepted' && v.message).toMatch(/^sender: truncated/)
  })

  it('rejects oversized input before decoding it', async () => {
    const validator = new TxValidator({ limits: { maxPayloadBytes: 1000, maxNullifiers: 4 } })
    const built = await makeTx({ payloadBytes: 2000 })
    expect(await validator.validate(built.bytes)).toMatchObject({ status: 'rejected', rule: 'too-large' })
  })

  it('rejects a tampered signature or payload as invalid-signature', async () => {
    const { validator } = setup()
    const built = await makeTx()
    const tampered = built.bytes.slice()
    const payloadAt = 1 + 8 + 8 + 1 + 64 + 32 + 4
    tampered[payloadAt + 10] = tampered[payloadAt + 10]! ^ 0xff // inside the payload
    expect(await validator.validate(tampered)).toMatchObject({ status: 'rejected', rule: 'invalid-signature' })
    const otherKey = Ed25519Signer.generate()
    // swap the sender, keep the signature: with no nullifiers only the signature can tell
    const bare = await makeTx({ nullifierSeeds: [] })
    const forged = bare.bytes.slice()
    forged.set(otherKey.publicKey, 1 + 8 + 8 + 1)
    expect(await validator.validate(forged)).toMatchObject({ status: 'rejected', rule: 'invalid-signature' })
    // with a nullifier, its binding to the sender breaks first
    const forgedSpend = built.bytes.slice()
    forgedSpend.set(otherKey.publicKey, 1 + 8 + 8 + 1 + 64)
    expect(await validator.validate(forgedSpend)).toMatchObject({ status: 'rejected', rule: 'nullifier-not-owned' })
  })

  it('ignores expired, too-far, underpriced txs before verifying them', async () => {
    const { intake, verifier } = setup({ minFee: 10n })
    const expired = await makeTx({ expiresAt: Date.now() - 1 })
    const far = await makeTx({ expiresAt: Date.now() + 48 * 3600_000 })
    const cheap = await makeTx({ fee: 9n })
    expect(await intake.check(expired.bytes)).toMatchObject({ status: 'ignored', rule: 'expired' })
    expect(await intake.check(far.bytes)).toMatchObject({ status: 'ignored', rule: 'expiry-too-far' })
    expect(await intake.check(cheap.bytes)).toMatchObject({ status: 'ignored', rule: 'fee-below-floor' })
    expect(verifier.calls).toBe(0)
  })

  it('ignores a duplicate and a nullifier conflict that does not outbid', async () => {
    const { intake } = setup()
    const n = randomSeed()
    const first = await makeTx({ fee: 100n, nullifierSeeds: [n] })
    expect((await intake.submit(first.bytes, { source: 'local' })).status).toBe('added')
    expect(await intake.check(first.bytes)).toMatchObject({ status: 'ignored', rule: 'duplicate' })
    const low = await makeTx({ fee: 109n, nullifierSeeds: [n] })
    expect(await intake.check(low.bytes)).toMatchObject({ status: 'ignored', rule: 'replacement-underpriced' })
    const high = await makeTx({ fee: 110n, nullifierSeeds: [n] })
    const r = await intake.submit(high.bytes, { source: 'local' })
    expect(r.status).toBe('added')
    expect(r.status === 'added' && r.replaced.map(e => e.hash)).toEqual([first.hash])
  })

  it('verifies a tx once however often it is seen', async () => {
    const { intake, validator, verifier } = setup()
    const built = await makeTx()
    await validator.validate(built.bytes)
    await validator.validate(built.bytes)
    expect(verifier.calls).toBe(1)
    expect(validator.stats.cacheHits).toBe(1)
    await intake.submit(built.bytes, { source: 'local' })
    expect(verifier.calls).toBe(1)
  })

  it('caches bad verdicts too, but not verifier crashes', async () => {
    let calls = 0
    const flaky: TxVerifier = { verify: async () => { calls++; throw new Error('backend down') } }
    const validator = new TxValidator({ verifier: flaky })
    const built = await makeTx()
    expect(await validator.validate(built.bytes)).toMatchObject({ status: 'rejected', rule: 'invalid-signature', message: /backend down/ })
    await validator.validate(built.bytes)
    expect(calls).toBe(2)
  })

  it('is pure: validity alone, whatever the pool would say (the intake asks the pool)', async () => {
    const { validator, intake } = setup({ minFee: 10n })
    const cheap = await makeTx({ fee: 9n })
    expect(await validator.validate(cheap.bytes)).toMatchObject({ status: 'accepted' })
    expect(await intake.check(cheap.bytes)).toMatchObject({ status: 'ignored', rule: 'fee-below-floor' })
  })

  it('builds txs with a custom signer', async () => {
    const signer = Ed25519Signer.generate()
    const built = await buildTx({ fee: 5n, expiresAt: Date.now() + 60_000, nullifierSeeds: [randomSeed()], payload: new Uint8Array(3) }, signer)
    expect(built.tx.header.sender).toEqual(signer.publicKey)
    const { validator } = setup()
    expect((await validator.validate(built.bytes)).status).toBe('accepted')
  })
})
