import { describe, expect, it } from 'vitest'
import { FeedJournal } from '../../src/net/feed/journal.ts'

const item = (seq: number, bytes = 34): Uint8Array => new Uint8Array(bytes).fill(seq & 0xff)

describe('feed journal', () => {
  it('serves the items after a seq, consecutive, in frames of at most a byte cap', () => {
    const journal = new FeedJournal(1024 * 1024)
    expect(journal.holds(1)).toBe(true) // nothing yet, nothing missed
    for (let seq = 1; seq <= 1000; seq++) journal.append(seq, item(seq, 30 + (seq % 60)))
    expect(journal.first).toBe(1)
    expect(journal.last).toBe(1000)
    let from = 501
    let bytes = 0
    while (from <= 1000) {
      const frame = journal.take(from, 1000, 4096)
      expect(frame.length).toBeGreaterThan(0)
      expect(frame.reduce((n, i) => n + i.byteLength, 0)).toBeLessThanOrEqual(4096)
      frame.forEach((it, i) => { expect(it).toEqual(item(from + i, 30 + ((from + i) % 60))) })
      bytes += frame.reduce((n, i) => n + i.byteLength, 0)
      from += frame.length
    }
    expect(bytes).toBe(journal.bytesBetween(501, 1000))
    expect(journal.take(998, 999, 1)).toHaveLength(1) // at least one, whatever the cap
    expect(journal.bytesBetween(1001, 1000)).toBe(0)
    expect(journal.holds(1001)).toBe(true)
    expect(journal.holds(1002)).toBe(false)
    expect(() => { journal.append(1002, item(1)) }).toThrow(RangeError)
  })

  it('stays within its byte cap, offsets included, and lets go of the oldest items only', () => {
    const cap = 64 * 1024
    const journal = new FeedJournal(cap)
    for (let seq = 1; seq <= 10_000; seq++) {
      journal.append(seq, item(seq, 86))
      expect(journal.bytes).toBeLessThanOrEqual(cap)
    }
    expect(journal.last).toBe(10_000)
    // most of the cap is still in use: only whole chunks of an eighth of it go
    const held = journal.last - journal.first + 1
    expect(held * (86 + 8)).toBeGreaterThan(cap * 0.75)
    expect(journal.holds(journal.first)).toBe(true)
    expect(journal.holds(journal.first - 1)).toBe(false)
    expect(journal.take(journal.first, journal.last, 1 << 20)).toHaveLength(held)
  })

  it('with no room (0 bytes, or an item past the cap) holds nothing, so only a subscriber that missed nothing resumes', () => {
    const none = new FeedJournal(0)
    none.append(1, item(1))
    none.append(2, item(2))
    expect(none.bytes).toBe(0)
    expect(none.holds(3)).toBe(true)
    expect(none.holds(2)).toBe(false)
    const small = new FeedJournal(1000)
    small.append(1, item(1, 100))
    small.append(2, item(2, 2000))
    expect(small.holds(2)).toBe(false)
    expect(small.holds(3)).toBe(true)
    small.append(3, item(3, 100))
    expect(small.first).toBe(3)
  })
})
