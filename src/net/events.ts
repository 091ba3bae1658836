import type { ProofMeta } from '../proof/proof.ts'

/** Where a tx body came from: a gossiped announcement, a sync listing, an on-demand fetch, or this node's own user. */
export type TxSource = 'gossip' | 'sync' | 'demand' | 'local'

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
