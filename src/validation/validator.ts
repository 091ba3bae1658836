import { DecodeError } from '../codec/bytes.ts'
import { decodeTx, txHash, txMeta } from '../tx/encoding.ts'
import { DEFAULT_TX_LIMITS, maxTxBytes, type TxLimits } from '../tx/limits.ts'
import { rejected, type Refusal } from '../tx/refusals.ts'
import type { Tx, TxMeta } from '../tx/types.ts'
import { SignatureVerifier, type TxInvalid, type TxVerifier } from '../tx/verifier.ts'
import { LruCache } from '../util/lru.ts'

/** Verification results remembered by tx hash: a pool's worth and more, so a tx seen by RPC and gossip is verified once. */
const DEFAULT_VERIFIED_CACHE_SIZE = 16_384

export type Validation =
  | { status: 'accepted', tx: Tx, meta: TxMeta }
  | (Refusal & { hash?: string })

export interface ValidatorInit {
  limits?: TxLimits
  verifier?: TxVerifier
  /** How many verification results to remember, by tx hash. Default DEFAULT_VERIFIED_CACHE_SIZE. */
  cacheSize?: number
}

export interface ValidatorStats {
  verified: number
  cacheHits: number
}

/**
 * What a tx's bytes say about themselves, knowing nothing of any pool:
 *
 *   1. structure and size — strict decode against the envelope's caps
 *   2. id                 — SHA-256 of the encoding (needed by every later stage)
 *   3. validity           — the verifier: signature, or a chain's proof check
 *
 * Whether the pool would take the tx is the pool's question (`canAdmit`); the
 * intake (intake.ts) asks it between stages 2 and 3, so the expensive stage
 * runs only for txs that could be admitted. Stage 3's result is cached by
 * hash, so a tx seen through RPC and gossip, or refetched after an eviction,
 * is verified once.
 */
export class TxValidator {
  readonly limits: TxLimits
  private readonly verifier: TxVerifier
  /** hash → undefined (valid) or the reason it is invalid */
  private readonly verified: LruCache<string, TxInvalid | null>
  private readonly counters: ValidatorStats = { verified: 0, cacheHits: 0 }

  constructor (init: ValidatorInit = {}) {
    this.limits = init.limits ?? DEFAULT_TX_LIMITS
    this.verifier = init.verifier ?? new SignatureVerifier()
    this.verified = new LruCache(init.cacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE)
  }

  get stats (): Readonly<ValidatorStats> { return this.counters }

  /** Stage 1: decodes `bytes`, or names what is wrong with them. */
  decode (bytes: Uint8Array): { tx: Tx } | Refusal {
    if (bytes.byteLength > maxTxBytes(this.limits)) return rejected('too-large', `${bytes.byteLength} bytes exceeds the cap ${maxTxBytes(this.limits)}`)
    try {
      return { tx: decodeTx(bytes, this.limits) }
    } catch (err) {
      if (err instanceof DecodeError) return rejected('malformed', err.message)
      throw err
    }
  }

  /**
   * Stages 1 and 2: the decoded tx and its metadata. A caller that has just
   * hashed these very bytes (to check a fetched body) passes the hash.
   */
  async describe (bytes: Uint8Array, hash?: string): Promise<{ tx: Tx, meta: TxMeta } | Refusal> {
    const decoded = this.decode(bytes)
    if (!('tx' in decoded)) return decoded
    const { tx } = decoded
    return { tx, meta: txMeta(tx, hash ?? await txHash(bytes)) }
  }

  /** Every stage on the bytes of a tx. */
  async validate (bytes: Uint8Array, opts: { hash?: string } = {}): Promise<Validation> {
    const described = await this.describe(bytes, opts.hash)
    if (!('tx' in described)) return described
    return await this.validateDescribed(described.tx, described.meta)
  }

  /** Stage 3 on a tx already described: accepted, or rejected as invalid-signature. */
  async validateDescribed (tx: Tx, meta: TxMeta): Promise<Validation> {
    const invalid = await this.verify(tx, meta.hash)
    if (invalid !== undefined) return { ...rejected(invalid.rule, invalid.message), hash: meta.hash }
    return { status: 'accepted', tx, meta }
  }

  /** Stage 3 alone, cached: resolves to undefined when valid, else the rule broken and why. */
  async verify (tx: Tx, hash: string): Promise<TxInvalid | undefined> {
    const cached = this.verified.get(hash)
    if (cached !== undefined) {
      this.counters.cacheHits++
      return cached ?? undefined
    }
    let reason: TxInvalid | undefined
    try {
      const verdict = await this.verifier.verify(tx)
      reason = typeof verdict === 'string' ? { rule: 'invalid-signature', message: verdict } : verdict
    } catch (err) {
      // A verifier must not throw for bad input. If one does, refuse the tx but
      // do not cache the verdict: the failure may be the verifier's, not the tx's.
      return { rule: 'invalid-signature', message: `verifier failed: ${(err as Error).message}` }
    }
    this.counters.verified++
    this.verified.set(hash, reason ?? null)
    return reason
  }
}
