/**
 * Every reason lightpool refuses a tx, by name. The split matters to the
 * network layer: a *rejected* tx is the sender's fault (it broke a rule every
 * honest node applies), so the peer that relayed it is penalized; an *ignored*
 * tx broke only local policy or lost a race (expired in flight, pool full,
 * already known), so nobody is penalized.
 */
export type RejectRule =
  /** the bytes do not decode as a tx envelope (the message names the field) */
  | 'malformed'
  /** larger than the envelope's caps allow */
  | 'too-large'
  /** the signature (or the verifier's proof check) fails */
  | 'invalid-signature'
  /** a nullifier is not bound to the tx's sender: a copy of someone else's nullifier (see src/tx/nullifier.ts) */
  | 'nullifier-not-owned'
  /** a fetched body is not what was announced (hash, size, fee, expiry or nullifiers differ) */
  | 'body-mismatch'

export type IgnoreRule =
  | 'duplicate'
  | 'expired'
  | 'expiry-too-far'
  | 'fee-below-floor'
  /** conflicts on a nullifier with a pending tx and does not outbid it by the replacement bump */
  | 'replacement-underpriced'
  /** the pool is at its count or byte cap and this tx does not beat the txs it would evict */
  | 'pool-full'
  /** spends a nullifier of a tx recently marked mined */
  | 'nullifier-spent'

export type Rule = RejectRule | IgnoreRule

export interface Refusal {
  status: 'ignored' | 'rejected'
  rule: Rule
  message: string
}

export function rejected (rule: RejectRule, message: string): Refusal {
  return { status: 'rejected', rule, message }
}

export function ignored (rule: IgnoreRule, message: string): Refusal {
  return { status: 'ignored', rule, message }
}
