import type { Registrar } from '@libp2p/interface-internal'
import { DecodeError } from '../codec/bytes.ts'
import { isOversized } from './errors.ts'
import { fetchHandler, HARD_STREAM_CAP, type BodyProvider, type FetchServeConfig } from './fetch-protocol.ts'
import type { SyncPage, SyncRequest } from './messages.ts'
import type { ProtocolIds } from './protocols.ts'
import type { PeerQuotas } from './quotas.ts'
import type { Offense } from './reputation.ts'
import { syncHandler, type SyncConfig } from './sync-protocol.ts'

/**
 * The serving side of lightpool's protocols: answers other peers' fetch and
 * sync requests, within each peer's quotas. Fetch load over the quota is
 * throttled (answers wait); protocol violations and sync over its quota are
 * penalized. Knows the pool only through `provideBody` and `listPending`.
 */
/**
 * Longest a throttled fetch answer waits: 1 s, half a client's base request
 * timeout (fetcher.ts), so an honest peer over its quota is slowed, not timed out.
 */
const MAX_THROTTLE_WAIT_MS = 1_000

export interface ProtocolServerInit {
  registrar: Registrar
  ids: ProtocolIds
  fetch: FetchServeConfig
  sync: SyncConfig
  quotas: PeerQuotas
  penalize: (peer: string, offense: Offense, detail: string) => void
  provideBody: BodyProvider
  listPending: (request: SyncRequest) => SyncPage
  runOnLimitedConnection: boolean
}

export class ProtocolServer {
  private readonly init: ProtocolServerInit
  /** fetch streams each peer has open to us */
  private readonly fetchStreams = new Map<string, number>()
  /** delay owed before a peer's next fetch is answered (it went over its byte quota) */
  private readonly fetchDelay = new Map<string, number>()

  constructor (init: ProtocolServerInit) {
    this.init = init
  }

  async start (): Promise<void> {
    const { registrar, ids, fetch, sync, quotas } = this.init
    const streamOpts = {
      maxInboundStreams: fetch.maxStreamsPerConnection,
      maxOutboundStreams: fetch.maxStreamsPerConnection,
      runOnLimitedConnection: this.init.runOnLimitedConnection
    }
    await registrar.handle(ids.fetch, fetchHandler(fetch, this.init.provideBody, {
      admitStream: (peer) => this.admitStream(peer),
      streamClosed: (peer) => { this.streamClosed(peer) },
      beforeRequest: async (peer) => {
        // throttle, do not punish: the peer waits out its window (bounded by its own request timeout)
        const wait = Math.max(quotas.overBy('fetchRequests', peer), this.fetchDelay.get(peer) ?? 0)
        this.fetchDelay.delete(peer)
        if (wait > 0) await new Promise(resolve => setTimeout(resolve, Math.min(wait, MAX_THROTTLE_WAIT_MS)))
      },
      served: (peer, bytes) => {
        const wait = quotas.overBy('fetchBytes', peer, bytes)
        if (wait > 0) this.fetchDelay.set(peer, wait)
      },
      violation: (peer, err) => { this.onError(peer, err) }
    }), { ...streamOpts, maxInboundStreams: HARD_STREAM_CAP })
    await registrar.handle(ids.sync, syncHandler(sync, {
      list: this.init.listPending,
      admitRequest: (peer) => {
        if (quotas.consume('syncPages', peer)) return true
        // an honest client paces itself well below the quota: every excess counts
        this.init.penalize(peer, 'quota-exceeded', 'syncPages')
        return false
      },
      violation: (peer, err) => { this.onError(peer, err) }
    }), streamOpts)
  }

  async stop (): Promise<void> {
    await this.init.registrar.unhandle(this.init.ids.fetch)
    await this.init.registrar.unhandle(this.init.ids.sync)
  }

  private admitStream (peer: string): boolean {
    const max = this.init.fetch.maxStreamsPerConnection
    const open = this.fetchStreams.get(peer) ?? 0
    this.fetchStreams.set(peer, open + 1)
    if (open < max) return true
    this.init.penalize(peer, 'quota-exceeded', `fetch stream ${open + 1} of ${max}`)
    return false
  }

  private streamClosed (peer: string): void {
    const open = (this.fetchStreams.get(peer) ?? 1) - 1
    if (open <= 0) this.fetchStreams.delete(peer)
    else this.fetchStreams.set(peer, open)
  }

  /** Classifies an error while serving a peer; only the peer's own faults are penalized. */
  private onError (peer: string, err: unknown): void {
    if (err instanceof DecodeError) this.init.penalize(peer, 'malformed-message', err.message)
    else if (isOversized(err)) this.init.penalize(peer, 'oversized-message', 'request frame over its cap')
    else if ((err as Error | undefined)?.name === 'TimeoutError') this.init.penalize(peer, 'fetch-timeout', 'opened a stream and sent no request')
  }
}
