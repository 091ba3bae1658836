import type { TxMeta } from '../tx/types.ts'
import { ignored, rejected, type Refusal } from '../tx/refusals.ts'

/** The stateless part of admission: checks that need only the tx's metadata and the clock. */
export interface AdmissionPolicy {
  /** Lowest fee admitted at all. Default 1. */
  minFee: bigint
  /** A tx must stay valid at least this long after arrival to be worth relaying. Default 2 s. */
  minTimeToLiveMs: number
  /** Expiry further ahead than this is refused, so no tx can squat in pools forever. Default 24 h. */
  maxExpiryAheadMs: number
  /** Largest tx encoding admitted (derive from the envelope limits). */
  maxTxBytes: number
}

export function checkPolicy (meta: TxMeta, policy: AdmissionPolicy, now: number): Refusal | undefined {
  if (meta.size > policy.maxTxBytes) return rejected('too-large', `${meta.size} bytes exceeds the cap ${policy.maxTxBytes}`)
  if (meta.expiresAt < now + policy.minTimeToLiveMs) return ignored('expired', `expires at ${meta.expiresAt}, now ${now}`)
  if (meta.expiresAt > now + policy.maxExpiryAheadMs) return ignored('expiry-too-far', `expires more than ${policy.maxExpiryAheadMs} ms ahead`)
  if (meta.fee < policy.minFee) return ignored('fee-below-floor', `fee ${meta.fee} below the floor ${policy.minFee}`)
  return undefined
}
