import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Lightpool } from '../../src/lightpool.ts'
import type { PoolEntry } from '../../src/pool/pool.ts'
import { MemoryPoolStore } from '../../src/pool/store.ts'
import {
  decodeClientFrame, decodeServerFrame, encodeAddItem, encodeControlFrame, encodeItemsFrame, FEED_ACK, FEED_ITEMS, FEED_RESUMED,
  FEED_SNAPSHOT_END, FEED_SNAPSHOT_START, FEED_SUBSCRIBE, MAX_CLIENT_FRAME_BYTES, maxItemsPerFrame, type FeedCursor, type ServerFrame
} from '../../src/net/feed/codec.ts'
import { connect, startNode, stopAll, waitFor } from '../helpers/network.ts'
import type { BuiltTx } from '../../src/index.ts'
import { makeTx, randomSeed } from '../helpers/txs.ts'

let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

const N = 200

const hashes = (node: Lightpool): string[] => [...node.pool.best()].map(tx => tx.hash).sort()
const feedStats = (light: Lightpool): ReturnType<NonNullable<Lightpool['libp2p']['services']['feedClient']>['stats']>[number] => light.libp2p.services.feedClient!.stats()[0]!
const subscribed = (light: Lightpool): boolean => (light.libp2p.services.feedClient?.subscribed().length ?? 0) >= 1

/** A light node following `full` by the feed alone (no sync), with quick retries. */
async function follower (full: Lightpool): Promise<Lightpool> {
  const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } }, feed: { client: { retryBaseMs: 100, targets: [full.peerId.toString()] } } })
  nodes.push(light)
  await connect(light, full)
  await waitFor(() => subscribed(light) && feedStats(light).listed === full.pool.size, 15_000, 'the first snapshot')
  return light
}

async function fill (full: Lightpool, n: number): Promise<BuiltTx[]> {
  const txs = await Promise.all(Array.from({ length: n }, async () => await makeTx()))
  for (const tx of txs) expect((await full.submitTx(tx.bytes)).status).toBe('added')
  return txs
}

/**
 * Hangs up; once the subscription is down, `meanwhile` runs on the full node;
 * then reconnects (to the full node `meanwhile` returns, if it restarted it)
 * and waits for the pools to match. The bytes: what the feed sent after.
 */
async function awayAndBack (light: Lightpool, away: Lightpool, meanwhile: () => Promise<Lightpool | undefined>): Promise<{ bytes: number, removed: Array<{ hash: string, reason: string }> }> {
  await light.libp2p.hangUp(away.peerId)
  await waitFor(() => !subscribed(light), 10_000, 'the subscription to end')
  const full = await meanwhile() ?? away
  const removed: Array<{ hash: string, reason: string }> = []
  light.pool.events.on('removed', (e) => { removed.push({ hash: e.tx.hash, reason: e.reason }) })
  const before = feedStats(light).bytes
  await connect(light, full)
  await waitFor(() => subscribed(light) && hashes(light).join() === hashes(full).join(), 15_000, 'the light pool to match the full node\'s')
  // a moment for anything still in flight (a snapshot would still be arriving)
  await new Promise(resolve => setTimeout(resolve, 300))
  expect(hashes(light)).toEqual(hashes(full))
  return { bytes: feedStats(light).bytes - before, removed }
}

/**
 * A bare subscriber on `node`'s connection to `relay`: records every frame,
 * checks that live items come with consecutive seqs after the SNAPSHOT_START
 * or RESUMED before them, and acknowledges what it read while `acking`.
 */
async function rawSubscriber (node: Lightpool, relay: Lightpool, resume?: FeedCursor): Promise<{
  frames: ServerFrame[]
  listed: Set<string>
  /** the last live seq applied, under the epoch of the last START or RESUMED */
  cursor: () => FeedCursor | undefined
  acking: boolean
  /** acknowledges what was read and not yet acknowledged */
  ack: () => void
  close: () => Promise<void>
}> {
  const stream = await node.libp2p.dialProtocol(relay.peerId, relay.net.ids.feed)
  const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
  stream.send(encodeControlFrame(resume === undefined ? { type: FEED_SUBSCRIBE } : { type: FEED_SUBSCRIBE, resume }))
  const frames: ServerFrame[] = []
  const listed = new Set<string>()
  let epoch: bigint | undefined
  let last: number | undefined
  let unacked = 0
  const sub = {
    frames,
    listed,
    cursor: () => epoch === undefined || last === undefined ? undefined : { epoch, seq: last },
    acking: true,
    ack: () => {
      if (unacked > 0) stream.send(encodeControlFrame({ type: FEED_ACK, bytes: unacked }))
      unacked = 0
    },
    close: async () => { stream.abort(new Error('done')); await reading }
  }
  const reading = (async () => {
    while (true) {
      const bytes = await lp.read().catch(() => undefined)
      if (bytes === undefined) return
      const frame = decodeServerFrame(bytes.subarray(), maxItemsPerFrame(64 * 1024))
      frames.push(frame)
      if (frame.type === FEED_SNAPSHOT_START) {
        listed.clear()
        epoch = frame.epoch
        last = frame.seq
      } else if (frame.type === FEED_RESUMED) {
        epoch = frame.epoch
        last = frame.seq
      } else if (frame.type === FEED_ITEMS && frame.items.length > 0) {
        if (frame.seq !== 0) {
          expect(frame.seq, 'live items follow the last applied').toBe(last! + 1)
          last = frame.seq + frame.items.length - 1
        }
        for (const item of frame.items) if (item.op === 'add') listed.add(item.meta.hash); else listed.delete(item.hash)
      }
      unacked += bytes.byteLength
      if (sub.acking) sub.ack()
    }
  })()
  return sub
}

describe('light feed: resuming from a cursor', () => {
  it('a subscriber back from a disconnect resumes from its cursor: only what it missed, no snapshot, no gap', async () => {
    const full = await startNode()
    nodes = [full]
    const seed = randomSeed()
    const old = await makeTx({ fee: 100n, nullifierSeeds: [seed] })
    expect((await full.submitTx(old.bytes)).status).toBe('added')
    const txs = await fill(full, N - 1)
    const light = await follower(full)
    const snapshotBytes = feedStats(light).bytes
    expect(feedStats(light)).toMatchObject({ snapshots: 1, resumes: 0, listed: N })

    const mined = txs[7]!
    const added = await Promise.all(Array.from({ length: 3 }, async () => await makeTx()))
    const replacement = await makeTx({ fee: 120n, nullifierSeeds: [seed] })
    const back = await awayAndBack(light, full, async () => {
      for (const tx of added) expect((await full.submitTx(tx.bytes)).status).toBe('added')
      full.pool.markMined({ hashes: [mined.hash] })
      expect((await full.submitTx(replacement.bytes)).status).toBe('added')
      return undefined
    })

    expect(feedStats(light)).toMatchObject({ snapshots: 1, resumes: 1, listed: N + 2 })
    expect(full.libp2p.services.feedServer!.stats()).toMatchObject({ resumes: 1, resyncs: 0 })
    expect(back.removed).toEqual(expect.arrayContaining([
      { hash: mined.hash, reason: 'mined' },
      { hash: old.hash, reason: 'replaced' }
    ]))
    expect(back.removed).toHaveLength(2)
    for (const tx of [...added, replacement]) expect(light.pool.has(tx.hash)).toBe(true)
    expect(light.pool.has(mined.hash) || light.pool.has(old.hash)).toBe(false)
    console.log(`resume after 3 adds, 1 mined, 1 replaced: ${back.bytes} B on the reconnect; the snapshot of ${N} txs was ${snapshotBytes} B`)
    // 6 items and a RESUMED, against ~86 B per tx of the pool
    expect(back.bytes).toBeLessThan(snapshotBytes / 20)
  })

  it('falls back to a snapshot when the relay\'s journal no longer reaches back to the cursor, and still misses nothing', async () => {
    // a journal too small for one announcement
    const full = await startNode({ feed: { server: { resumeJournalBytes: 64 } } })
    nodes = [full]
    const txs = await fill(full, N)
    const light = await follower(full)
    const snapshotBytes = feedStats(light).bytes
    const mined = txs[3]!
    const back = await awayAndBack(light, full, async () => {
      await fill(full, 3)
      full.pool.markMined({ hashes: [mined.hash] })
      return undefined
    })
    expect(feedStats(light)).toMatchObject({ snapshots: 2, resumes: 0, listed: N + 2 })
    expect(full.libp2p.services.feedServer!.stats()).toMatchObject({ resumes: 0 })
    // the snapshot still says why the mined one went
    expect(back.removed).toEqual([{ hash: mined.hash, reason: 'mined' }])
    expect(back.bytes).toBeGreaterThan(snapshotBytes * 0.9)
    console.log(`journal too small: ${back.bytes} B on the reconnect (a snapshot); the first snapshot was ${snapshotBytes} B`)
  })

  it('falls back to a snapshot when the relay restarted (another epoch), and still misses nothing', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const store = new MemoryPoolStore()
    // a pool restored from the store is not fed as live items: each run's seqs count from 0
    const seeding = await startNode({ privateKey, store })
    await fill(seeding, N)
    await seeding.stop()
    const first = await startNode({ privateKey, store })
    nodes = [first]
    expect(first.pool.size).toBe(N)
    const light = await follower(first)
    await fill(first, 2)
    await waitFor(() => feedStats(light).listed === N + 2, 10_000, 'two live txs')
    const [mined, gone] = [...first.pool.best()].slice(5, 7) as [PoolEntry, PoolEntry]
    const back = await awayAndBack(light, first, async () => {
      await first.stop()
      // the same identity and pool, a new run: its seqs (1-5 here) pass the cursor (2) but under a new epoch, so do not resume from it
      const full = await startNode({ privateKey, store })
      nodes.push(full)
      expect(full.pool.size).toBe(N + 2)
      await fill(full, 3)
      full.pool.markMined({ hashes: [mined.hash] })
      full.pool.remove(gone.hash, 'evicted')
      return full
    })
    const full = nodes[nodes.length - 1]!
    expect(feedStats(light)).toMatchObject({ snapshots: 2, resumes: 0, listed: N + 3 })
    expect(full.libp2p.services.feedServer!.stats()).toMatchObject({ resumes: 0 })
    expect(back.removed).toEqual(expect.arrayContaining([{ hash: mined.hash, reason: 'mined' }]))
    expect(light.pool.has(gone.hash)).toBe(false)
  })

  it('sends its cursor on reconnect, and ends a subscription whose relay skips a seq, resubscribing without a cursor', async () => {
    // a scripted relay: each subscription gets the next answer
    const relay = await startNode({ feed: { enabled: false } })
    nodes = [relay]
    const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, async () => await makeTx()))
    const epoch = 0x1234_5678_9abc_def0n
    const subscribes: Array<FeedCursor | undefined> = []
    const scripts: Array<(stream: Stream) => void> = [
      // a snapshot covering seqs up to 10, then seq 11; then the stream ends
      (stream) => {
        stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_START, window: 65536, epoch, seq: 10 }))
        stream.send(encodeItemsFrame([encodeAddItem(a!.meta)]))
        stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_END }))
        stream.send(encodeItemsFrame([encodeAddItem(b!.meta)], 11))
        setTimeout(() => { void stream.close() }, 200)
      },
      // resumed from 11, then items from 13: seq 12 is missing
      (stream) => {
        stream.send(encodeControlFrame({ type: FEED_RESUMED, window: 65536, epoch, seq: 11 }))
        stream.send(encodeItemsFrame([encodeAddItem(c!.meta)], 13))
      },
      (stream) => {
        stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_START, window: 65536, epoch, seq: 13 }))
        stream.send(encodeItemsFrame([encodeAddItem(a!.meta), encodeAddItem(d!.meta)]))
        stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_END }))
      }
    ]
    await relay.libp2p.handle(relay.net.ids.feed, async (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_CLIENT_FRAME_BYTES })
      const first = decodeClientFrame((await lp.read()).subarray())
      if (first.type !== FEED_SUBSCRIBE) throw new Error('expected SUBSCRIBE')
      subscribes.push(first.resume)
      scripts[subscribes.length - 1]?.(stream)
    })
    const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } }, feed: { client: { retryBaseMs: 100, targets: [relay.peerId.toString()] } } })
    nodes.push(light)
    const ended: string[] = []
    light.libp2p.services.feedClient!.events.on('unsubscribed', ({ reason }) => { ended.push(reason) })
    await connect(light, relay)
    await waitFor(() => subscribes.length >= 3 && light.pool.has(d!.hash), 15_000, 'the third subscription\'s snapshot')
    expect(subscribes).toEqual([undefined, { epoch, seq: 11 }, undefined])
    expect(ended[0]).toBe('ended')
    expect(ended[1]).toMatch(/gap: items from seq 13 after 11/)
    // what came after the gap was not applied; the snapshot then says the relay no longer lists b
    expect(light.pool.has(c!.hash)).toBe(false)
    expect(light.pool.has(a!.hash)).toBe(true)
    await waitFor(() => !light.pool.has(b!.hash), 5_000, 'b to go with the snapshot')
    expect(feedStats(light)).toMatchObject({ snapshots: 2, resumes: 1 })
  })

  it('takes a relay that goes silent with the stream open for dead after silenceTimeoutMs, and subscribes again', async () => {
    // a scripted relay: the first subscription gets an empty snapshot and then nothing, the stream left open
    // (a hung process, or a middlebox that dropped the flow); the second gets a snapshot with a tx
    const relay = await startNode({ feed: { enabled: false } })
    nodes = [relay]
    const tx = await makeTx()
    const epoch = 0x0fed_cba9_8765_4321n
    let subscribes = 0
    await relay.libp2p.handle(relay.net.ids.feed, async (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_CLIENT_FRAME_BYTES })
      if (decodeClientFrame((await lp.read()).subarray()).type !== FEED_SUBSCRIBE) throw new Error('expected SUBSCRIBE')
      subscribes++
      stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_START, window: 65536, epoch, seq: subscribes }))
      if (subscribes > 1) stream.send(encodeItemsFrame([encodeAddItem(tx.meta)]))
      stream.send(encodeControlFrame({ type: FEED_SNAPSHOT_END }))
    })
    const light = await startNode({ mode: 'light', net: { sync: { maxPagesPerPeer: 0 } }, feed: { client: { retryBaseMs: 100, silenceTimeoutMs: 1_500, targets: [relay.peerId.toString()] } } })
    nodes.push(light)
    const ended: Array<{ reason: string, at: number }> = []
    light.libp2p.services.feedClient!.events.on('unsubscribed', ({ reason }) => { ended.push({ reason, at: Date.now() }) })
    const start = Date.now()
    await connect(light, relay)
    await waitFor(() => light.pool.has(tx.hash), 15_000, 'the second subscription\'s snapshot')
    expect(subscribes).toBe(2)
    expect(ended[0]!.reason).toMatch(/no feed frame within 1500 ms/)
    // not before the silence timeout: the empty snapshot was a frame, the wait starts after it
    expect(ended[0]!.at - start).toBeGreaterThanOrEqual(1_500)
  })

  it('sends the journal through a resuming subscriber\'s window, in consecutive frames, and resyncs one that falls behind its queue cap', async () => {
    const full = await startNode({ feed: { server: { windowBytes: 2048, maxQueueBytes: 2048, maxFrameBytes: 1024, flushIntervalMs: 10 } } })
    const peer = await startNode({ mode: 'light', feed: { enabled: false } })
    nodes = [full, peer]
    await connect(peer, full)
    await fill(full, 20)
    const a = await rawSubscriber(peer, full)
    await waitFor(() => a.frames.some(f => f.type === FEED_SNAPSHOT_END) && a.listed.size === 20, 10_000, 'the snapshot')
    await fill(full, 2)
    await waitFor(() => a.listed.size === 22, 10_000, 'live items')
    const cursor = a.cursor()!
    await a.close()

    // away: 60 announcements, ~5 KB, more than the window and than one frame
    const missed = await fill(full, 60)
    const server = full.libp2p.services.feedServer!
    const b = await rawSubscriber(peer, full, cursor)
    await waitFor(() => missed.every(tx => b.listed.has(tx.hash)), 10_000, 'the journal')
    expect(b.frames[0]).toEqual({ type: FEED_RESUMED, window: 2048, epoch: cursor.epoch, seq: cursor.seq })
    expect(b.frames.filter(f => f.type === FEED_SNAPSHOT_START)).toHaveLength(0)
    expect(b.frames.filter(f => f.type === FEED_ITEMS && f.items.length > 0).length).toBeGreaterThan(4)
    expect(b.cursor()!.seq).toBe(cursor.seq + 60)
    expect(server.stats()).toMatchObject({ resumes: 1, resyncs: 0 })

    // it stops acknowledging: its window fills, then its queue, and it is resynced
    b.acking = false
    const burst = await fill(full, 60)
    await waitFor(() => server.stats().resyncs === 1, 10_000, 'the resync')
    expect(server.stats().queuedBytes).toBeLessThanOrEqual(2048)
    b.acking = true
    b.ack()
    await waitFor(() => b.frames.some(f => f.type === FEED_SNAPSHOT_START) && burst.every(tx => b.listed.has(tx.hash)), 10_000, 'the fresh snapshot')
    await fill(full, 3)
    await waitFor(() => b.listed.size === full.pool.size, 10_000, 'live items after the snapshot')
    expect([...b.listed].sort()).toEqual(hashes(full))
    await b.close()
  })
})
