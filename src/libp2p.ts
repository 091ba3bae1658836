import { serviceDependencies, type Connection, type Logger, type Startable } from '@libp2p/interface'
import type { TxPool } from './pool/pool.ts'
import type { ProofPool } from './proof/proof-pool.ts'
import type { SubmitResult, TxIntake } from './validation/intake.ts'
import type { TxValidator } from './validation/validator.ts'
import type { Gossip } from './net/gossip.ts'
import type { PeerReputation } from './net/reputation.ts'
import type { LightpoolService, LightpoolServiceComponents as ProtocolComponents } from './net/service.ts'
import type { FeedClient, FeedServer, PushServer } from './net/feed/index.ts'
import type { NodeMode } from './types.ts'
import { lightpoolCore, type LightpoolCore, type LightpoolCoreApi, type LightpoolCoreInit, type LightpoolCoreServices } from './stack.ts'

/**
 * lightpool as one libp2p service, for a js-libp2p node someone already
 * runs (`lightpool/libp2p`):
 *
 * ```ts
 * const node = await createLibp2p({
 *   transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
 *   services: { identify: identify(), ping: ping(), lightpool: lightpoolService({ network: 'devnet' }) }
 * })
 * await node.services.lightpool.submitTx(bytes)
 * ```
 *
 * It runs the same parts `createLightpool` registers one by one (stack.ts):
 * the pool and its intake, connection liveness, gossipsub for announcements
 * (its own instance, with lightpool's scoring: a node's other gossipsub, if
 * it has one, is not touched), the lightpool protocols (fetch, sync, peer
 * exchange) and the light feed. It needs identify (`@libp2p/identify`),
 * which libp2p checks at start.
 *
 * Differences from `createLightpool`, which owns its libp2p: it cannot set
 * the node's connection gater, so a banned peer's connections are closed as
 * they open rather than refused; libp2p's own connection monitor stays as
 * the node configured it (liveness pings beside it; turn one off if both
 * are on). Init defaults are those of `LightpoolCoreInit` (stack.ts).
 */
export interface LightpoolServiceInit extends LightpoolCoreInit {
  /** Reload the pool from `store` at start. Default true. */
  restore?: boolean
}

/** What the service takes from libp2p: the lightpool protocols' components less the gossipsub it runs itself (its other parts take standard components too). */
export type LightpoolServiceComponents = Omit<ProtocolComponents, 'pubsub'> & Record<string, unknown>

export class LightpoolNode implements Startable {
  readonly network: string
  readonly mode: NodeMode
  readonly pool: TxPool
  readonly validator: TxValidator
  readonly intake: TxIntake
  readonly proofs: ProofPool
  readonly reputation: PeerReputation
  readonly pubsub: Gossip
  readonly net: LightpoolService
  readonly feedServer: FeedServer | undefined
  readonly feedClient: FeedClient | undefined
  readonly push: PushServer | undefined
  /** What the reload from the store found at start. */
  restored = { restored: 0, dropped: 0 }
  private readonly core: LightpoolCore
  private readonly api: LightpoolCoreApi
  private readonly init: LightpoolServiceInit
  private readonly components: LightpoolServiceComponents
  /** The parts, in the order they start (and the reverse they stop). */
  private readonly parts: Array<Partial<Startable>>
  private readonly log: Logger

  constructor (components: LightpoolServiceComponents, init: LightpoolServiceInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('lightpool:service')
    const core = lightpoolCore(init)
    this.core = core
    this.network = core.network
    this.mode = core.mode
    this.pool = core.pool
    this.validator = core.validator
    this.intake = core.intake
    this.proofs = core.proofs
    this.reputation = core.reputation
    const made: Record<string, unknown> = {}
    // the parts see libp2p's components, and the lightpool protocols also this gossipsub (as `pubsub`)
    const withMade = new Proxy(components, { get: (target, name) => typeof name === 'string' && name in made ? made[name] : (target as unknown as Record<string | symbol, unknown>)[name] })
    for (const [name, factory] of Object.entries(core.services)) made[name] = factory(withMade)
    const services = made as unknown as LightpoolCoreServices
    this.pubsub = services.pubsub
    this.net = services.lightpool
    this.feedServer = services.feedServer
    this.feedClient = services.feedClient
    this.push = services.push
    this.parts = Object.values(made) as Array<Partial<Startable>>
    this.api = core.bind(services)
  }

  readonly [Symbol.toStringTag] = '@lightpool/service'

  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  async start (): Promise<void> {
    if (this.init.restore !== false) this.restored = await this.intake.restore()
    this.pool.start()
    for (const p of this.parts) await p.beforeStart?.()
    for (const p of this.parts) await p.start?.()
    this.components.events.addEventListener('connection:open', this.onConnection)
  }

  async afterStart (): Promise<void> {
    for (const p of this.parts) await p.afterStart?.()
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('connection:open', this.onConnection)
    const parts = [...this.parts].reverse()
    for (const p of parts) await p.beforeStop?.()
    for (const p of parts) await p.stop?.()
    for (const p of parts) await p.afterStop?.()
    await this.pool.stop()
    await this.core.store.close()
  }

  /** Validates, stores durably and announces a tx (a light node pushes it to its relays). */
  async submitTx (bytes: Uint8Array): Promise<SubmitResult> {
    return await this.api.submitTx(bytes)
  }

  /** A tx's body, from the pool or fetched on demand. */
  async getTx (hash: string): Promise<Uint8Array | undefined> {
    return await this.api.getTx(hash)
  }

  /** No gater of ours on this node: a banned peer's connection is closed as it opens. */
  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (!this.reputation.isBanned(conn.remotePeer.toString())) return
    this.log('closing a connection from banned peer %p', conn.remotePeer)
    conn.abort(new Error('banned by lightpool'))
  }
}

/** The libp2p service factory: `services: { lightpool: lightpoolService(init) }`. */
export function lightpoolService (init: LightpoolServiceInit = {}): (components: LightpoolServiceComponents) => LightpoolNode {
  return (components) => new LightpoolNode(components, init)
}

export type { LightpoolCoreInit } from './stack.ts'
export { DEFAULT_FEED_CHECK_CONFIG, DEFAULT_FEED_CLIENT_CONFIG, DEFAULT_FEED_SERVER_CONFIG, DEFAULT_PUSH_SERVER_CONFIG } from './net/feed/index.ts'
export type { FeedCheckConfig, FeedClientConfig, FeedServerConfig, PushServerConfig } from './net/feed/index.ts'
export { DEFAULT_LIVENESS_CONFIG, type LivenessConfig } from './net/liveness.ts'
