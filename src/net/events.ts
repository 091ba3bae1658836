import type { TxSource } from '../types.ts'
import type { ProofMeta } from '../proof/proof.ts'

export type { TxSource } from '../types.ts'

/** What lightpool's network service tells its owner (metrics, the UI, the RPC subscriptions). */
export interface NetEvents {
  /** The verdict on every tx body this node validated, by where it came from (metrics). */
  'tx:admission': { source: TxSource, status: 'added' | 'ignored' | 'rejected', rule?: string }
  /** A body arrived from a peer and the pool admitted it. */
  'tx:received': { hash: string, from: string, via: TxSource }
  /** A tx or announcement from a peer was refused as invalid. */
  'tx:rejected': { hash?: string, from: string, rule: string, message: string }
  'proof:added': { meta: ProofMeta, from?: string }
  /** A light node saw a proof announced (it does not download proofs). */
  'proof:announced': { meta: ProofMeta, from: string }
  'sync:done': { peer: string, pages: number, wanted: number }
}
