/**
 * Feed subscribers stripped to what the relay sees of a tab: a libp2p node
 * (TCP, Noise, the node's muxer) that opens the feed stream, subscribes,
 * reads every frame, acknowledges as a light node does, and notes when each
 * tx was first listed. No pool, no validation, no gossip: one process holds a
 * thousand of them, so the relay can be measured at the count an operator
 * asks about (a thousand tabs) on a small machine.
 *
 * Only `decode` subscribers (one in ten, by the worker) decode their frames
 * to time each listing; the others read, count and acknowledge. Decoding
 * every item for a thousand subscribers (100 000 items/s at 100 tx/s) takes
 * a core of this machine by itself, and the relay's latency would then be
 * the subscribers' backlog. What the relay sends is the same for all.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { decodeServerFrame, encodeControlFrame, FEED_ACK, FEED_ITEMS, FEED_RESUMED, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, maxItemsPerFrame } from '../../../src/net/feed/codec.ts'
import { ackInterval, DEFAULT_FEED_CLIENT_CONFIG } from '../../../src/net/feed/client-config.ts'
import { muxer } from '../../../src/net/muxer.ts'
import { protocolIds } from '../../../src/net/protocols.ts'

export interface RawSubscriber {
  node: Libp2p
  /** does it decode its frames (and so time its listings)? */
  decode: boolean
  /** hash → when first listed (wall ms), while `measuring()` */
  listed: Map<string, number>
  /** frame bytes received, while measuring */
  bytes: number
}

export async function startRawSubscriber (relay: string, network: string, measuring: () => boolean, wall: () => number, decode: boolean): Promise<RawSubscriber> {
  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()],
    connectionManager: { dialTimeout: 30_000 },
    connectionMonitor: { enabled: false }
  })
  const sub: RawSubscriber = { node, decode, listed: new Map(), bytes: 0 }
  const addr = multiaddr(relay)
  let stream
  for (let attempt = 1; ; attempt++) {
    try {
      stream = await node.dialProtocol(addr, protocolIds(network).feed, { signal: AbortSignal.timeout(30_000) })
      break
    } catch (err) {
      if (attempt >= 5) throw err
      await new Promise(resolve => setTimeout(resolve, 500 * attempt))
    }
  }
  const lp = lpStream(stream, { maxDataLength: DEFAULT_FEED_CLIENT_CONFIG.maxFrameBytes })
  stream.send(encodeControlFrame({ type: FEED_SUBSCRIBE }))
  const maxItems = maxItemsPerFrame(DEFAULT_FEED_CLIENT_CONFIG.maxFrameBytes)
  void (async () => {
    let unacked = 0
    let ackEvery = DEFAULT_FEED_CLIENT_CONFIG.ackEveryBytes
    for (;;) {
      const bytes = await lp.read()
      if (measuring()) sub.bytes += bytes.byteLength
      // control frames are a few bytes (version, type, …); ITEMS is type 0
      const frame = decode || bytes.get(1) !== FEED_ITEMS ? decodeServerFrame(bytes.subarray(), maxItems) : undefined
      if (frame === undefined) {
        // not decoded: only counted
      } else if (frame.type === FEED_ITEMS && measuring()) {
        for (const item of frame.items) if (item.op === 'add' && !sub.listed.has(item.meta.hash)) sub.listed.set(item.meta.hash, wall())
      } else if (frame.type === FEED_SNAPSHOT_START || frame.type === FEED_RESUMED) {
        ackEvery = ackInterval(frame.window, DEFAULT_FEED_CLIENT_CONFIG.ackEveryBytes)
      }
      unacked += bytes.byteLength
      if (unacked >= ackEvery) {
        stream.send(encodeControlFrame({ type: FEED_ACK, bytes: unacked }))
        unacked = 0
      }
    }
  })().catch(() => {})
  return sub
}
