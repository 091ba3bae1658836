import type { Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TxLimits } from '../tx/limits.ts'
import { requestSyncPage, type SyncConfig } from './sync-protocol.ts'
import type { SyncEntry, SyncRequest } from './messages.ts'

/**
 * Sync on connect, the client side: when a peer that speaks lightpool's sync
 * protocol subscribes to the tx topic, page through its pending pool — best
 * first, at most `concurrency` peers at a time, paced below the servers'
 * page quota — and hand every entry to the owner, which decides whether to
 * fetch it (full mode) or list it (light mode).
 */
export type ListingVerdict = 'wanted' | 'skip' | 'pool-full'

export interface SubscriptionChange {
  peerId: PeerId
  subscriptions: Array<{ topic: string, subscribe: boolean }>
}

export interface SyncClientInit {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  /** gossipsub, whose 'subscription-change' starts a sync */
  pubsub: TypedEventTarget<{ 'subscription-change': CustomEvent<SubscriptionChange> }>
  /** the tx announcement topic */
  topic: string
  protocol: string
  config: SyncConfig
  limits: TxLimits
  /** One listed tx; 'pool-full' ends the sync (pages are best first, the rest would not fit either). */
  onEntry: (peer: string, entry: SyncEntry) => ListingVerdict
  /** True when the txs wanted so far would fill the pool, so later pages are pointless. */
  enough: (wanted: number) => boolean
  /** True while the owner's fetcher is too busy to take more; the sync waits. */
  busy: () => boolean
  onDone: (peer: string, pages: number, wanted: number) => void
  onError: (peer: string, err: unknown) => void
}

export class SyncClient {
  private readonly init: SyncClientInit
  private readonly synced = new Set<string>()
  private readonly queue: PeerId[] = []
  private active = 0
  private running = false

  constructor (init: SyncClientInit) {
    this.init = init
  }

  start (): void {
    this.running = true
    this.init.pubsub.addEventListener('subscription-change', this.onSubscription)
    this.init.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  stop (): void {
    this.running = false
    this.queue.length = 0
    this.init.pubsub.removeEventListener('subscription-change', this.onSubscription)
    this.init.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /**
   * Sync when the peer subscribes to the tx topic, not when it connects:
   * subscriptions cross at once on a new connection, so by the time the peer
   * answers our first page it knows we are subscribed. A tx it admits before
   * then is in its listing; one it admits after is announced to us. Syncing
   * at connect instead would leave a gap in between in which a tx reaches
   * neither way.
   */
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChange>): void => {
    const { peerId, subscriptions } = evt.detail
    if (!subscriptions.some(s => s.topic === this.init.topic && s.subscribe)) return
    const key = peerId.toString()
    if (this.synced.has(key)) return
    this.synced.add(key)
    this.queue.push(peerId)
    this.drain()
  }

  /** A peer that reconnects is synced again: it may have txs we missed meanwhile. */
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.synced.delete(evt.detail.toString())
  }

  private drain (): void {
    while (this.running && this.active < this.init.config.concurrency && this.queue.length > 0) {
      const peer = this.queue.shift()!
      this.active++
      void this.syncWith(peer).finally(() => {
        this.active--
        this.drain()
      })
    }
  }

  /** Pages through one peer's pending pool. */
  async syncWith (peerId: PeerId): Promise<void> {
    const { config } = this.init
    const peer = peerId.toString()
    let cursor: string | undefined
    let pages = 0
    let wanted = 0
    let lastPageAt = -Infinity
    try {
      while (this.running && pages < config.maxPagesPerPeer) {
        while (this.running && this.init.busy()) await sleep(50)
        // pace below the server's page quota: an honest client never trips it
        const since = performance.now() - lastPageAt
        if (since < config.minPageIntervalMs) await sleep(config.minPageIntervalMs - since)
        lastPageAt = performance.now()
        const request: SyncRequest = cursor === undefined ? { limit: config.pageSize } : { limit: config.pageSize, cursor }
        const page = await requestSyncPage(this.init.connectionManager, peerId, this.init.protocol, request, this.init.limits, AbortSignal.timeout(config.timeoutMs))
        pages++
        let full = false
        for (const entry of page.entries) {
          const verdict = this.init.onEntry(peer, entry)
          if (verdict === 'wanted') wanted++
          else if (verdict === 'pool-full') full = true
        }
        if (page.next === undefined || full || this.init.enough(wanted)) break
        cursor = page.next
      }
      this.init.onDone(peer, pages, wanted)
    } catch (err) {
      this.init.onError(peer, err)
    }
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
