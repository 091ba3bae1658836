import type { AddResult, TxPool } from '../pool/pool.ts'
import type { StoredTx } from '../pool/store.ts'
import { rejected, type Refusal } from '../tx/refusals.ts'
import type { TxMeta } from '../tx/types.ts'
import type { TxSource } from '../types.ts'
import { Emitter } from '../util/emitter.ts'
import type { TxValidator, Validation } from './validator.ts'

export type SubmitResult = (AddResult & { hash: string }) | (Refusal & { hash?: string })

/** The verdict on one tx body, by where it came from (the network service turns these into `tx:admission`, i.e. metrics). */
export interface AdmissionVerdict {
  source: TxSource
  status: 'added' | 'ignored' | 'rejected'
  /** the refusal's rule, or 'store-failed' when the store could not keep an admitted tx */
  rule?: string
}

export interface IntakeEvents {
  admission: AdmissionVerdict
}

export interface IntakeOptions {
  source: TxSource
  /** The hash of these bytes, when the caller has just computed it (a fetched body). */
  hash?: string
  /** What the body was announced or listed as: a body that differs is rejected as body-mismatch. */
  announced?: TxMeta
}

/** A light node's fetched body of a tx it lists: attached, no longer listed, or refused (and the listing dropped). */
export type AttachResult = { status: 'attached' | 'not-listed' } | Refusal

export interface TxIntakeInit {
  pool: TxPool
  validator: TxValidator
}

/**
 * TxIntake: the one path every tx body takes into the pool, from RPC
 * (publishTx), gossip and sync fetches, on-demand fetches and the store at
 * restart:
 *
 *   decode ─► hash ─► pool.canAdmit ─► verify ─► match the announcement ─► pool.add ─► verdict
 *
 * Cheapest first: the pool's metadata check runs before the signature, so a
 * tx the pool would refuse is never verified. The pool's `add` checks again:
 * its state may have moved while the signature was being verified, and it
 * alone decides. Every verdict is emitted as `admission`.
 */
export class TxIntake {
  readonly events = new Emitter<IntakeEvents>()
  private readonly pool: TxPool
  private readonly validator: TxValidator

  constructor (init: TxIntakeInit) {
    this.pool = init.pool
    this.validator = init.validator
  }

  /** Every stage but the add: would the pool take these bytes now? (RPC's pool_isValidTx.) */
  async check (bytes: Uint8Array, opts: Omit<IntakeOptions, 'source'> = {}): Promise<Validation> {
    const described = await this.validator.describe(bytes, opts.hash)
    if (!('tx' in described)) return described
    const { tx, meta } = described
    const admission = this.pool.canAdmit(meta)
    if (!admission.ok) return { status: admission.status, rule: admission.rule, message: admission.message, hash: meta.hash }
    const v = await this.validator.validateDescribed(tx, meta)
    if (v.status !== 'accepted' || opts.announced === undefined) return v
    const mismatch = matchesAnnouncement(opts.announced, meta)
    return mismatch === undefined ? v : { ...mismatch, hash: meta.hash }
  }

  /** The whole pipeline. Resolves once the pool holds the tx durably; rejects (after a 'store-failed' verdict) if the store failed. */
  async submit (bytes: Uint8Array, opts: IntakeOptions): Promise<SubmitResult> {
    const { source } = opts
    const v = await this.check(bytes, opts)
    if (v.status !== 'accepted') {
      this.events.emit('admission', { source, status: v.status, rule: v.rule })
      return v
    }
    let result: AddResult
    try {
      result = await this.pool.add(v.meta, bytes)
    } catch (err) {
      // the pool has taken the tx out again
      this.events.emit('admission', { source, status: 'ignored', rule: 'store-failed' })
      throw err
    }
    this.events.emit('admission', result.status === 'added' ? { source, status: 'added' } : { source, status: result.status, rule: result.rule })
    return { ...result, hash: v.meta.hash }
  }

  /**
   * A light node's on-demand body of a tx it lists from an announcement: only
   * validity and the match with the listing are in question. A body that is
   * invalid or not what was listed drops the listing: it described something
   * that does not exist.
   */
  async attach (bytes: Uint8Array, hash: string): Promise<AttachResult> {
    const listed = this.pool.get(hash)
    const v = await this.validator.validate(bytes, { hash })
    const refusal = v.status === 'accepted'
      ? (listed === undefined ? undefined : matchesAnnouncement(listed, v.meta))
      : v
    if (refusal !== undefined) {
      this.pool.remove(hash, 'invalid')
      return refusal
    }
    return { status: await this.pool.attachBody(hash, bytes) ? 'attached' : 'not-listed' }
  }

  /** A light node lists a tx it knows only by its announcement or a sync listing (no body). */
  list (meta: TxMeta): void {
    // refused or failed: nothing to do, the listing was only ever a hint
    void this.pool.add(meta).catch(() => {})
  }

  /**
   * Reloads the pool from its store, each record through the same stages: a
   * body must decode, hash to its key, be admissible and verify; a record
   * without a body (a light node's announced tx) keeps its stored metadata.
   */
  async restore (): Promise<{ restored: number, dropped: number }> {
    return await this.pool.restore(async (record) => await this.revalidate(record))
  }

  private async revalidate (record: StoredTx): Promise<TxMeta | undefined> {
    if (record.body === undefined) return record.meta
    const v = await this.check(record.body)
    if (v.status !== 'accepted' || v.meta.hash !== record.meta.hash) return undefined
    return v.meta
  }
}

/** Does a fetched body match what was announced for it? Any difference is the sender's fault. */
export function matchesAnnouncement (announced: TxMeta, actual: TxMeta): Refusal | undefined {
  const same = announced.hash === actual.hash &&
    announced.size === actual.size &&
    announced.fee === actual.fee &&
    announced.expiresAt === actual.expiresAt &&
    announced.nullifiers.length === actual.nullifiers.length &&
    announced.nullifiers.every((n, i) => n === actual.nullifiers[i])
  return same ? undefined : rejected('body-mismatch', `body of ${actual.hash} differs from its announcement`)
}
