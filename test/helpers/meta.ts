import type { TxMeta } from '../../src/index.ts'

let counter = 0

/** A synthetic tx's metadata: the pool never looks at bodies, so tests of ordering need no signing. */
export function meta (fields: Partial<TxMeta> & { fee: bigint }): TxMeta {
  counter++
  return {
    hash: fields.hash ?? counter.toString(16).padStart(64, '0'),
    size: fields.size ?? 1000,
    fee: fields.fee,
    expiresAt: fields.expiresAt ?? Date.now() + 3600_000,
    nullifiers: fields.nullifiers ?? [('n' + counter.toString(16)).padStart(64, '0')]
  }
}

export function nullifier (label: number): string {
  return label.toString(16).padStart(64, 'a')
}
