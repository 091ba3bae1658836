import type { TxPool } from '../../pool/pool.ts'
import type { ServiceFactories } from '../../types.ts'
import type { TxLimits } from '../../tx/limits.ts'
import { maxTxBytes } from '../../tx/limits.ts'
import type { SubmitResult } from '../../validation/intake.ts'
import type { TxValidator } from '../../validation/validator.ts'
import type { NodeMode } from '../service.ts'
import type { ProtocolIds } from '../protocols.ts'
import type { PeerReputation } from '../reputation.ts'
import { feedClient, type FeedClient, type FeedClientConfig } from './client.ts'
import { feedServer, type FeedServer, type FeedServerConfig } from './server.ts'
import { pushServer, type PushServer, type PushServerConfig } from './push.ts'
import type { FeedCheckConfig } from './checker.ts'
import type { TxMeta } from '../../tx/types.ts'
import { matchesAnnouncement } from '../../validation/intake.ts'

export { FeedClient, DEFAULT_FEED_CLIENT_CONFIG, type FeedClientConfig, type FeedEvent, type FeedState, type RelayFeedStats } from './client.ts'
export { FeedServer, DEFAULT_FEED_SERVER_CONFIG, type FeedServerConfig, type FeedServerStats } from './server.ts'
export { PushServer, DEFAULT_PUSH_SERVER_CONFIG, type PushServerConfig, type PushResult } from './push.ts'
export { DEFAULT_FEED_CHECK_CONFIG, type FeedCheckConfig, type RelayCheckStats } from './checker.ts'

/**
 * How the light feed plugs into a node: full nodes serve the feed and
 * lightpush, light nodes subscribe to the feed and push their own txs.
 */
export interface FeedInit {
  /** Default true. False: light nodes follow gossipsub alone, as before the feed. */
  enabled?: boolean
  server?: Partial<FeedServerConfig>
  client?: Partial<FeedClientConfig>
  push?: Partial<PushServerConfig>
  /** Trust, but check: sample fraction and agreement window (checker.ts). */
  check?: Partial<FeedCheckConfig>
}

/**
 * The gossipsub score a full node gives its feed subscribers: below
 * gossipsub's publishThreshold (-50), so they are neither grafted into its
 * tx mesh, nor sent IHAVE gossip or its own published messages (they get all
 * of that by the feed), and above graylistThreshold (-80), so what they send
 * (a tab's own tx over gossip, between tabs) is still accepted. This is what
 * keeps a relay's mesh slots for full nodes however many tabs it serves.
 */
const FEED_SUBSCRIBER_GOSSIP_SCORE = -60

/** Time a light node waits for a relay's push answer before trying another. */
const PUSH_TIMEOUT_MS = 15_000

export interface FeedServices {
  feedServer?: FeedServer
  feedClient?: FeedClient
  push?: PushServer
}

export interface FeedWiring {
  services: ServiceFactories
  /** The score term folded into gossipsub's app score for `peer`. */
  gossipScore: (peer: string) => number
  /** Called with libp2p's services once created. */
  bind: (services: FeedServices) => void
  /**
   * The feed lists this node's pool (a light node with the feed on): its
   * snapshots replace sync on connect, which would page through each relay's
   * pool a second time.
   */
  listsPool: boolean
}

export function feedWiring (init: {
  feed?: FeedInit
  mode: NodeMode
  ids: ProtocolIds
  pool: TxPool
  limits: TxLimits
  validator: TxValidator
  reputation: PeerReputation
  runOnLimitedConnection: boolean
  /** the node's own intake (publishTx), which a push runs */
  submit: () => (bytes: Uint8Array) => Promise<SubmitResult>
}): FeedWiring {
  const services: ServiceFactories = {}
  let server: FeedServer | undefined
  if (init.feed?.enabled === false) return { services, gossipScore: () => 0, bind: () => {}, listsPool: false }
  const penalize = (peer: string, detail: string): void => { init.reputation.penalize(peer, 'malformed-message', detail) }
  const limited = init.runOnLimitedConnection
  if (init.mode === 'full') {
    services.feedServer = feedServer({ protocol: init.ids.feed, pool: init.pool, runOnLimitedConnection: limited, penalize, ...(init.feed?.server === undefined ? {} : { config: init.feed.server }) })
    services.push = pushServer({
      protocol: init.ids.push,
      maxTxBytes: maxTxBytes(init.limits),
      submit: async (bytes) => await init.submit()(bytes),
      runOnLimitedConnection: limited,
      penalize,
      ...(init.feed?.push === undefined ? {} : { config: init.feed.push })
    })
  } else {
    const verify = async (body: Uint8Array, meta: TxMeta): Promise<string | undefined> => {
      const v = await init.validator.validate(body, { hash: meta.hash })
      if (v.status !== 'accepted') return `${v.rule}: ${v.message}`
      return matchesAnnouncement(meta, v.meta)?.message
    }
    services.feedClient = feedClient({
      protocol: init.ids.feed,
      pushProtocol: init.ids.push,
      pool: init.pool,
      limits: init.limits,
      runOnLimitedConnection: limited,
      penalize,
      check: {
        fetchProtocol: init.ids.fetch,
        maxTxBytes: maxTxBytes(init.limits),
        verify,
        distrust: (peer, detail) => { init.reputation.penalize(peer, 'invalid-tx', detail) },
        ...(init.feed?.check === undefined ? {} : { config: init.feed.check })
      },
      ...(init.feed?.client === undefined ? {} : { config: init.feed.client })
    })
  }
  return {
    services,
    gossipScore: (peer) => server?.isSubscriber(peer) === true ? FEED_SUBSCRIBER_GOSSIP_SCORE : 0,
    bind: (s) => { server = s.feedServer },
    listsPool: init.mode === 'light'
  }
}

/**
 * A light node's submit: validate here (a quick answer, and the body kept
 * locally), then push to the relays it is subscribed to (FeedClient.push).
 * Undefined if none could be reached: the caller falls back to announcing
 * over gossip.
 */
export async function pushToRelays (deps: { client: FeedClient, validator: TxValidator, pool: TxPool }, bytes: Uint8Array): Promise<SubmitResult | undefined> {
  if (deps.client.subscribed().length === 0) return undefined
  const v = await deps.validator.validate(bytes)
  if (v.status !== 'accepted') return v
  const pushed = await deps.client.push(bytes, PUSH_TIMEOUT_MS)
  if (pushed === undefined) return undefined
  const { relay, answer } = pushed
  if (answer.status !== 'added' && !(answer.status === 'ignored' && answer.rule === 'duplicate')) {
    return { status: answer.status, hash: v.meta.hash, rule: answer.rule as never, message: `refused by ${relay}: ${answer.message}` }
  }
  // the relay holds it durably; keep the body here too, so this tab can show it without a fetch
  const local = await deps.pool.add(v.meta, bytes).catch(() => undefined)
  if (local?.status === 'added') return { ...local, hash: v.meta.hash }
  const entry = deps.pool.get(v.meta.hash)
  if (entry !== undefined) {
    // the relay's feed listed it here before its answer came
    if (!entry.hasBody) await deps.pool.attachBody(v.meta.hash, bytes).catch(() => false)
    if (answer.status === 'added') return { status: 'added', tx: entry, replaced: [], evicted: [], hash: v.meta.hash }
  }
  return { status: 'ignored', hash: v.meta.hash, rule: 'duplicate', message: answer.status === 'added' ? `held by ${relay}` : answer.message }
}
