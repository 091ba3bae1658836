import { describe, expect, it } from 'vitest'
import { exceedsDepth } from '../../node/rpc/jsonrpc.ts'
import { transportOf } from '../../node/rpc/methods.ts'

describe('exceedsDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(exceedsDepth('{"a":[1,{"b":[]}]}', 4)).toBe(false)
    expect(exceedsDepth('{"a":[1,{"b":[]}]}', 3)).toBe(true)
    expect(exceedsDepth('["[[[[[[", "{{{{"]', 1)).toBe(false)
    // an escaped quote does not end the string
    expect(exceedsDepth('["\\"[[[[", 1]', 1)).toBe(false)
    expect(exceedsDepth('["\\\\", [[1]]]', 2)).toBe(true)
    expect(exceedsDepth('[]'.repeat(1000), 1)).toBe(false)
    expect(exceedsDepth('['.repeat(1_000_000), 16)).toBe(true)
  })
})

describe('transportOf', () => {
  it('names the transport of a remote address', () => {
    expect(transportOf('/ip4/1.2.3.4/tcp/4001')).toBe('tcp')
    expect(transportOf('/ip4/1.2.3.4/tcp/443/wss')).toBe('websocket')
    expect(transportOf('/dns4/a.example/tcp/443/tls/ws')).toBe('websocket')
    expect(transportOf('/ip4/1.2.3.4/udp/9090/webrtc-direct/certhash/uEi')).toBe('webrtc')
    expect(transportOf('/ip4/1.2.3.4/tcp/443/wss/p2p/QmRelay/p2p-circuit/webrtc')).toBe('relay')
    expect(transportOf('/ip4/1.2.3.4/tcp/443/ws/p2p/QmRelay/p2p-circuit')).toBe('relay')
    expect(transportOf('/ip4/1.2.3.4/udp/4001/quic-v1')).toBe('other')
  })
})
