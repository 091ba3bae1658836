import { afterEach, describe, expect, it, vi } from 'vitest'
import { FeedChecker, MISSING_GRACE_MS, type FeedCheckerInit } from '../../src/net/feed/checker.ts'
import { makeTx } from '../helpers/txs.ts'

/**
 * The checker's verdict on a relay that answers 'missing' for a tx it
 * listed: a lie only if the relay still lists the tx once its removal had
 * time to arrive. A tx mined between the listing and the check is rightly
 * missing; before MISSING_GRACE_MS an honest relay was distrusted for it (CI:
 * the observer's follow-to-mined test).
 */
afterEach(() => { vi.useRealTimers() })

async function checkerFor (listedAfterAnswer: () => boolean): Promise<{ checker: FeedChecker, unbacked: string[], check: () => Promise<boolean | undefined> }> {
  const tx = await makeTx()
  const meta = tx.meta
  const unbacked: string[] = []
  const init: FeedCheckerInit = {
    config: { sampleFraction: 0 },
    fetchFrom: async () => 'missing',
    verify: async () => undefined,
    unbacked: (peer, _hash, why) => { unbacked.push(`${peer}: ${why}`) },
    subscribedSince: () => new Map([['relay', 0]]),
    stillListed: () => listedAfterAnswer()
  }
  const checker = new FeedChecker(init)
  return { checker, unbacked, check: async () => await checker.check('relay', meta) }
}

describe('feed checker: a relay answering "missing"', () => {
  it('is not blamed when its feed removes the tx (mined) within the grace time', async () => {
    vi.useFakeTimers()
    let listed = true
    const { checker, unbacked, check } = await checkerFor(() => listed)
    const verdict = check()
    // the removal ("mined") arrives on the feed a moment after the fetch answer
    await vi.advanceTimersByTimeAsync(100)
    listed = false
    await vi.advanceTimersByTimeAsync(MISSING_GRACE_MS)
    expect(await verdict).toBeUndefined()
    expect(unbacked).toEqual([])
    expect(checker.of('relay')).toMatchObject({ checked: 0, unbacked: 0 })
  })

  it('is blamed when it still lists the tx after the grace time: it listed what it cannot serve', async () => {
    vi.useFakeTimers()
    const { checker, unbacked, check } = await checkerFor(() => true)
    const verdict = check()
    await vi.advanceTimersByTimeAsync(MISSING_GRACE_MS - 10)
    // not judged before the grace time is over
    expect(unbacked).toEqual([])
    await vi.advanceTimersByTimeAsync(20)
    expect(await verdict).toBe(false)
    expect(unbacked).toEqual(['relay: listed a tx it cannot serve'])
    expect(checker.of('relay')).toMatchObject({ checked: 1, unbacked: 1 })
  })
})
