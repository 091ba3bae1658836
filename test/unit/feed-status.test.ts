import { describe, expect, it } from 'vitest'
import type { RelayFeedStats } from '../../src/index.ts'
import { feedLine, health } from '../../web/ui/components.ts'
import type { ConnectivityStatus } from '../../web/connectivity.ts'

/** What the page says of a tab's feeds: an empty pool never looks like a quiet network. */
const NOW = 1_800_000_000_000
const connected: ConnectivityStatus = {
  relays: [{ addr: '/ip4/127.0.0.1/tcp/1/ws/p2p/R', peerId: 'R', state: 'connected', reserved: true, failures: 0 }],
  connections: [],
  peers: 1,
  webrtcPeers: 0
}
const feed = (over: Partial<RelayFeedStats>): RelayFeedStats => ({
  peer: '12D3KooWRelayPeerIdForTheTest',
  subscribed: false,
  state: 'down',
  stateSince: NOW - 12_000,
  listed: 0,
  frames: 0,
  bytes: 0,
  adds: 0,
  duplicates: 0,
  removals: 0,
  snapshots: 1,
  resumes: 0,
  ends: 1,
  watchdogResets: 0,
  history: [],
  checked: 0,
  unbacked: 0,
  missed: 0,
  alone: 0,
  ...over
})

describe('feed status on the page', () => {
  it('is online only while a feed is live', () => {
    expect(health(connected, [feed({ state: 'live', subscribed: true })], NOW).health).toBe('online')
    expect(health(connected, [], NOW).health).toBe('online')
  })

  it('says a feed is down, why, and when it tries again, though the relay is connected', () => {
    const down = feed({ lastEnded: { at: NOW - 12_000, reason: 'The connection muxer is closed' }, retryAt: NOW + 4_000 })
    expect(health(connected, [down], NOW)).toEqual({ health: 'connecting', label: 'Feed down (The connection muxer is closed) · resubscribing in 4 s · 1 peer' })
    expect(feedLine(down, NOW)).toMatch(/^down since \d\d:\d\d:\d\d: The connection muxer is closed · resubscribing in 4 s$/)
  })

  it('says a feed is resyncing or subscribing', () => {
    expect(health(connected, [feed({ state: 'resyncing', subscribed: true })], NOW).label).toBe('Loading the pool from the relay… · 1 peer')
    expect(feedLine(feed({ state: 'resyncing', listed: 40 }), NOW)).toMatch(/^resyncing since \d\d:\d\d:\d\d · 40 listed so far$/)
    expect(health(connected, [feed({ state: 'subscribing' })], NOW).label).toBe('Subscribing to the relay\'s feed… · 1 peer')
  })
})
