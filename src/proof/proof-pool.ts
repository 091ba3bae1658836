import { DecodeError } from '../codec/bytes.ts'
import { sha256 } from '../crypto/sha256.ts'
import { toHex } from '../tx/hex.ts'
import { Emitter } from '../util/emitter.ts'
import { ignored, rejected, type Refusal } from '../tx/refusals.ts'
import { decodeProof, DEFAULT_MAX_PROOF_BYTES, PROOF_FIXED_BYTES, verifyProofSignature, type ProofMeta } from './proof.ts'

export interface ProofPoolConfig {
  /** Largest proof accepted. Default 4 MiB. */
  maxProofBytes: number
  /** How many proofs to keep (the highest block numbers win). Default 8. */
  maxProofs: number
  /** Hex Ed25519 keys whose proofs are accepted; empty accepts any correctly signed proof. */
  trustedProvers: string[]
}

const DEFAULT_PROOF_POOL_CONFIG: Readonly<ProofPoolConfig> = Object.freeze({
  maxProofBytes: DEFAULT_MAX_PROOF_BYTES,
  maxProofs: 8,
  trustedProvers: []
})

export interface ProofPoolEvents {
  added: { meta: ProofMeta }
}

/**
 * The latest rollup proofs this node holds, in memory: proofs are rare and
 * superseded by the next block's, so a handful bounded by count and size is
 * all a node needs to serve and show.
 */
export class ProofPool {
  readonly config: Readonly<ProofPoolConfig>
  readonly events = new Emitter<ProofPoolEvents>()
  private readonly proofs = new Map<string, { meta: ProofMeta, bytes: Uint8Array }>()

  constructor (config: Partial<ProofPoolConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_PROOF_POOL_CONFIG, ...config })
  }

  get size (): number { return this.proofs.size }

  has (hash: string): boolean { return this.proofs.has(hash) }

  list (): ProofMeta[] {
    return [...this.proofs.values()].map(p => p.meta).sort((a, b) => b.blockNumber - a.blockNumber)
  }

  async getBody (hash: string): Promise<Uint8Array | undefined> {
    return this.proofs.get(hash)?.bytes
  }

  /** Metadata-only admission, before a proof is fetched. */
  canAdmit (meta: ProofMeta): Refusal | undefined {
    if (meta.size > PROOF_FIXED_BYTES + this.config.maxProofBytes) return rejected('too-large', `proof of ${meta.size} bytes exceeds the cap`)
    if (this.proofs.has(meta.hash)) return ignored('duplicate', 'proof already held')
    const lowest = this.lowest()
    if (this.proofs.size >= this.config.maxProofs && lowest !== undefined && meta.blockNumber <= lowest.blockNumber) {
      return ignored('pool-full', `older than every proof kept (block ${lowest.blockNumber})`)
    }
    return undefined
  }

  /** Validates and keeps a proof. `expected`, when given, is what it was announced as. */
  async add (bytes: Uint8Array, expected?: ProofMeta): Promise<{ status: 'added', meta: ProofMeta } | Refusal> {
    let proof
    try {
      proof = decodeProof(bytes, this.config.maxProofBytes)
    } catch (err) {
      if (err instanceof DecodeError) return rejected('malformed', err.message)
      throw err
    }
    const meta: ProofMeta = { hash: toHex(await sha256(bytes)), size: bytes.byteLength, blockNumber: proof.blockNumber }
    if (expected !== undefined && (expected.hash !== meta.hash || expected.size !== meta.size || expected.blockNumber !== meta.blockNumber)) {
      return rejected('body-mismatch', 'proof differs from its announcement')
    }
    const refusal = this.canAdmit(meta)
    if (refusal !== undefined) return refusal
    if (this.config.trustedProvers.length > 0 && !this.config.trustedProvers.includes(toHex(proof.prover))) {
      return rejected('invalid-signature', 'prover is not trusted')
    }
    if (!await verifyProofSignature(proof)) return rejected('invalid-signature', 'proof signature does not verify')
    if (this.proofs.has(meta.hash)) return ignored('duplicate', 'proof already held')
    this.proofs.set(meta.hash, { meta, bytes })
    while (this.proofs.size > this.config.maxProofs) {
      const lowest = this.lowest()
      if (lowest === undefined) break
      this.proofs.delete(lowest.hash)
    }
    this.events.emit('added', { meta })
    return { status: 'added', meta }
  }

  private lowest (): ProofMeta | undefined {
    let low: ProofMeta | undefined
    for (const { meta } of this.proofs.values()) if (low === undefined || meta.blockNumber < low.blockNumber) low = meta
    return low
  }
}
