import { DecodeError } from '../codec/bytes.ts'
import { decodeTx, txHash, txMeta } from '../tx/encoding.ts'
import { DEFAULT_TX_LIMITS, maxTxBytes, type TxLimits } from '../tx/limits.ts'
import type { Tx, TxMeta } from '../tx/types.ts'
import { SignatureVerifier, type TxInvalid, type TxVerifier } from '../tx/verifier.ts'
import { LruCache } from '../util/lru.ts'
import type { AdmissionCheck } from '../pool/pool.ts'
import { rejected, type Refusal } from './rules.ts'

/** What the validator needs of the pool: the metadata-only admission check. */
export interface AdmissionGate {
  canAdmit: (meta: TxMeta) => AdmissionCheck
}

export type Validation =
  | { status: 'accepted', tx: Tx, meta: TxMeta }
  | (Refusal & { hash?: string })

export interface ValidatorInit {
  gate: AdmissionGate
  limits?: TxLimits
  verifier?: TxVerifier
  /** How many verification results to remember, by tx hash. Default 16 384. */
  cacheSize?: number
}

export interface ValidatorStats {
  verified: number
  cacheHits: number
}

/**
 * Staged validation, cheapest stage first, so the expensive ones run only for
 * txs that could be admitted:
 *
 *   1. structure and size — strict decode against the envelope's caps
 *   2. id                 — SHA-256 of the encoding (needed by every later stage)
 *   3. admission          — policy (fee floor, expiry) and pool state (duplicate,
 *                           nullifier conflict, pool full), via `gate.canAdmit`
 *   4. validity           — the verifier: signature, or a chain's proof check
 *
 * Stage 4's result is cached by hash, so a tx seen through RPC and gossip, or
 * refetched after an eviction, is verified once.
 */
export class TxValidator {
  readonly limits: TxLimits
  private readonly gate: AdmissionGate
  private readonly verifier: TxVerifier
  /** hash → undefined (valid) or the reason it is invalid */
  private readonly verified: LruCache<string, TxInvalid | null>
  private readonly counters: ValidatorStats = { verified: 0, cacheHits: 0 }

  constructor (init: ValidatorInit) {
    this.gate = init.gate
    this.limits = init.limits ?? DEFAULT_TX_LIMITS
    this.verifier = init.verifier ?? new SignatureVerifier()
    this.verified = new LruCache(init.cacheSize ?? 16_384)
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
   * Runs every stage on the bytes of a tx. With `admission: false` stage 3 is
   * skipped: for the body of a tx the pool already lists (a light node
   * fetching on demand), where only validity is in question.
   */
  async validate (bytes: Uint8Array, opts: { admission?: boolean, hash?: string } = {}): Promise<Validation> {
    const decoded = this.decode(bytes)
    if (!('tx' in decoded)) return decoded
    const { tx } = decoded
    // a caller that has just hashed these very bytes (to check a fetched body) passes the hash
    const hash = opts.hash ?? await txHash(bytes)
    const meta = txMeta(tx, hash)
    if (opts.admission !== false) {
      const check = this.gate.canAdmit(meta)
      if (!check.ok) return { status: check.status, rule: check.rule, message: check.message, hash }
    }
    const invalid = await this.verify(tx, hash)
    if (invalid !== undefined) return { ...rejected(invalid.rule, invalid.message), hash }
    return { status: 'accepted', tx, meta }
  }

  /** Stage 4 alone, cached: resolves to undefined when valid, else the rule broken and why. */
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
