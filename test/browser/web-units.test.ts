import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { relayAddrsFromNode } from '../../web/config.ts'
import { connectionKind } from '../../web/connectivity.ts'
import { browserGater, insecureRule } from '../../web/gater.ts'
import { feeBucket } from '../../web/ui/pool-view.ts'
import { compactFee, formatBytes, formatDuration, normalizeHashQuery } from '../../web/ui/format.ts'

/** The browser code's pure rules, checked in Node (no browser needed). */
const ID = '12D3KooWGC45vFhw9XUHJe1yDPoALHayHDRJnemsBrnpiArrmJks'
const B = '12D3KooWDNkoPegZDW93gZU5RgmpAxd1mZoZWm41hkgcXYqkiATD'

describe('the gater rule', () => {
  const localRelay = `/ip4/127.0.0.1/tcp/9001/ws/p2p/${ID}`
  const lanRelay = `/ip4/192.168.1.20/tcp/9001/ws/p2p/${ID}`
  const deny = (rule: ReturnType<typeof insecureRule>, addr: string): boolean | undefined =>
    browserGater(rule).denyDialMultiaddr?.(multiaddr(addr)) as boolean | undefined

  it('keeps libp2p\'s browser default (its own gater) on https pages and when forced off', () => {
    expect(insecureRule(undefined, [localRelay], { protocol: 'https:', hostname: '127.0.0.1' })).toEqual({ kind: 'default' })
    expect(insecureRule(false, [localRelay], { protocol: 'http:', hostname: '127.0.0.1' })).toEqual({ kind: 'default' })
    expect(browserGater({ kind: 'default' })).toEqual({})
  })

  it('allows everything only when asked', () => {
    const rule = insecureRule(true, [lanRelay], { protocol: 'https:', hostname: 'example.org' })
    expect(rule).toEqual({ kind: 'all' })
    expect(deny(rule, '/ip4/10.0.0.1/tcp/1/ws')).toBe(false)
  })

  it('relaxes itself for an http page served from the relay\'s own host, for that host only', () => {
    const rule = insecureRule(undefined, [lanRelay], { protocol: 'http:', hostname: '192.168.1.20' })
    expect(rule).toEqual({ kind: 'same-host', host: '192.168.1.20' })
    expect(deny(rule, `${lanRelay}`)).toBe(false)
    // circuit addresses through that relay
    expect(deny(rule, `${lanRelay}/p2p-circuit/webrtc/p2p/${B}`)).toBe(false)
    // any other private address or plain ws:// stays refused
    expect(deny(rule, '/ip4/192.168.1.21/tcp/9001/ws')).toBe(true)
    expect(deny(rule, '/dns4/public.example/tcp/80/ws')).toBe(true)
    expect(deny(rule, '/dns4/public.example/tcp/443/wss')).toBe(false)
  })

  it('treats localhost, 127.x and ::1 as one host', () => {
    expect(insecureRule(undefined, [localRelay], { protocol: 'http:', hostname: 'localhost' }).kind).toBe('same-host')
    expect(insecureRule(undefined, [`/ip6/::1/tcp/9001/ws/p2p/${ID}`], { protocol: 'http:', hostname: '127.0.0.1' }).kind).toBe('same-host')
    // a page on another host than every relay gets no exception
    expect(insecureRule(undefined, [localRelay], { protocol: 'http:', hostname: 'example.org' }).kind).toBe('default')
  })
})

describe('page configuration from the serving node', () => {
  it('takes the node\'s WebSocket addresses, on the page\'s host first, with the peer id', () => {
    const addrs = relayAddrsFromNode({ peerId: ID, multiaddrs: [`/ip4/127.0.0.1/tcp/9000/p2p/${ID}`, `/ip4/10.1.1.1/tcp/9001/ws/p2p/${ID}`, '/ip4/127.0.0.1/tcp/9001/ws'] }, '127.0.0.1')
    expect(addrs).toEqual([`/ip4/127.0.0.1/tcp/9001/ws/p2p/${ID}`, `/ip4/10.1.1.1/tcp/9001/ws/p2p/${ID}`])
  })

  it('tries the page\'s own host name first when the node does not announce it', () => {
    const addrs = relayAddrsFromNode({ peerId: ID, multiaddrs: [`/ip4/10.1.1.1/tcp/443/wss/p2p/${ID}`] }, 'pool.example.org')
    expect(addrs[0]).toBe(`/dns/pool.example.org/tcp/443/wss/p2p/${ID}`)
    expect(addrs[1]).toBe(`/ip4/10.1.1.1/tcp/443/wss/p2p/${ID}`)
  })
})

describe('display rules', () => {
  it('names how a connection is carried', () => {
    expect(connectionKind(`/ip4/1.2.3.4/tcp/1/ws/p2p/${ID}`)).toBe('websocket')
    expect(connectionKind(`/ip4/1.2.3.4/tcp/1/ws/p2p/${ID}/p2p-circuit/p2p/${B}`)).toBe('relay')
    expect(connectionKind(`/ip4/1.2.3.4/tcp/1/ws/p2p/${ID}/p2p-circuit/webrtc/p2p/${B}`)).toBe('webrtc')
    expect(connectionKind(`/webrtc/p2p/${B}`)).toBe('webrtc')
  })

  it('puts fees in octave bands', () => {
    expect([0n, 1n, 2n, 3n, 4n, 1023n, 1024n].map(feeBucket)).toEqual([0, 1, 2, 2, 3, 10, 11])
    expect(feeBucket((1n << 64n) - 1n)).toBe(64)
  })

  it('formats for people', () => {
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(40_000)).toBe('40.0 kB')
    expect(formatBytes(4_000_000)).toBe('4.00 MB')
    expect(compactFee(4096n)).toBe('4.1k')
    expect(compactFee(16384n)).toBe('16k')
    expect(formatDuration(59_000)).toBe('59 s')
    expect(formatDuration(10 * 60_000)).toBe('10 min')
    expect(normalizeHashQuery(' 0xABcd ')).toBe('abcd')
    expect(normalizeHashQuery('xyz')).toBeUndefined()
  })
})
