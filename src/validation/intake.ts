import type { AddResult, TxPool } from '../pool/pool.ts'
import type { StoredTx } from '../pool/store.ts'
import type { TxMeta } from '../tx/types.ts'
import { rejected, type Refusal } from './rules.ts'
import type { TxValidator } from './validator.ts'

export type SubmitResult = (AddResult & { hash: string }) | (Refusal & { hash?: string })

/**
 * Validates a tx's bytes and admits it to the pool: the one path every tx
 * takes into the pool, from RPC, gossip or a browser tab. Resolves once the
 * pool holds it durably.
 */
export async function submitTx (validator: TxValidator, pool: TxPool, bytes: Uint8Array): Promise<SubmitResult> {
  const v = await validator.validate(bytes)
  if (v.status !== 'accepted') return v
  const result = await pool.add(v.meta, bytes)
  return { ...result, hash: v.meta.hash }
}

/**
 * The revalidation `TxPool.restore` runs on each stored record: a body must
 * decode, hash to its key and verify; a record without a body (a light node's
 * announced tx) keeps its stored metadata.
 */
export function revalidateStored (validator: TxValidator): (record: StoredTx) => Promise<TxMeta | undefined> {
  return async (record) => {
    if (record.body === undefined) return record.meta
    const v = await validator.validate(record.body)
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
