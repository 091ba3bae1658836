import { peerIdFromString } from '@libp2p/peer-id'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProofPool } from '../proof/proof-pool.ts'
import { decodeProofAnnouncement, encodeProofAnnouncement, PROOF_FIXED_BYTES, type ProofMeta } from '../proof/proof.ts'
import type { NodeMode } from '../types.ts'
import type { Emitter } from '../util/emitter.ts'
import type { Refusal } from '../tx/refusals.ts'
import { AnnouncementRelay, type GossipOrigin, type GossipVerdict } from './announcement-relay.ts'
import type { NetEvents } from './events.ts'
import { FetchClient } from './fetch-protocol.ts'
import type { FetcherConfig } from './fetcher.ts'
import { KIND_PROOF } from './messages.ts'
import type { PenaltyPolicy } from './penalties.ts'

/** A proof is megabytes: one per request, so one slow peer holds up one proof, not a batch. */
const PROOFS_PER_REQUEST = 1

export interface ProofRelayInit {
  mode: NodeMode
  proofs: ProofPool
  events: Emitter<NetEvents>
  penalties: PenaltyPolicy
  connectionManager: ConnectionManager
  fetchProtocol: string
  fetcher?: Partial<FetcherConfig>
  runOnLimitedConnection: boolean
  /** Publishes an announcement on the proof topic. */
  publish: (data: Uint8Array) => Promise<void>
  report: (origin: GossipOrigin, verdict: GossipVerdict) => void
}

/** The rollup-proof side of the network: the same relay as txs, with proofs' own codec and pool. Light nodes only list them. */
export class ProofRelay {
  readonly relay: AnnouncementRelay<ProofMeta>
  readonly client: FetchClient
  private readonly init: ProofRelayInit

  constructor (init: ProofRelayInit) {
    this.init = init
    const { proofs, penalties, events } = init
    const maxBytes = PROOF_FIXED_BYTES + proofs.config.maxProofBytes
    this.client = new FetchClient(init.connectionManager, init.fetchProtocol, maxBytes, init.runOnLimitedConnection)
    this.relay = new AnnouncementRelay<ProofMeta>({
      mode: init.mode,
      report: init.report,
      penalize: (peer, offense, detail) => { penalties.penalize(peer, offense, detail) },
      fetcher: { maxHashesPerRequest: PROOFS_PER_REQUEST, maxBytesPerRequest: maxBytes, ...init.fetcher },
      request: async (peer, hashes, signal) => await this.client.request(peerIdFromString(peer), KIND_PROOF, hashes, signal),
      deliver: async (hash, body, from) => await this.deliver(hash, body, from),
      fault: (peer, report) => { penalties.fetchFault(peer, report) },
      fetchDone: (peer, hashes, ms, ok) => { init.events.emit('fetch:done', { kind: 'proof', peer, hashes, ms, ok }) },
      kind: {
        decode: (data) => decodeProofAnnouncement(data, proofs.config.maxProofBytes),
        canAdmit: (meta) => proofs.canAdmit(meta),
        describeRefusal: (refusal) => `proof announcement: ${refusal.rule}: ${refusal.message}`,
        keepLight: (meta, source) => { events.emit('proof:announced', { meta, from: source }) },
        // a proof is only ever pending from an announcement, which is never held twice
        sameAs: () => false
      }
    })
  }

  get fetcher (): AnnouncementRelay<ProofMeta>['fetcher'] { return this.relay.fetcher }

  /** Validates, keeps and announces a rollup proof. */
  async publish (bytes: Uint8Array): Promise<{ status: 'added', meta: ProofMeta } | Refusal> {
    const result = await this.init.proofs.add(bytes)
    if (result.status === 'added') {
      this.init.events.emit('proof:added', { meta: result.meta })
      await this.init.publish(encodeProofAnnouncement(result.meta))
    }
    return result
  }

  onAnnouncement (origin: GossipOrigin, data: Uint8Array): void {
    this.relay.onAnnouncement(origin, data)
  }

  peerGone (peer: string): void {
    this.fetcher.peerGone(peer)
    this.client.drop(peer)
  }

  stop (): void {
    this.relay.stop()
    this.client.close()
  }

  private async deliver (hash: string, body: Uint8Array, from: string): Promise<'done' | 'retry'> {
    const { proofs, penalties } = this.init
    const result = await proofs.add(body, this.relay.entry(hash)?.meta)
    if (result.status === 'added') {
      this.relay.settle(hash, 'accept')
      this.init.events.emit('proof:added', { meta: result.meta, from })
      return 'done'
    }
    if (result.rule === 'body-mismatch') {
      penalties.penalize(from, 'body-mismatch', result.message)
      return 'retry'
    }
    if (result.status === 'rejected') penalties.penalize(from, 'invalid-tx', `proof ${result.rule}: ${result.message}`)
    this.relay.settle(hash, result.status === 'rejected' ? 'reject' : 'ignore')
    return 'done'
  }
}
