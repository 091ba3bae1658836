import type { TxSource } from '../types.ts'
import type { ProofMeta } from '../proof/proof.ts'

export type { TxSource } from '../types.ts'

/** What lightpool's network service tells its owner (metrics, the UI, the RPC subscriptions). */
export interface NetEvents {
  /** The verdict on every tx body this node validated, by where it came from (metrics). */
  'tx:admission': { source: TxSource, status: 'added' | 'ignored' | 'rejected', rule?: string }
  /** A body arrived from a peer and the pool admitted it; `waitedMs` since this node first heard of the tx (announcement, sync listing or demand). */
  'tx:received': { hash: string, from: string, via: TxSource, waitedMs?: number }
  /** A fetch request answered or failed, and how long it took (metrics). */
  'fetch:done': { kind: 'tx' | 'proof', peer: string, hashes: number, ms: number, ok: boolean }
  /** A tx or announcement from a peer was refused as invalid. */
  'tx:rejected': { hash?: string, from: string, rule: string, message: string }
  'proof:added': { meta: ProofMeta, from?: string }
  /** A light node saw a proof announced (it does not download proofs). */
  'proof:announced': { meta: ProofMeta, from: string }
  'sync:done': { peer: string, pages: number, wanted: number }
}
