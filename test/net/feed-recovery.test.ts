import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { Lightpool, LightpoolInit } from '../../src/lightpool.ts'
import type { FeedClientConfig } from '../../src/net/feed/client-config.ts'
import type { FeedServerConfig } from '../../src/net/feed/server-config.ts'
import { MemoryPoolStore } from '../../src/pool/store.ts'
import { startNode, stopAll, waitFor } from '../helpers/network.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * A light node's feed comes back from every way it can end, on real libp2p
 * over loopback TCP. Each case is set so that it fails without its fix:
 * where the plain retry would also recover, the retry is made 20 s long, so
 * only the fix (a new connection ends the backoff, the watchdog) brings the
 * feed back within RECOVERY_MS.
 */
let nodes: Lightpool[] = []
afterEach(async () => { await stopAll(nodes); nodes = [] })

/** The bound a test waits for a feed to be live again (the issue's ≤ 5 s, with room for a loaded machine). */
const RECOVERY_MS = 8_000
const LONG_RETRY: Partial<FeedClientConfig> = { retryBaseMs: 20_000, retryMaxMs: 20_000 }

type FeedStats = ReturnType<NonNullable<Lightpool['libp2p']['services']['feedClient']>['stats']>[number]
const stats = (light: Lightpool): FeedStats => light.libp2p.services.feedClient!.stats()[0] ?? { ends: 0, history: [] } as unknown as FeedStats
const live = (light: Lightpool): boolean => light.libp2p.services.feedClient?.stats()[0]?.state === 'live'
const hashes = (node: Lightpool): string => [...node.pool.best()].map(tx => tx.hash).sort().join()

async function relay (opts: { privateKey?: PrivateKey, port?: number, store?: MemoryPoolStore, server?: Partial<FeedServerConfig> } = {}): Promise<Lightpool> {
  const node = await startNode({
    ...(opts.privateKey === undefined ? {} : { privateKey: opts.privateKey }),
    ...(opts.store === undefined ? {} : { store: opts.store }),
    listen: [`/ip4/127.0.0.1/tcp/${opts.port ?? 0}`],
    ...(opts.server === undefined ? {} : { feed: { server: opts.server } })
  })
  nodes.push(node)
  return node
}

/** A light node that follows `full` by the feed and keeps dialling it (its bootnode), as a tab keeps its relay. */
async function follower (full: Lightpool, client: Partial<FeedClientConfig> = {}, init: Partial<LightpoolInit> = {}): Promise<Lightpool> {
  const light = await startNode({
    ...init,
    mode: 'light',
    bootstrap: [full.libp2p.getMultiaddrs()[0]!.toString()],
    net: { sync: { maxPagesPerPeer: 0 }, peers: { minPeers: 1, maintenanceIntervalMs: 250, retryBaseMs: 250, retryMaxMs: 1_000 } },
    feed: { client: { targets: [full.peerId.toString()], ...client } }
  })
  nodes.push(light)
  await waitFor(() => live(light), 15_000, 'the first subscription')
  return light
}

/** The relay's side of `light`'s feed stream. */
function serverStream (full: Lightpool, light: Lightpool): Stream {
  const stream = full.libp2p.getConnections(light.peerId).flatMap(c => c.streams).find(s => s.protocol === full.net.ids.feed)
  if (stream === undefined) throw new Error('no feed stream at the relay')
  return stream
}

async function addTxs (full: Lightpool, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await full.submitTx((await makeTx()).bytes)).status).toBe('added')
}

/** Waits for the feed to be live again, ended once more, and the pools to match; the time it took. */
async function recovers (light: Lightpool, full: Lightpool, endsBefore: number): Promise<number> {
  const start = Date.now()
  await waitFor(() => stats(light).ends > endsBefore && live(light) && hashes(light) === hashes(full), RECOVERY_MS, 'the feed to be live again with the relay\'s pool')
  return Date.now() - start
}

describe('light feed: recovers from every way a subscription ends', () => {
  it('the relay resets the stream', async () => {
    const full = await relay()
    await addTxs(full, 5)
    const light = await follower(full)
    const ends = stats(light).ends
    serverStream(full, light).abort(new Error('reset by the test'))
    await addTxs(full, 3)
    const ms = await recovers(light, full, ends)
    expect(stats(light).history.map(e => e.event)).toEqual(expect.arrayContaining(['ended', 'resumed']))
    console.log(`stream reset: live again in ${ms} ms`)
  })

  it('the relay closes the stream', async () => {
    const full = await relay()
    await addTxs(full, 5)
    const light = await follower(full)
    const ends = stats(light).ends
    await serverStream(full, light).close()
    await addTxs(full, 3)
    console.log(`stream closed: live again in ${await recovers(light, full, ends)} ms`)
  })

  it('the relay drops it as stalled (a frozen tab) and it subscribes again once it wakes', async () => {
    const full = await relay({ server: { windowBytes: 1024, maxQueueBytes: 64 * 1024, stallTimeoutMs: 1_000 } })
    const light = await follower(full)
    const ends = stats(light).ends
    // the tab freezes: it reads nothing, so acknowledges nothing
    const stream = light.libp2p.getConnections(full.peerId).flatMap(c => c.streams).find(s => s.protocol === full.net.ids.feed)!
    stream.pause()
    await addTxs(full, 20)
    await waitFor(() => full.libp2p.services.feedServer!.stats().drops === 1, 10_000, 'the relay to drop the stalled subscriber')
    stream.resume()
    console.log(`dropped as stalled: live again in ${await recovers(light, full, ends)} ms`)
  })

  it('a write fails mid-snapshot', async () => {
    const full = await relay({ server: { maxFrameBytes: 1024 } })
    await addTxs(full, 40)
    // the relay's first feed stream breaks on its third frame: SNAPSHOT_START and one page went out
    const registrar = (full.libp2p as unknown as { components: { registrar: Registrar } }).components.registrar
    const { handler, options } = registrar.getHandler(full.net.ids.feed)
    let broken = 0
    await full.libp2p.unhandle(full.net.ids.feed)
    await full.libp2p.handle(full.net.ids.feed, async (stream, connection) => {
      if (broken++ === 0) {
        const send = stream.send.bind(stream)
        let frames = 0
        stream.send = (data) => {
          if (++frames === 3) stream.abort(new Error('the socket broke mid-snapshot'))
          return send(data)
        }
      }
      await handler(stream, connection)
    }, options)
    const light = await startNode({
      mode: 'light',
      bootstrap: [full.libp2p.getMultiaddrs()[0]!.toString()],
      net: { sync: { maxPagesPerPeer: 0 }, peers: { minPeers: 1, maintenanceIntervalMs: 250 } },
      feed: { client: { targets: [full.peerId.toString()] } }
    })
    nodes.push(light)
    const ms = await recovers(light, full, 0)
    expect(stats(light).history.map(e => e.event).slice(0, 3)).toEqual(['subscribed', 'ended', 'subscribed'])
    expect(stats(light).snapshots).toBe(1)
    console.log(`write failed mid-snapshot: live with all 40 in ${ms} ms`)
  })

  it('the connection is closed under it (a new connection ends the backoff)', async () => {
    const full = await relay()
    await addTxs(full, 5)
    const light = await follower(full, LONG_RETRY)
    const ends = stats(light).ends
    await full.libp2p.hangUp(light.peerId)
    await addTxs(full, 3)
    console.log(`connection closed: live again in ${await recovers(light, full, ends)} ms`)
    expect(stats(light).history.some(e => e.event === 'reset' && e.reason === 'new connection')).toBe(true)
  })

  it('the connection is replaced by another', async () => {
    const full = await relay()
    await addTxs(full, 5)
    const light = await follower(full, LONG_RETRY)
    const ends = stats(light).ends
    const [old] = light.libp2p.getConnections(full.peerId)
    await light.libp2p.dial(full.libp2p.getMultiaddrs()[0]!, { force: true })
    await old!.close()
    await addTxs(full, 3)
    console.log(`connection replaced: live again in ${await recovers(light, full, ends)} ms`)
    expect(stats(light).history.some(e => e.event === 'reset' && e.reason === 'its connection was replaced')).toBe(true)
  })

  it('the muxer closes under an open connection (the watchdog)', async () => {
    const full = await relay()
    await addTxs(full, 5)
    // liveness pings would also find this connection dead, within their interval (10 s), and the
    // watchdog within watchdogMs: both slowed here, so that what is tested is the client taking
    // the stream's 'muxer is closed' for a dead connection at once
    const light = await follower(full, { watchdogMs: 60_000 }, { liveness: { intervalMs: 10 * 60_000 } })
    const ends = stats(light).ends
    const [conn] = light.libp2p.getConnections(full.peerId)
    // The muxer goes and the socket stays: libp2p's Connection reports its socket's status, so it
    // stays 'open' and opens no stream. A tab on a busy machine was found so (the 7 of
    // 20); no public call leaves this state behind on demand, so the test closes the muxer's
    // generic half (status, streams) through the connection's private field, without yamux's
    // GoAway, which would make the relay drop the socket.
    const muxer = (conn as unknown as { muxer: object }).muxer
    ;(Object.getPrototypeOf(Object.getPrototypeOf(muxer)) as { abort: (this: object, err: Error) => void }).abort.call(muxer, new Error('the test closes the muxer alone'))
    expect(conn!.status).toBe('open')
    await expect(conn!.newStream(full.net.ids.feed)).rejects.toThrow(/muxer/)
    await addTxs(full, 3)
    const ms = await recovers(light, full, ends)
    expect(stats(light).watchdogResets).toBe(1)
    expect(stats(light).history.some(e => e.event === 'reset' && /opens no stream: The connection muxer is "closed"/.test(e.reason ?? ''))).toBe(true)
    console.log(`muxer closed under an open connection: live again in ${ms} ms`)
  })

  it('the relay restarts', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const store = new MemoryPoolStore()
    const first = await relay({ privateKey, store })
    await addTxs(first, 5)
    const port = Number(first.libp2p.getMultiaddrs()[0]!.toString().split('/')[4])
    const light = await follower(first, LONG_RETRY)
    const ends = stats(light).ends
    await first.stop()
    nodes = nodes.filter(n => n !== first)
    await waitFor(() => !live(light), 5_000, 'the feed to end')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    const second = await relay({ privateKey, store, port })
    await addTxs(second, 3)
    const ms = await recovers(light, second, ends)
    // a new run, a new epoch: a snapshot, not a resume
    expect(stats(light).snapshots).toBe(2)
    console.log(`relay restarted: live again ${ms} ms after it was back`)
  })

  it('the watchdog leaves alone a connected relay it does not need (it follows enough others)', async () => {
    const a = await relay()
    const b = await relay()
    const light = await startNode({
      mode: 'light',
      net: { sync: { maxPagesPerPeer: 0 } },
      feed: { client: { subscriptions: 1, targets: [a.peerId.toString(), b.peerId.toString()], watchdogMs: 1_000 } }
    })
    nodes.push(light)
    const feedOf = (peer: Lightpool): FeedStats | undefined => light.libp2p.services.feedClient!.stats().find(s => s.peer === peer.peerId.toString())
    await light.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
    await waitFor(() => feedOf(b)?.state === 'live', 10_000, 'the feed of b')
    await light.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    // b's feed ends; a comes first among the targets and is followed instead
    serverStream(b, light).abort(new Error('reset by the test'))
    await waitFor(() => feedOf(a)?.state === 'live', 10_000, 'the feed of a')
    await new Promise(resolve => setTimeout(resolve, 3_000))
    expect(feedOf(b)?.state).toBe('down')
    expect(feedOf(b)?.watchdogResets).toBe(0)
    expect(light.libp2p.getConnections(b.peerId).some(c => c.status === 'open')).toBe(true)
  })

  it('the watchdog closes a connection on which every subscription fails, and the new one is followed', async () => {
    const full = await relay()
    await addTxs(full, 5)
    // the relay's feed is wedged on this connection: every stream is reset as it opens
    const registrar = (full.libp2p as unknown as { components: { registrar: Registrar } }).components.registrar
    const { handler, options } = registrar.getHandler(full.net.ids.feed)
    let wedged = true
    await full.libp2p.unhandle(full.net.ids.feed)
    await full.libp2p.handle(full.net.ids.feed, async (stream, connection) => {
      if (wedged) { stream.abort(new Error('wedged')); return }
      await handler(stream, connection)
    }, options)
    const light = await startNode({
      mode: 'light',
      bootstrap: [full.libp2p.getMultiaddrs()[0]!.toString()],
      net: { sync: { maxPagesPerPeer: 0 }, peers: { minPeers: 1, maintenanceIntervalMs: 250, retryBaseMs: 250, retryMaxMs: 1_000 } },
      feed: { client: { targets: [full.peerId.toString()], watchdogMs: 2_000 } }
    })
    nodes.push(light)
    await waitFor(() => stats(light).watchdogResets >= 1, RECOVERY_MS, 'the watchdog to close the connection')
    expect(stats(light).history.some(e => e.event === 'reset' && /no live feed for \d+ ms on an open connection/.test(e.reason ?? ''))).toBe(true)
    wedged = false
    console.log(`wedged feed: live again in ${await recovers(light, full, 0)} ms once it was not`)
  })
})
