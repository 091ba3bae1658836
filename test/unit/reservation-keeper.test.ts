import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { connectivityConfig } from '../../web/connectivity/config.ts'
import { ReservationKeeper, type ReservationAsker } from '../../web/connectivity/reservation-keeper.ts'

/**
 * When the keeper asks a relay again: not before `reservationRetryBaseMs`,
 * never beyond `maxReservations`, backing off on refusals up to
 * `reservationRetryMaxMs`. The store is a recording stand-in here; the real
 * circuit-relay store and a real full relay are in test/browser/relays.test.ts.
 */
describe('ReservationKeeper', () => {
  let peers: string[]
  const connected = new Set<string>()
  const reserved = new Set<string>()
  let asks: Array<{ peer: string, at: number }>
  let refuse: boolean
  const self = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

  beforeEach(async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    peers = await Promise.all([1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    connected.clear()
    reserved.clear()
    asks = []
    refuse = true
  })
  afterEach(() => { vi.useRealTimers() })

  const store: ReservationAsker = {
    addRelay: async (peer: PeerId) => {
      asks.push({ peer: peer.toString(), at: Date.now() })
      if (refuse) throw new Error('reservation failed with status RESERVATION_REFUSED')
      reserved.add(peer.toString())
    }
  }
  const keeper = (overrides: Parameters<typeof connectivityConfig>[0] = {}): ReservationKeeper => new ReservationKeeper({
    relays: () => peers,
    isConnected: (p) => connected.has(p),
    ownAddrs: () => [...reserved].map(p => `/ip4/127.0.0.1/tcp/1/ws/p2p/${p}/p2p-circuit/p2p/${self}`),
    store: () => store,
    config: connectivityConfig({ reservationRetryBaseMs: 5_000, reservationRetryMaxMs: 40_000, ...overrides }),
    log: logger('test')
  })
  /** Ticks once a second for `ms`, letting each ask settle. */
  const run = async (k: ReservationKeeper, ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 1_000) {
      k.tick(Date.now())
      await vi.advanceTimersByTimeAsync(1_000)
    }
  }

  it('asks a connected relay without a reservation after the base delay, and backs off on each refusal up to the max', async () => {
    const k = keeper()
    connected.add(peers[0]!)
    await run(k, 4_000)
    expect(asks).toEqual([])
    await run(k, 200_000)
    const gaps = asks.slice(1).map((a, i) => a.at - asks[i]!.at)
    // 5, 10, 20, 40, 40, … s, each ±20 % jitter and up to one 1 s tick late
    const expected = [5_000, 10_000, 20_000, 40_000, 40_000]
    expect(gaps.length).toBeGreaterThanOrEqual(expected.length)
    gaps.forEach((g, i) => {
      const want = expected[Math.min(i, expected.length - 1)]!
      expect(g).toBeGreaterThanOrEqual(want * 0.8)
      expect(g).toBeLessThanOrEqual(want * 1.2 + 1_000)
    })
    expect(asks.every(a => a.peer === peers[0])).toBe(true)
  })

  it('stops asking once the relay grants one, and starts over after the relay is lost', async () => {
    const k = keeper()
    connected.add(peers[0]!)
    await run(k, 6_000)
    expect(asks).toHaveLength(1)
    refuse = false
    await run(k, 20_000)
    expect(asks).toHaveLength(2)
    expect(reserved.has(peers[0]!)).toBe(true)
    await run(k, 60_000)
    expect(asks).toHaveLength(2)
    // lost, and back without a reservation: first ask after the base delay again
    connected.delete(peers[0]!)
    reserved.delete(peers[0]!)
    await run(k, 2_000)
    connected.add(peers[0]!)
    const back = Date.now()
    await run(k, 10_000)
    expect(asks).toHaveLength(3)
    expect(asks[2]!.at - back).toBeGreaterThanOrEqual(5_000)
    expect(asks[2]!.at - back).toBeLessThanOrEqual(7_000)
  })

  it('asks no relay while the tab holds maxReservations, nor one that is not connected', async () => {
    const k = keeper({ maxReservations: 2 })
    connected.add(peers[0]!).add(peers[1]!).add(peers[2]!)
    reserved.add(peers[0]!).add(peers[1]!)
    await run(k, 30_000)
    expect(asks).toEqual([])
    // one of the two is lost: the third, connected and unreserved, is asked
    connected.delete(peers[1]!)
    reserved.delete(peers[1]!)
    await run(k, 7_000)
    expect(asks.map(a => a.peer)).toEqual([peers[2]])
  })
})
