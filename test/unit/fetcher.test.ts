import { describe, expect, it } from 'vitest'
import { FetchScheduler, type FetcherInit, type FetchResult } from '../../src/net/fetcher.ts'

interface Call { peer: string, hashes: string[], resolve: (r: FetchResult[]) => void, reject: (e: Error) => void, signal: AbortSignal }

/** A fetcher whose network is a list of calls the test answers by hand. */
function harness (config: FetcherInit['config'] = {}, deliverVerdict: (hash: string, from: string) => 'done' | 'retry' = () => 'done') {
  const calls: Call[] = []
  const delivered: Array<[string, string]> = []
  const givenUp: string[] = []
  const faults: Array<[string, string]> = []
  const fetcher = new FetchScheduler({
    config,
    request: async (peer, hashes, signal) => await new Promise<FetchResult[]>((resolve, reject) => {
      calls.push({ peer, hashes, resolve, reject, signal })
      signal.addEventListener('abort', () => { reject(new Error('timed out')) })
    }),
    deliver: async (hash, _body, from) => {
      delivered.push([hash, from])
      return deliverVerdict(hash, from)
    },
    giveUp: (hash) => givenUp.push(hash),
    fault: (peer, report) => faults.push([peer, report.kind])
  })
  return { fetcher, calls, delivered, givenUp, faults }
}

const tick = async (ms = 5): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const body = new Uint8Array([1])

describe('FetchScheduler', () => {
  it('batches the hashes one peer announced in a burst into one request', async () => {
    const h = harness()
    for (let i = 0; i < 10; i++) h.fetcher.want(`h${i}`, 100, ['A'])
    await tick()
    expect(h.calls).toHaveLength(1)
    expect(h.calls[0]!.hashes).toHaveLength(10)
  })

  it('keeps one request in flight per peer; what arrives meanwhile goes in the next', async () => {
    const h = harness()
    h.fetcher.want('a', 100, ['A'])
    await tick()
    h.fetcher.want('b', 100, ['A'])
    h.fetcher.want('c', 100, ['A'])
    await tick()
    expect(h.calls).toHaveLength(1)
    h.calls[0]!.resolve([body])
    await tick()
    expect(h.calls).toHaveLength(2)
    expect(h.calls[1]!.hashes).toEqual(['b', 'c'])
  })

  it('never asks twice for a body on its way; a second announcer becomes a source', async () => {
    const h = harness()
    h.fetcher.want('x', 100, ['A'])
    await tick()
    h.fetcher.want('x', 100, ['B'])
    await tick()
    expect(h.calls).toHaveLength(1)
    h.calls[0]!.resolve(['missing'])
    await tick()
    expect(h.calls.map(c => c.peer)).toEqual(['A', 'B'])
    expect(h.faults).toEqual([['A', 'fetch-missing']])
    h.calls[1]!.resolve([body])
    await tick()
    expect(h.delivered).toEqual([['x', 'B']])
  })

  it('moves to the next source on timeout, and gives up when none is left', async () => {
    const h = harness({ requestTimeoutMs: 100, minBytesPerSecond: 1e12 })
    h.fetcher.want('x', 100, ['A', 'B'])
    const done = h.fetcher.whenDone('x')
    await tick(50)
    expect(h.calls.map(c => c.peer)).toEqual(['A'])
    await tick(100)
    expect(h.calls.map(c => c.peer)).toEqual(['A', 'B'])
    await tick(100)
    expect(await done).toBe(false)
    expect(h.givenUp).toEqual(['x'])
    expect(h.faults).toEqual([['A', 'fetch-failed'], ['B', 'fetch-failed']])
    expect(h.fetcher.isTracked('x')).toBe(false)
  })

  it('asks another source when a body is not what was asked for', async () => {
    const h = harness({}, (_hash, from) => from === 'A' ? 'retry' : 'done')
    h.fetcher.want('x', 100, ['A', 'B'])
    await tick()
    h.calls[0]!.resolve([body])
    await tick()
    expect(h.calls.map(c => c.peer)).toEqual(['A', 'B'])
    h.calls[1]!.resolve([body])
    await tick()
    expect(h.delivered).toEqual([['x', 'A'], ['x', 'B']])
    expect(h.fetcher.stats()).toMatchObject({ retries: 1, bodies: 1, tracked: 0 })
  })

  it('asks the same peer again for what it skipped over its byte budget', async () => {
    const h = harness()
    h.fetcher.want('a', 100, ['A'])
    h.fetcher.want('b', 100, ['A'])
    await tick()
    h.calls[0]!.resolve([body, 'skipped'])
    await tick()
    expect(h.calls.map(c => [c.peer, c.hashes])).toEqual([['A', ['a', 'b']], ['A', ['b']]])
    expect(h.faults).toEqual([])
  })

  it('splits requests by the byte cap and the hash cap', async () => {
    const h = harness({ maxBytesPerRequest: 250, maxHashesPerRequest: 10 })
    for (let i = 0; i < 5; i++) h.fetcher.want(`h${i}`, 100, ['A'])
    await tick()
    expect(h.calls[0]!.hashes).toHaveLength(2)
    const h2 = harness({ maxHashesPerRequest: 3 })
    for (let i = 0; i < 5; i++) h2.fetcher.want(`h${i}`, 1, ['A'])
    await tick()
    expect(h2.calls[0]!.hashes).toHaveLength(3)
  })

  it('drops announcements past its tracking cap', async () => {
    const h = harness({ maxTracked: 3 })
    const accepted = ['a', 'b', 'c', 'd'].map(x => h.fetcher.want(x, 1, ['A']))
    expect(accepted).toEqual([true, true, true, false])
    expect(h.fetcher.stats().dropped).toBe(1)
  })

  it('drops announcements past a peer\'s outstanding cap, without blaming it', async () => {
    const h = harness({ maxQueuedPerPeer: 2 })
    h.fetcher.want('a', 1, ['A'])
    h.fetcher.want('b', 1, ['A'])
    expect(h.fetcher.want('c', 1, ['A'])).toBe(false)
    expect(h.faults).toEqual([])
    expect(h.givenUp).toEqual(['c'])
  })

  it('moves a waiting hash from a busy peer to an idle new source', async () => {
    const h = harness()
    h.fetcher.want('a', 100, ['A'])
    await tick()
    h.fetcher.want('b', 100, ['A'])
    h.fetcher.want('b', 100, ['B'])
    await tick()
    expect(h.calls.map(c => [c.peer, c.hashes])).toEqual([['A', ['a']], ['B', ['b']]])
  })

  it('re-routes what waited on a peer that disconnected', async () => {
    const h = harness()
    h.fetcher.want('a', 100, ['A'])
    await tick()
    h.fetcher.want('b', 100, ['A', 'B'])
    h.fetcher.peerGone('A')
    await tick()
    expect(h.calls.map(c => [c.peer, c.hashes])).toEqual([['A', ['a']], ['B', ['b']]])
  })

  it('stops cleanly, settling whoever waits', async () => {
    const h = harness()
    h.fetcher.want('a', 100, ['A'])
    const done = h.fetcher.whenDone('a')
    h.fetcher.stop()
    expect(await done).toBe(false)
    expect(h.fetcher.want('b', 1, ['A'])).toBe(false)
  })
})

describe('FetchScheduler probes', () => {
  it('does not fault a probed peer that lacks a body nobody announced', async () => {
    const h = harness()
    h.fetcher.want('x', 100, ['A'], ['P'])
    await tick()
    h.calls[0]!.resolve(['missing'])
    await tick()
    expect(h.calls.map(c => c.peer)).toEqual(['A', 'P'])
    h.calls[1]!.resolve(['missing'])
    await tick()
    expect(h.faults).toEqual([['A', 'fetch-missing']])
    expect(h.givenUp).toEqual(['x'])
  })
})
