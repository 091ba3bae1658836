import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { TxLimits } from '../../tx/limits.ts'
import { deadline } from '../../util/deadline.ts'
import { isStreamEnd } from '../errors.ts'
import {
  decodeServerFrame, encodeControlFrame, FEED_ACK, FEED_ITEMS, FEED_REFUSED, FEED_RESUMED, FEED_SNAPSHOT_END, FEED_SNAPSHOT_START,
  maxItemsPerFrame, type FeedCursor, type FeedItem
} from './codec.ts'
import { ackInterval, type FeedClientConfig } from './client-config.ts'
import type { RelayFeed, RelaySet } from './relay-set.ts'

/**
 * One subscription's frame protocol, from the client's side: reads the
 * relay's frames until the stream ends, checks they come in the order the
 * protocol allows, keeps the relay's view and cursor, hands items to
 * `apply` and completed snapshots to `snapshotEnded`, and acknowledges what
 * it consumed (ackInterval).
 *
 * Order: a snapshot is SNAPSHOT_START, items with seq 0, SNAPSHOT_END; a
 * resumed subscription begins with RESUMED answering the cursor it sent.
 * Live items (seq > 0) come only after either, each frame's first seq right
 * after the last applied: a gap ends the subscription, and the cursor is
 * dropped so the next one takes a snapshot. A frame out of place throws (a
 * protocol error, which costs the relay).
 */
export interface FeedSessionDeps {
  config: Readonly<FeedClientConfig>
  limits: TxLimits
  relays: RelaySet
  running: () => boolean
  apply: (relay: RelayFeed, item: FeedItem) => void
  snapshotEnded: (relay: RelayFeed) => void
}

/** Why a subscription ended without a protocol error. */
export type SessionEnd = { reason: 'ended' | 'stopping' } | { reason: `refused: ${string}`, refused: true }

/**
 * Reads frames until the stream ends; resolves with why it ended. `resume`:
 * the cursor the SUBSCRIBE carried. Throws on a protocol error.
 */
export async function readFeed (deps: FeedSessionDeps, relay: RelayFeed, stream: Stream, resume: FeedCursor | undefined): Promise<SessionEnd> {
  const { config, relays } = deps
  const lp = lpStream(stream, { maxDataLength: config.maxFrameBytes })
  const maxItems = maxItemsPerFrame(config.maxFrameBytes)
  let unacked = 0
  let ackEvery = config.ackEveryBytes
  /** live items may come: after SNAPSHOT_END or RESUMED on this stream */
  let live = false
  /** the cursor of the snapshot in progress, the relay's once it ends */
  let snapshotAt: FeedCursor | undefined
  while (deps.running()) {
    let bytes
    // one cleared timer per read: AbortSignal.timeout would leave one armed per frame for the whole silence timeout
    const silence = deadline(config.silenceTimeoutMs, 'no feed frame')
    try {
      bytes = await lp.read({ signal: silence.signal })
    } catch (err) {
      if (isStreamEnd(err)) return { reason: 'ended' }
      throw err
    } finally {
      silence.clear()
    }
    const frame = decodeServerFrame(bytes.subarray(), maxItems, deps.limits)
    relay.counters.frames++
    relay.counters.bytes += bytes.byteLength
    if (frame.type === FEED_ITEMS) {
      if (frame.items.length > 0) {
        if (frame.seq === 0) {
          if (relay.next === undefined) throw new Error('snapshot items outside a snapshot')
        } else {
          if (!live || relay.cursor === undefined) throw new Error('live items before SNAPSHOT_END or RESUMED')
          if (frame.seq !== relay.cursor.seq + 1) {
            // the relay skipped items (or repeats some): what this node holds from it can no longer be trusted to match
            const last = relay.cursor.seq
            relay.cursor = undefined
            throw new Error(`feed gap: items from seq ${frame.seq} after ${last}`)
          }
          relay.cursor = { epoch: relay.cursor.epoch, seq: frame.seq + frame.items.length - 1 }
        }
        for (const item of frame.items) deps.apply(relay, item)
      }
    } else if (frame.type === FEED_SNAPSHOT_START) {
      relay.next = new Set()
      // until it ends, the view is not one any cursor describes
      relay.cursor = undefined
      snapshotAt = { epoch: frame.epoch, seq: frame.seq }
      live = false
      ackEvery = ackInterval(frame.window, config.ackEveryBytes)
      relays.setState(relay, 'resyncing')
    } else if (frame.type === FEED_SNAPSHOT_END) {
      // an END without its START would take an empty view for the relay's pool and drop everything
      if (relay.next === undefined || snapshotAt === undefined) throw new Error('SNAPSHOT_END without SNAPSHOT_START')
      deps.snapshotEnded(relay)
      relay.cursor = snapshotAt
      snapshotAt = undefined
      live = true
      relays.setState(relay, 'live')
      relays.record(relay, { at: Date.now(), event: 'snapshot' })
    } else if (frame.type === FEED_RESUMED) {
      // only as the answer to this stream's cursor, and only first
      if (resume === undefined || live || relay.next !== undefined || relay.cursor !== resume || frame.epoch !== resume.epoch || frame.seq !== resume.seq) {
        throw new Error('RESUMED not answering this subscription\'s cursor')
      }
      relay.counters.resumes++
      live = true
      ackEvery = ackInterval(frame.window, config.ackEveryBytes)
      relays.setState(relay, 'live')
      relays.record(relay, { at: Date.now(), event: 'resumed' })
    } else if (frame.type === FEED_REFUSED) {
      return { reason: `refused: ${frame.code}`, refused: true }
    }
    unacked += bytes.byteLength
    if (unacked >= ackEvery) {
      stream.send(encodeControlFrame({ type: FEED_ACK, bytes: unacked }))
      unacked = 0
    }
  }
  stream.abort(new Error('stopping'))
  return { reason: 'stopping' }
}
