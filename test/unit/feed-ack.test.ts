import { describe, expect, it } from 'vitest'
import { ackInterval } from '../../src/net/feed/client-config.ts'

describe('feed ACK interval', () => {
  it('is a quarter of the server window, at most the configured bytes, never 0', () => {
    expect(ackInterval(64 * 1024, 16 * 1024)).toBe(16 * 1024)
    expect(ackInterval(16 * 1024, 16 * 1024)).toBe(4 * 1024)
    expect(ackInterval(1024 * 1024, 16 * 1024)).toBe(16 * 1024)
    expect(ackInterval(3, 16 * 1024)).toBe(1)
  })
})
