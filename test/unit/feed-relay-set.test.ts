import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_FEED_CLIENT_CONFIG } from '../../src/net/feed/client-config.ts'
import { RelaySet } from '../../src/net/feed/relay-set.ts'

/** Each relay's feed state, backoff and history, without libp2p. */
describe('feed relay set', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { vi.useRealTimers() })
  const config = { ...DEFAULT_FEED_CLIENT_CONFIG, retryBaseMs: 500, retryMaxMs: 30_000, historySize: 4 }

  it('backs off a relay whose subscriptions keep failing, and starts over after one that lasted', () => {
    const set = new RelaySet(config)
    const relay = set.ensure('r')
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      set.ended(relay, 'failed', false)
      delays.push(relay.retryAt - Date.now())
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
    set.ended(relay, 'ended', true)
    expect(relay.retryAt - Date.now()).toBe(500)
    expect(relay.state).toBe('down')
    expect(relay.counters.ends).toBe(9)
  })

  it('a refusal waits longer, and a refused relay is marked so (the watchdog leaves it alone)', () => {
    const set = new RelaySet(config)
    const relay = set.ensure('r')
    set.ended(relay, 'refused: subscribers-full', false, true)
    expect(relay.refused).toBe(true)
    expect(relay.retryAt - Date.now()).toBe(8 * 500)
    set.setState(relay, 'live')
    expect(relay.refused).toBe(false)
  })

  it('a new connection ends the backoff at once, but not a distrust', () => {
    const set = new RelaySet(config)
    const relay = set.ensure('r')
    for (let i = 0; i < 6; i++) set.ended(relay, 'failed', false)
    expect(set.idle('r')).toBe(false)
    set.resetBackoff('r', 'new connection')
    expect(set.idle('r')).toBe(true)
    expect(relay.history.at(-1)).toMatchObject({ event: 'reset', reason: 'new connection' })

    relay.counters.distrustedUntil = Date.now() + 60_000
    relay.retryAt = relay.counters.distrustedUntil
    set.resetBackoff('r', 'new connection')
    expect(set.idle('r')).toBe(false)
  })

  it('keeps since when a relay has been without a live feed, and the last historySize events', () => {
    const set = new RelaySet(config)
    const relay = set.ensure('r')
    const born = Date.now()
    expect(relay.unfedSince).toBe(born)
    vi.advanceTimersByTime(1_000)
    set.setState(relay, 'subscribing')
    expect(relay.unfedSince).toBe(born)
    set.setState(relay, 'resyncing')
    expect(relay.unfedSince).toBeUndefined()
    set.setState(relay, 'live')
    vi.advanceTimersByTime(1_000)
    set.ended(relay, 'ended', true)
    expect(relay.unfedSince).toBe(Date.now())
    expect(relay.stateSince).toBe(Date.now())
    for (let i = 0; i < 5; i++) set.record(relay, { at: Date.now(), event: 'subscribed' })
    expect(relay.history).toHaveLength(4)
  })
})
