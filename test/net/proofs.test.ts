import { equals } from 'uint8arrays/equals'
import { afterEach, describe, expect, it } from 'vitest'
import type { Lightpool } from '../../src/lightpool.ts'
import { Ed25519Signer } from '../../src/index.ts'
import { buildProof, encodeProofAnnouncement } from '../../src/proof/proof.ts'
import { sha256 } from '../../src/crypto/sha256.ts'
import { toHex } from '../../src/tx/hex.ts'
import { hostilePeer } from '../helpers/hostile.ts'
import { connect, startNode, stopAll, waitFor, waitForMesh } from '../helpers/network.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

const prover = Ed25519Signer.generate()

describe('rollup proofs', () => {
  it('travel by announce-then-fetch on their own topic; light nodes only see the announcement', async () => {
    const a = await startNode()
    const b = await startNode()
    const light = await startNode({ mode: 'light' })
    nodes = [a, b, light]
    await connect(a, b)
    await connect(light, b)
    await waitForMesh(nodes)
    const announced: number[] = []
    light.net.events.on('proof:announced', (e) => announced.push(e.meta.blockNumber))

    const proof = await buildProof(42, crypto.getRandomValues(new Uint8Array(60_000)), prover)
    expect((await a.net.publishProof(proof.bytes)).status).toBe('added')
    await waitFor(() => b.proofs.has(proof.meta.hash), 5_000, 'the proof on the second full node')
    expect(equals((await b.proofs.getBody(proof.meta.hash))!, proof.bytes)).toBe(true)
    await waitFor(() => announced.length === 1, 5_000, 'the announcement at the light node')
    expect(light.proofs.size).toBe(0)
  })

  it('a proof with a bad signature is rejected and its relayer penalized; an oversized one is refused', async () => {
    const honest = await startNode({ proofs: { maxProofBytes: 100_000 } })
    nodes = [honest]
    const h = await hostilePeer('test')
    try {
      await h.libp2p.dial(honest.libp2p.getMultiaddrs()[0]!)
      await waitFor(() => honest.libp2p.services.pubsub.getSubscribers(h.ids.proofTopic).length > 0 &&
        h.libp2p.services.pubsub.getSubscribers(h.ids.proofTopic).length > 0, 5_000, 'the subscriptions')
      const proof = await buildProof(7, new Uint8Array(1_000), prover)
      const forged = proof.bytes.slice()
      forged[forged.length - 1] = forged[forged.length - 1]! ^ 1
      const forgedMeta = { hash: toHex(await sha256(forged)), size: forged.length, blockNumber: 7 }
      await h.serveFetch(() => forged)
      await h.libp2p.services.pubsub.publish(h.ids.proofTopic, encodeProofAnnouncement(forgedMeta))
      await waitFor(() => honest.reputation.score(h.peerId.toString()) < -19, 5_000, 'the penalty for the forged proof')
      expect(honest.proofs.has(forgedMeta.hash)).toBe(false)

      const before = honest.reputation.score(h.peerId.toString())
      await h.libp2p.services.pubsub.publish(h.ids.proofTopic, encodeProofAnnouncement({ hash: 'ab'.repeat(32), size: 500_000, blockNumber: 9 }))
      await waitFor(() => honest.reputation.score(h.peerId.toString()) < before, 5_000, 'the penalty for the oversized announcement')
      expect(honest.net.stats().fetcher.requests).toBe(0)
    } finally {
      await h.stop()
    }
  })
})
