import { gossipsub as gossipsubImpl, type GossipsubOpts, type GossipSub as GossipSubInterface } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
import { sha256Sync } from '../crypto/sha256.ts'

/**
 * The one place that picks the gossipsub implementation. `@libp2p/gossipsub`
 * is ChainSafe's gossipsub ported to libp2p 3; `@chainsafe/libp2p-gossipsub`
 * 14.x still targets libp2p 2 and delivers nothing under libp2p 3. Switching
 * back is a change of this import.
 */
export const gossipsub = gossipsubImpl

/** What lightpool uses of a gossipsub instance beyond the public interface. */
export interface Gossip extends GossipSubInterface {
  reportMessageValidationResult: (msgId: string, propagationSource: string, acceptance: 'accept' | 'ignore' | 'reject') => void
  getMeshPeers: (topic: string) => string[]
  getScore: (peerId: string) => number
}

export interface LightpoolGossipInit {
  /** Topics this node takes part in; messages on any other topic are dropped unread. */
  topics: string[]
  /** Our own per-peer reputation, folded into the gossipsub score (P5). */
  appSpecificScore: (peerId: string) => number
  /**
   * Run on relayed (limited) connections. Browser peers reach each other through
   * a relay before upgrading to WebRTC, and the relay carries their gossip. Default false.
   */
  runOnLimitedConnection?: boolean
  /** Largest gossip RPC accepted. Announcements are ~100–2000 B; default 256 KiB. */
  maxInboundDataLength?: number
  /** Other gossipsub options, for tests and benchmarks. */
  overrides?: Partial<GossipsubOpts>
}

/**
 * Announcement topics are scored on P4 (invalid messages) only:
 * - P1 (time in mesh), P2 (first deliveries) and P3/P3b (mesh delivery rate)
 *   are off because tx traffic is bursty and a quiet mesh peer is not a bad
 *   one; with P3 on, a lull would prune honest peers.
 * - P4 punishes every announcement we reject (undecodable, or whose body
 *   turned out invalid or mismatched).
 */
const ANNOUNCE_TOPIC_SCORE: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 3600,
  firstMessageDeliveriesWeight: 0,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 100,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.9
}

/** gossipsub configured for lightpool's announcements. */
export function lightpoolGossip (init: LightpoolGossipInit): ReturnType<typeof gossipsubImpl> {
  const topics: Record<string, TopicScoreParams> = {}
  for (const t of init.topics) topics[t] = ANNOUNCE_TOPIC_SCORE
  return gossipsub({
    // announcements carry no author: the content is the message, and its hash is its id
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (msg) => sha256Sync(msg.data),
    // forward only after we have fetched, validated and stored the body
    asyncValidation: true,
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    // floodsub would let any peer push messages outside gossipsub's scoring
    fallbackToFloodsub: false,
    allowedTopics: init.topics,
    runOnLimitedConnection: init.runOnLimitedConnection ?? false,
    maxInboundDataLength: init.maxInboundDataLength ?? 256 * 1024,
    scoreParams: {
      topics,
      appSpecificScore: init.appSpecificScore,
      appSpecificWeight: 1,
      // Many browsers share their relay's address (a NAT, or loopback in tests):
      // IP colocation scoring would silently stop forwarding to them.
      IPColocationFactorWeight: 0
    },
    ...init.overrides
  })
}
