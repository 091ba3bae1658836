import { describe, expect, it } from 'vitest'
import { ConfigError, defaults, validateConfig } from '../../node/config.ts'

/**
 * Each feed subscriber (a browser tab) holds one p2p connection: a feed cap
 * above the connection caps can never be reached, and the old defaults were
 * exactly that (1 024 subscribers on --max-connections 300, 256 per address on
 * 64 connections per address).
 */
describe('feed capacity in the node config', () => {
  it('the defaults can reach their own feed caps', () => {
    const config = defaults()
    expect(() => validateConfig(config)).not.toThrow()
    expect(config.maxConnections).toBeGreaterThanOrEqual(config.feedMaxSubscribers)
    expect(config.p2pMaxConnectionsPerAddress).toBeGreaterThanOrEqual(config.feedMaxSubscribersPerIp)
    // the bar: at least 1 000 tabs per relay
    expect(config.feedMaxSubscribers).toBeGreaterThanOrEqual(1000)
  })

  it('refuses feed caps the connection caps would never let it reach, and names the flags', () => {
    expect(() => validateConfig({ ...defaults(), maxConnections: 300 })).toThrow(ConfigError)
    expect(() => validateConfig({ ...defaults(), maxConnections: 300 })).toThrow(/--feed-max-subscribers 1024 exceeds --max-connections 300/)
    expect(() => validateConfig({ ...defaults(), feedMaxSubscribersPerIp: 256 })).toThrow(/--feed-max-subscribers-per-ip 256 exceeds --p2p-max-connections-per-address 64/)
  })

  it('does not apply where no feed is served', () => {
    expect(() => validateConfig({ ...defaults(), maxConnections: 300, feed: false })).not.toThrow()
    expect(() => validateConfig({ ...defaults(), maxConnections: 300, mode: 'light' })).not.toThrow()
  })
})
