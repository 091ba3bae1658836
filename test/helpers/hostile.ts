import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { lightpoolGossip, type Gossip } from '../../src/net/gossip.ts'
import {
  decodeFetchRequest, encodeFetchItem, encodeSyncRequest, encodeTxAnnouncement,
  FETCH_FOUND, FETCH_MISSING
} from '../../src/net/messages.ts'
import { protocolIds, type ProtocolIds } from '../../src/net/protocols.ts'
import type { TxMeta } from '../../src/tx/types.ts'

/**
 * A real libp2p peer that speaks lightpool's wire protocols by hand, so it can
 * break them on purpose: announce what it never serves, serve what it did not
 * announce, send oversized frames, hammer sync, hoard streams.
 */
export interface HostilePeer {
  libp2p: Libp2p<{ pubsub: Gossip }>
  ids: ProtocolIds
  peerId: PeerId
  addr: string
  /** Publishes a tx announcement on gossip. */
  announce: (meta: TxMeta) => Promise<void>
  /** How it answers fetch requests: never, always "missing", or with whatever body `serve` returns. */
  serveFetch: (mode: 'silent' | 'missing' | ((hash: string) => Uint8Array)) => Promise<void>
  stop: () => Promise<void>
}

export async function hostilePeer (network = 'test'): Promise<HostilePeer> {
  const ids = protocolIds(network)
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: lightpoolGossip({ topics: [ids.txTopic, ids.proofTopic], appSpecificScore: () => 0 }) as unknown as (components: unknown) => Gossip
    }
  })
  libp2p.services.pubsub.subscribe(ids.txTopic)
  libp2p.services.pubsub.subscribe(ids.proofTopic)
  return {
    libp2p,
    ids,
    peerId: libp2p.peerId,
    addr: libp2p.getMultiaddrs()[0]!.toString(),
    announce: async (meta) => { await libp2p.services.pubsub.publish(ids.txTopic, encodeTxAnnouncement(meta)) },
    serveFetch: async (mode) => {
      await libp2p.unhandle(ids.fetch).catch(() => {})
      await libp2p.handle(ids.fetch, async (stream: Stream) => {
        const lp = lpStream(stream)
        try {
          while (true) {
            const req = decodeFetchRequest((await lp.read()).subarray(), 1024)
            if (mode === 'silent') continue
            await lp.writeV(req.hashes.map(h => encodeFetchItem(mode === 'missing' ? { status: FETCH_MISSING } : { status: FETCH_FOUND, body: mode(h) })))
          }
        } catch {
          stream.abort(new Error('done'))
        }
      }, { maxInboundStreams: 64 })
    },
    stop: async () => { await libp2p.stop() }
  }
}

/** A fabricated but well-formed announcement for a tx that does not exist. */
export function fakeMeta (i: number, size = 40_000): TxMeta {
  const hex = (n: number, salt: string): string => (salt + n.toString(16)).padStart(64, '0').slice(-64)
  return { hash: hex(i, 'ba5e'), size, fee: 100n, expiresAt: Date.now() + 60_000, nullifiers: [hex(i, 'f00d')] }
}

/** Opens a fetch stream to `peer` and writes `frame` raw (length prefix included by lpStream). */
export async function sendFetchFrame (from: Libp2p, peer: PeerId, protocol: string, frame: Uint8Array): Promise<void> {
  const stream = await from.dialProtocol(peer, protocol)
  await lpStream(stream).write(frame)
}

/** Opens `n` fetch streams to `peer` and leaves them idle; resolves with how many opened. */
export async function hoardStreams (from: Libp2p, peer: PeerId, protocol: string, n: number): Promise<number> {
  let opened = 0
  for (let i = 0; i < n; i++) {
    try {
      await from.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(2_000) })
      opened++
    } catch {
      break
    }
  }
  return opened
}

/** Asks `peer` for its first sync page, `n` times; resolves with how many were answered. */
export async function syncHammer (from: Libp2p, peer: PeerId, protocol: string, n: number): Promise<number> {
  let answered = 0
  for (let i = 0; i < n; i++) {
    try {
      const stream = await from.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(2_000) })
      const lp = lpStream(stream)
      await lp.write(encodeSyncRequest({ limit: 256 }))
      await lp.read({ signal: AbortSignal.timeout(2_000) })
      answered++
      await stream.close().catch(() => {})
    } catch {
      // refused (quota) or disconnected: keep trying, as an attacker would
    }
  }
  return answered
}
