import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendSignature, Ed25519Signer, encodeUnsigned, signingMessage, toHex, type BuiltTx } from '../../src/index.ts'
import { recordFigure } from '../helpers/figures.ts'
import { removeDir, startNodeProcess, tempDir, type NodeProcess } from '../helpers/process.ts'
import { makeTx, randomSeed } from '../helpers/txs.ts'

/**
 * A client that tries to evict other people's pending txs over JSON-RPC by
 * copying their nullifiers (and seeds) into txs it signs with its own key,
 * bidding more. Before nullifiers were bound to their owner, +10 % evicted
 * the victim's tx; now every copy is refused and only the owner can replace.
 */
let node: NodeProcess
let dataDir: string
beforeAll(async () => {
  dataDir = tempDir()
  // one test client makes ~70 calls in a second: lift the per-address RPC rate limit, nothing else
  node = await startNodeProcess({ dataDir, args: ['--rpc-rate-limit', '100000'] })
}, 60_000)
afterAll(async () => {
  if (node?.proc.exitCode === null) await node.stop()
  removeDir(dataDir)
})

const hex = (b: Uint8Array): string => `0x${toHex(b)}`

async function copyWithOwnKey (victim: BuiltTx, fee: bigint, attacker: Ed25519Signer): Promise<Uint8Array> {
  const { nullifiers, nullifierSeeds, expiresAt } = victim.tx.header
  const unsigned = encodeUnsigned({ fee, expiresAt, nullifiers, nullifierSeeds, sender: attacker.publicKey }, new Uint8Array(1000))
  return appendSignature(unsigned, await attacker.sign(await signingMessage(unsigned)))
}

describe('hostile tx senders', () => {
  it('copies of pending txs\' nullifiers with a higher fee are refused; the owner can still replace its tx', async () => {
    const VICTIMS = 20
    const owner = Ed25519Signer.generate()
    const seeds = Array.from({ length: VICTIMS }, () => randomSeed())
    const victims = await Promise.all(seeds.map(async seed => await makeTx({ signer: owner, fee: 100n, nullifierSeeds: [seed] })))
    for (const v of victims) await node.call('pool_sendTx', [hex(v.bytes)])

    const attacker = Ed25519Signer.generate()
    const refusals = new Map<string, number>()
    for (const [i, v] of victims.entries()) {
      const fee = i % 2 === 0 ? 110n : 1_000_000n
      try {
        await node.call('pool_sendTx', [hex(await copyWithOwnKey(v, fee, attacker))])
        refusals.set('accepted', (refusals.get('accepted') ?? 0) + 1)
      } catch (err) {
        const rule = /: (rejected|ignored): ([a-z-]+)/.exec((err as Error).message)?.slice(1).join(' ') ?? (err as Error).message
        refusals.set(rule, (refusals.get(rule) ?? 0) + 1)
      }
    }
    expect(Object.fromEntries(refusals)).toEqual({ 'rejected nullifier-not-owned': VICTIMS })
    for (const v of victims) expect(await node.call('pool_getTxStatus', [`0x${v.hash}`])).toMatchObject({ status: 'pending' })

    // the owner bumps its first tx by 10 %: that replaces it
    const bump = await makeTx({ signer: owner, fee: 110n, nullifierSeeds: [seeds[0]!] })
    await node.call('pool_sendTx', [hex(bump.bytes)])
    expect(await node.call('pool_getTxStatus', [`0x${bump.hash}`])).toMatchObject({ status: 'pending' })
    expect(await node.call('pool_getTxStatus', [`0x${victims[0]!.hash}`])).not.toMatchObject({ status: 'pending' })

    recordFigure('hostile tx senders', 'nullifier copies by another key', {
      victims: VICTIMS,
      copies_sent: VICTIMS,
      refused_as: [...refusals].map(([r, n]) => `${r}×${n}`).join(','),
      victims_still_pending: VICTIMS,
      owner_bump_replaced: true
    })
  }, 60_000)
})
